"""webhook batch: how many deliveries a platform takes in one webhook request

``platform.webhook_batch`` is 1 for every platform (one delivery a request, the
``event: action`` body); a platform that opts in to more is sent up to that many
deliveries in one signed request (``event: actions``), so a burst of bans costs it one
request per batch instead of one per account.

Revision ID: 0028_webhook_batch
Revises: 0027_open_case_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_webhook_batch"
down_revision = "0027_open_case_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platform") as batch:
        batch.add_column(sa.Column("webhook_batch", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.create_check_constraint(op.f("ck_platform_webhook_batch"),
                                      "webhook_batch BETWEEN 1 AND 500")


def downgrade() -> None:
    with op.batch_alter_table("platform") as batch:
        batch.drop_constraint(op.f("ck_platform_webhook_batch"), type_="check")
        batch.drop_column("webhook_batch")
