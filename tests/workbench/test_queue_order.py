"""The triage queue is read in its order from an index, whatever the moderator filters by:
at 2,000,000 cases (300,000 open) sorting the open cases took most of a page's time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from workbench.cases import triage
from workbench.extensions import db


def _queue_plan(f: triage.QueueFilter, after: triage.Cursor | None = None) -> str:
    """PostgreSQL's plan for the page's query, with sorting and table scans priced out, so
    the plan shows whether an index can give the order at all (on a small table the
    planner would rightly sort a few rows instead)."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        if statement.lstrip().startswith("SELECT") and "ORDER BY" in statement \
                and 'FROM "case"' in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        triage.queue_page(db.session, f, after=after)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = seen[0]
    conn = db.session.connection()
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement,
                                                            parameters))
    db.session.rollback()
    return plan


@pytest.mark.parametrize("f", [
    triage.QueueFilter(),
    triage.QueueFilter(queue="hindi"),
    triage.QueueFilter(category="harassment"),
    triage.QueueFilter(category="harassment", platform_id=2),
    triage.QueueFilter(status="claimed"),
], ids=["whole queue", "one queue", "one category", "category and platform", "one status"])
def test_each_queue_page_is_read_in_order_from_an_index(app: Flask, database_url: str,
                                                        f: triage.QueueFilter) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the plan is PostgreSQL's")
    with app.app_context():
        first = _queue_plan(f)
        deep = _queue_plan(f, triage.Cursor(42.0, datetime(2026, 12, 1, tzinfo=UTC), 1000))
    for plan in (first, deep):
        assert "Sort" not in plan, plan
        assert "ix_case_open_" in plan, plan
