"""an action may reach a platform more than once (ban evasion): index instead of unique

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enforcement_delivery", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_enforcement_delivery_action_id_platform_id_event", type_="unique")
        batch_op.create_index("ix_enforcement_delivery_action", ["action_id", "platform_id"])


def downgrade() -> None:
    with op.batch_alter_table("enforcement_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_enforcement_delivery_action")
        batch_op.create_unique_constraint(
            "uq_enforcement_delivery_action_id_platform_id_event",
            ["action_id", "platform_id", "event"])
