"""account lookup: a platform user id found without its platform

Search takes a bare platform user id (``u-1``) as well as one with the platform's slug;
only ``(platform_id, platform_user_id)`` was indexed, so the bare one read every account.
Search now asks each way of finding a person (user id, phone hash, device, username
prefix) on its own index and unites the answers, and this is the index the first needs.

Cost: one btree index on ``account`` (187,500 rows in the 5,000,000-message benchmark:
about a second); ``CREATE INDEX`` blocks writes to ``account`` while it is built.

Revision ID: 0025_account_lookup
Revises: 0024_message_search
"""

from __future__ import annotations

from alembic import op

revision = "0025_account_lookup"
down_revision = "0024_message_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_account_platform_user_id", "account", ["platform_user_id"])


def downgrade() -> None:
    op.drop_index("ix_account_platform_user_id", table_name="account")
