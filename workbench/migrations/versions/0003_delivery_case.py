"""deliveries may carry a case outcome without an action; drop the unused enqueued_at

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enforcement_delivery", schema=None) as batch_op:
        batch_op.alter_column("action_id", existing_type=sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), nullable=True)
        batch_op.add_column(sa.Column(
            "case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key(
            "fk_enforcement_delivery_case_id_case", "case", ["case_id"], ["id"])
        batch_op.create_unique_constraint(
            "uq_enforcement_delivery_case_id_platform_id_event",
            ["case_id", "platform_id", "event"])
    with op.batch_alter_table("outbox_batch", schema=None) as batch_op:
        batch_op.drop_column("enqueued_at")


def downgrade() -> None:
    with op.batch_alter_table("outbox_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("enforcement_delivery", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_enforcement_delivery_case_id_platform_id_event", type_="unique")
        batch_op.drop_constraint("fk_enforcement_delivery_case_id_case", type_="foreignkey")
        batch_op.drop_column("case_id")
        batch_op.alter_column("action_id", existing_type=sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), nullable=False)
