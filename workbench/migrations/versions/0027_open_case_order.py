"""open case order: the triage queue read in its order from indexes of open cases only

The queue lists open cases (open, claimed, escalated) by priority, due time and id.
``ix_case_triage`` led with ``status`` and ``queue``, so a page over the three open
statuses (every queue, or one category) could not be read in that order from it: the
database took every open case and sorted them. At 10,000,000 reports (2,000,000 cases,
300,000 open) the first page's query took about 100 ms of a 230-290 ms page, and the
filtered page (a category and a platform) 150-200 ms.

Three partial indexes of open cases replace it, each in the queue's order:

- ``ix_case_open_order`` (priority DESC, due_at, id): the whole queue, any page by its
  keyset, and filters that leave many rows (a platform, a language, a status);
- ``ix_case_open_queue`` (queue, ...): one queue's tab;
- ``ix_case_open_category`` (primary_category, ...): the category filter, whose rows
  can lie far down the whole queue (harassment sits under the urgent categories).

A decided case leaves them, so they hold the open cases alone (300,000 entries against
2,000,000 in ``ix_case_triage``). Filing writes to all three for each case it re-scores
(its priority changes), where it wrote to one before; ``bench/ingest.py`` measured no
difference in intake's CPU. Built in 2.4 s at 2,000,000 cases (``CREATE INDEX`` blocks
writes to ``case`` meanwhile).

Revision ID: 0027_open_case_order
Revises: 0026_message_hot_updates
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_open_case_order"
down_revision = "0026_message_hot_updates"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('open', 'claimed', 'escalated')")
ORDER: list[str | sa.TextClause] = [sa.text("priority DESC"), "due_at", "id"]


def upgrade() -> None:
    indexes: list[tuple[str, list[str | sa.TextClause]]] = [
        ("ix_case_open_order", []), ("ix_case_open_queue", ["queue"]),
        ("ix_case_open_category", ["primary_category"])]
    for name, leading in indexes:
        op.create_index(name, "case", [*leading, *ORDER], postgresql_where=OPEN,
                        sqlite_where=OPEN)
    op.drop_index("ix_case_triage", table_name="case")


def downgrade() -> None:
    op.create_index("ix_case_triage", "case", ["status", "queue", *ORDER])
    for name in ("ix_case_open_category", "ix_case_open_queue", "ix_case_open_order"):
        op.drop_index(name, table_name="case")
