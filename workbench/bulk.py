"""Batch inserts that skip rows already present, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Row, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

#: Rows per statement: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


def insert_new(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[InstrumentedAttribute[Any]],
    index_where: Any = None,
) -> list[Row[Any]]:
    """Insert ``rows``, skipping any that collide on the ``conflict`` columns.

    Returns the ``returning`` columns of the rows actually inserted, so a caller
    can tell new from duplicate even when another request raced it.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One cached statement, executed for many parameter sets: SQLAlchemy batches them
    # into multi-row INSERTs ("insertmanyvalues") without compiling a statement per batch.
    stmt = (
        insert(model)
        .on_conflict_do_nothing(index_elements=list(conflict), index_where=index_where)
        .returning(*returning)
    )
    out: list[Row[Any]] = []
    for start in range(0, len(rows), CHUNK):
        out.extend(session.execute(stmt, rows[start : start + CHUNK]).all())
    return out


def id_in(session: Session, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``column = ANY(:ids)``, one array parameter
    however many ids (an IN list binds, and compiles, one parameter per id)."""
    if session.get_bind().dialect.name == "postgresql":
        ids_param = bindparam("ids", ids, type_=ARRAY(BigInteger()), unique=True)
        return column == any_(ids_param)  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]
