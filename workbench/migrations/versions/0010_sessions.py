"""sessions: a per-user session epoch (revocation) and sign-in failures per address

Revision ID: 0010_sessions
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_sessions"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("moderator") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0",
                                   nullable=False))
    op.create_table(
        "sign_in_throttle",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("moderator_id", BIG_ID, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderator.id"], ondelete="CASCADE",
                                name=op.f("fk_sign_in_throttle_moderator_id_moderator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttle")),
        sa.UniqueConstraint("moderator_id", "address",
                            name=op.f("uq_sign_in_throttle_moderator_id_address")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("moderator") as batch:
        batch.drop_column("session_epoch")
