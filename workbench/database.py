"""Schema migrations (Alembic), run the same way from the CLI, the demo and the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg.abc import Buffer
from psycopg.types.array import ListDumper
from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped migrations and ``database_url``."""
    # Alembic is imported on first use: every process imports this module, few migrate.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may contain it (escaped passwords).
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    # Alembic is imported on first use: every process imports this module, few migrate.
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` for an empty database)."""
    # Alembic is imported on first use: every process imports this module, few migrate.
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None when it has none."""
    # Alembic is imported on first use: every process imports this module, few migrate.
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest shipped revision."""
    # Alembic is imported on first use: every process imports this module, few migrate.
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLite leaves foreign keys unchecked unless asked; WAL lets the web process read
    # while a worker writes.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_settings(dbapi_conn: Any, _record: Any) -> None:
    # psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    # plan it once for any parameters (a generic plan). The batch lookups are
    # ``column = ANY(:ids)`` with hundreds of ids, and the open-case lookup's status list is
    # bound too: a generic plan cannot use the partial index of open cases, and with a
    # table's statistics older than its growth it scanned by platform alone, testing each
    # row against the whole array (110 ms for 500 open cases, 7 ms planned for the values;
    # the account lookup of intake 320 ms). The partial indexes of open cases need the
    # statuses seen as values too. Planning each execution costs PostgreSQL 0.03-0.07 ms of
    # CPU per report at intake (docs/operations.md); the parse is still saved.
    with dbapi_conn.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_conn.commit()
    dbapi_conn.adapters.register_dumper(list, IntegerListDumper)


class IntegerListDumper(ListDumper):
    """psycopg's array dumper, with a list of integers (ids, mostly) written in one join.

    The driver writes an array element by element in Python, each through the element's
    dumper and a regular expression for quoting; integers need neither. A list of plain
    ``int`` gives the same text (``{1,2,3}``) psycopg would; any other list goes the
    driver's way. The batch lookups bind hundreds of ids (``upserts.one_of``).
    """

    def dump(self, obj: list[Any]) -> Buffer | None:
        if obj and all(type(item) is int for item in obj):
            return ("{" + ",".join(map(str, obj)) + "}").encode()
        return super().dump(obj)


def configure_engine(engine: Engine) -> None:
    """Per-connection settings, and no connection shared across a fork.

    Queue workers fork a child per job; a pooled connection used by both parent and
    child corrupts the conversation with the server, so the child starts with an empty
    pool (leaving the parent's connections open for the parent).
    """
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_settings)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
