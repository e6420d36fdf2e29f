"""The migrations build the schema the models describe, up and down, on each database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from tests.support.app import reset_tables
from workbench import database
from workbench.models import Base

#: SQLite's FTS5 table over message text and its shadow tables, made by migration 0016.
FULL_TEXT_TABLES = "message_fts"
#: Expression indexes, which cannot be reflected and compared.
EXPRESSION_INDEXES = {"ix_case_open_order", "ix_case_open_queue", "ix_case_open_category",
                      "ix_account_username_lower", "ix_message_text_search"}
#: PostgreSQL's stored tsvector of message text and its GIN index (migration 0024), kept
#: out of the ORM model so no query loads it with a message.
WORD_SEARCH_COLUMN = ("message", "text_search")
WORD_SEARCH_INDEX = "ix_message_words"


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {n for n in names if not n.startswith(FULL_TEXT_TABLES)}
    finally:
        engine.dispose()


def _assert_round_trip(url: str) -> None:
    database.upgrade(url)
    assert database.current_revision(url) == database.head_revision()
    assert _tables(url) == set(Base.metadata.tables)
    database.downgrade(url, "base")
    assert database.current_revision(url) is None
    assert _tables(url) == set()
    database.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_sqlite_upgrade_and_downgrade(tmp_path: Path) -> None:
    _assert_round_trip(f"sqlite:///{tmp_path / 'm.db'}")


def test_configured_database_upgrade_and_downgrade(database_url: str) -> None:
    # On CI this is PostgreSQL; the round trip leaves the schema at head for other tests.
    # Rows earlier tests left behind would not fit older schemas (a NOT NULL put back).
    reset_tables(database_url)
    _assert_round_trip(database_url)


# Reflecting the database meets account's index on lower(username), which SQLAlchemy can
# neither reflect nor compare (it is left out below with the other EXPRESSION_INDEXES).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    diff = [d for d in diff if not (d[0] in {"add_index", "remove_index"} and
                                    getattr(d[1], "name", "") in EXPRESSION_INDEXES)]
    diff = [d for d in diff if not (d[0] == "remove_table" and
                                    d[1].name.startswith(FULL_TEXT_TABLES))]
    diff = [d for d in diff if not (d[0] == "remove_column" and
                                    (d[2], d[3].name) == WORD_SEARCH_COLUMN)]
    diff = [d for d in diff if not (d[0] == "remove_index" and
                                    getattr(d[1], "name", "") == WORD_SEARCH_INDEX)]
    assert diff == []


def _message_storage(url: str) -> tuple[list[str] | None, list[str]]:
    """``message``'s storage options, and the indexes with ``status`` among their columns."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            options = conn.execute(text(
                "SELECT reloptions FROM pg_class WHERE oid = 'message'::regclass")).scalar_one()
            indexes = conn.execute(text(
                "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = 'message'::regclass AND a.attname = 'status'")).scalars()
            return options, sorted(indexes)
    finally:
        engine.dispose()


def test_message_updates_can_be_hot_from_migrations_and_models(database_url: str) -> None:
    # No index on status and room on each page, or the classify job's update of every
    # message cannot be HOT (migration 0026). compare_metadata compares neither.
    if not database_url.startswith("postgresql"):
        pytest.skip("fillfactor and HOT updates are PostgreSQL's")
    assert _message_storage(database_url) == (["fillfactor=50"], [])
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS from_models CASCADE"))
        conn.execute(text("CREATE SCHEMA from_models"))
    try:
        with engine.begin() as conn:
            conn.execute(text("SET search_path TO from_models"))
            Base.metadata.create_all(conn)
            options = conn.execute(text(
                "SELECT reloptions FROM pg_class WHERE oid = 'from_models.message'::regclass"
            )).scalar_one()
            indexed = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'from_models' "
                "AND tablename = 'message' AND indexdef LIKE '%(status)%'")).scalar_one()
        assert (options, indexed) == (["fillfactor=50"], 0)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS from_models CASCADE"))
        engine.dispose()


def test_stored_platform_error_bodies_become_short_classes(tmp_path: Path) -> None:
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'm.db'}"
    database.upgrade(url, "0007")
    engine = create_engine(url)
    old = [(503, "HTTP 503: Authorization: Bearer sk_live_TOKEN"), (404, "HTTP 404: nope"),
           (None, "ReadTimeoutError: HTTPConnectionPool(host='10.0.0.5'): Read timed out"),
           (None, "NewConnectionError: Failed to establish a new connection"),
           (None, "the platform has no webhook URL"), (200, None)]
    with engine.begin() as conn:
        for n, (status, error) in enumerate(old):
            conn.execute(text(
                "INSERT INTO enforcement_delivery (id, platform_id, person_id, event, sequence, "
                "idempotency_key, payload, state, attempts, last_status_code, last_error, "
                "created_at) "
                "VALUES (:id, 1, 1, 'action', :id, :key, '{}', 'pending', 1, :status, :error, "
                "'2026-01-01 00:00:00')"),
                {"id": n + 1, "key": f"k{n}", "status": status, "error": error})
    database.upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT last_status_code, last_error FROM enforcement_delivery "
                                 "ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(503, "5xx"), (404, "4xx"), (None, "timeout"),
                                        (None, "refused"), (None, "no_url"), (200, None)]
