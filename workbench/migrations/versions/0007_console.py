"""console: routing rules for the named queues, as seniors set them

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "routing_rule",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("categories", JSON, nullable=True),
        sa.Column("languages", JSON, nullable=True),
        sa.Column("live", sa.Boolean(), nullable=True),
        sa.Column("updated_by_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["moderator.id"],
                                name=op.f("fk_routing_rule_updated_by_id_moderator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )


def downgrade() -> None:
    op.drop_table("routing_rule")
