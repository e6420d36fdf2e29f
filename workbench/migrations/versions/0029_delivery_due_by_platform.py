"""delivery due by platform: the due index leads with the platform after the state

A claim reads each platform's due deliveries apart, oldest first
(``actions/delivery.py``): ``ix_enforcement_delivery_due`` on (state, next_attempt_at)
mixed the platforms, so a claim that left out a slow platform (its lane full) walked
past every due delivery of it first, and those are the oldest. In ``make
bench-enforcement`` (a fourth platform answering after 5 s, about 10,000 of its
deliveries due) claims took 0.2-0.25 ms of PostgreSQL's time per delivery claimed, and
10.8 ms when they found nothing.

Revision ID: 0029_delivery_due_by_platform
Revises: 0028_webhook_batch
"""

from __future__ import annotations

from alembic import op

revision = "0029_delivery_due_by_platform"
down_revision = "0028_webhook_batch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_enforcement_delivery_due", table_name="enforcement_delivery")
    op.create_index("ix_enforcement_delivery_due", "enforcement_delivery",
                    ["state", "platform_id", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_enforcement_delivery_due", table_name="enforcement_delivery")
    op.create_index("ix_enforcement_delivery_due", "enforcement_delivery",
                    ["state", "next_attempt_at"])
