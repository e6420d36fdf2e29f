"""The test app's secret and the per-test reset of its database."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from workbench.models import Base

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"


@cache
def _engine(url: str) -> Engine:
    # No pool: a connection left open between tests would hold locks a test's own
    # engine (or a worker process) waits on.
    return create_engine(url, poolclass=NullPool)


def reset_tables(url: str) -> None:
    """Empty every table (schema kept) and restart every sequence, so each test starts
    from nothing.

    On PostgreSQL only the tables that hold rows are truncated: TRUNCATE gives each table
    and index new files, which for all of them costs more than the test that follows.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with _engine(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            probe = " UNION ALL ".join(
                f"SELECT '{t}' FROM (SELECT 1 FROM \"{t}\" LIMIT 1) AS \"{t}\""
                for t in tables)
            filled = [row[0] for row in conn.execute(text(probe))]
            if filled:
                quoted = ", ".join(f'"{t}"' for t in filled)
                conn.execute(text(f"TRUNCATE {quoted} CASCADE"))
            # A table a test filled and emptied again holds no rows but has moved its
            # sequence on: restart every sequence that has handed out a number.
            conn.execute(text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                " FROM pg_sequences WHERE schemaname = current_schema()"
                " AND last_value IS NOT NULL"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
