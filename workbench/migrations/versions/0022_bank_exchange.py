"""bank exchange: how far each bank has fetched an exchange's hash list

StopNCII and NCMEC answer "what changed since" a checkpoint of their own making (a
timestamp; NCMEC also a paging URL); keeping it per bank and exchange lets a fetch ask
only for what is new, and resume after a failure. A hash an exchange withdraws stops
matching (``bank_entry.withdrawn_at``) but is kept, with the matches it made.

Revision ID: 0022_bank_exchange
Revises: 0018_automation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_bank_exchange"
down_revision = "0018_automation"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "exchange_checkpoint",
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("bank_id", BIG_ID, nullable=False),
        sa.Column("checkpoint", JSON, nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["hash_bank.id"], ondelete="CASCADE",
                                name=op.f("fk_exchange_checkpoint_bank_id_hash_bank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_checkpoint")),
        sa.UniqueConstraint("exchange", "bank_id",
                            name=op.f("uq_exchange_checkpoint_exchange_bank_id")),
    )
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
    op.drop_table("exchange_checkpoint")
