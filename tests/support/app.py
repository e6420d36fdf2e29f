"""The test app's secret and the per-test reset of its database."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from workbench.models import Base

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"


def reset_tables(url: str) -> None:
    """Empty every table (schema kept), so each test starts from nothing."""
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
    engine.dispose()
