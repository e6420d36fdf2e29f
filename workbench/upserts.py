"""Batch inserts that skip rows already present, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    Integer,
    Row,
    String,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    inspect,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update

from workbench.models.base import UTCDateTime

#: Rows per statement: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500
#: The dialect whose bind processors prepare a JSON document's values (they depend on
#: the driver, not on a connection).
_PSYCOPG = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


def insert_new(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[InstrumentedAttribute[Any]],
    index_where: Any = None,
) -> list[Row[*tuple[Any, ...]]]:
    """Insert ``rows``, skipping any that collide on the ``conflict`` columns.

    Returns the ``returning`` columns of the rows actually inserted, so a caller
    can tell new from duplicate even when another request raced it.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and all(row.keys() == rows[0].keys() for row in rows):
        shape = _json_insert(model, tuple(rows[0]), tuple(conflict), tuple(returning),
                             index_where)
        if shape is not None:
            document = shape.document(rows)
            if document is not None:
                return list(session.execute(shape.statement, {"rows": document}).all())
            return list(session.execute(
                _unnest_insert(model, rows, conflict, returning, index_where)).all())
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    # One statement, executed for many parameter sets: SQLAlchemy batches them into
    # multi-row INSERTs ("insertmanyvalues") without compiling a statement per batch.
    stmt = (
        insert(model)
        .on_conflict_do_nothing(index_elements=list(conflict), index_where=index_where)
        .returning(*returning)
    )
    out: list[Row[*tuple[Any, ...]]] = []
    for start in range(0, len(rows), CHUNK):
        out.extend(session.execute(stmt, rows[start : start + CHUNK]).all())
    return out


def update_by_id(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Update each row (an ``id`` and the values to set; every row the same keys).

    On PostgreSQL one ``UPDATE ... FROM`` the rows' JSON document for the batch (or one
    array parameter per column when a value has no JSON form); elsewhere SQLAlchemy's
    bulk update by primary key (a statement per row).
    Objects of those rows already loaded in the session are expired, so they read the
    new values (a caller that filed a report it holds sees its case).
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(model), rows)
    else:
        shape = _json_update(model, tuple(rows[0]))
        document = shape.document(rows)
        if document is not None:
            session.execute(shape.statement, {"rows": document,
                                              "ids": [row["id"] for row in rows]})
        else:
            session.execute(_unnest_update(model, tuple(rows[0])),
                            _unnest_update_params(model, rows))
    # After the statement (its autoflush has written any pending change of theirs).
    _expire_loaded(session, model, keys=[key for key in rows[0] if key != "id"],
                   ids=[row["id"] for row in rows])


@functools.cache
def _json_update(model: Any, keys: tuple[str, ...]) -> _JsonRows:
    """The statement for updating these columns from the rows' JSON document (``id``
    among the keys), built once; the document and the ids are bound per call."""
    mapper = inspect(model)
    table = mapper.local_table
    columns = [mapper.columns[key] for key in keys]
    r = _document_rows()
    position = keys.index("id")
    # The ids again as ``id = ANY(:ids)``: joined to the rows alone, the planner cannot
    # see how few rows they match and may read the whole table (``_unnest_update``).
    ids = bindparam("ids", type_=postgresql.ARRAY(table.c.id.type, dimensions=1))
    statement = (update(table)
                 .where(table.c.id == _from_document(table.c.id, r, position),
                        table.c.id == any_(ids))
                 .values({c.name: _from_document(c, r, i)
                          for i, c in enumerate(columns) if c.key != "id"}))
    return _json_rows(statement, keys, columns)


def _unnest_update_params(model: Any, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The arrays ``_unnest_update(model, keys)`` binds: a column's values, in row order."""
    columns = inspect(model).columns
    params: dict[str, list[Any]] = {}
    for i, key in enumerate(rows[0]):
        if isinstance(columns[key].type, JSON):  # as text, cast back: arrays of JSON adapt poorly
            params[f"u_{i}"] = [json.dumps(row[key]) for row in rows]
        else:
            params[f"u_{i}"] = [row[key] for row in rows]
    return params


@functools.cache
def _unnest_update(model: Any, keys: tuple[str, ...]) -> Update:
    """The statement for updating these columns, built once; the values are bound per call
    (4.65 ms of client CPU to update 500 rows, against 5.25 building it each time)."""
    mapper = inspect(model)
    table = mapper.local_table
    params = {}
    for i, key in enumerate(keys):
        column = mapper.columns[key]
        element = Text() if isinstance(column.type, JSON) else column.type
        params[key] = bindparam(f"u_{i}", type_=postgresql.ARRAY(element, dimensions=1))
    arrays = [func.unnest(param).label(key) for key, param in params.items()]
    given = select(*arrays).subquery("given")
    values_ = {mapper.columns[key].name: (cast(given.c[key], postgresql.JSONB)
                                          if isinstance(mapper.columns[key].type, JSON)
                                          else given.c[key])
               for key in keys if key != "id"}
    # The ids' array again as ``id = ANY(...)``: joined to the unnest alone, the planner
    # cannot see how few rows it matches and may hash the whole table (a sequential scan
    # of every report to file 500 of them took 15 of the statement's 30 ms at 54,000 rows).
    return update(table).where(table.c.id == given.c.id,
                               table.c.id == any_(params["id"])).values(values_)


def _expire_loaded(session: Session, model: Any, keys: list[str], ids: list[Any]) -> None:
    for ident in ids:
        loaded = session.identity_map.get(identity_key(model, ident))
        if loaded is not None:
            session.expire(loaded, keys)


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:values)``, one array parameter
    however many values. An IN list binds, and psycopg parses, one parameter per value,
    and SQLAlchemy compiles the statement again for every new length: at 1,000 user ids
    that cost more than the lookup itself."""
    if session.get_bind().dialect.name == "postgresql":
        array_type = postgresql.ARRAY(column.type, dimensions=1)
        param = bindparam("values", list(values), type_=array_type, unique=True)
        return column == any_(param)  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _JsonRows:
    """A statement that reads its rows from one JSON document (``:rows``, an array of
    arrays, a row's values in ``keys`` order), and how to write that document.

    PostgreSQL's driver encodes an array parameter element by element in Python (a
    regular expression and a few appends per value): for a batch of 500 reports that
    was a third of the web request's CPU. The document is written by orjson, in C,
    timestamps included; what the columns' bind processors did (a timestamp must carry
    its zone, a boolean be one) is checked here.
    """

    statement: Executable
    keys: tuple[str, ...]
    #: Positions of timestamps (each must carry its zone), floats (NaN and infinity have
    #: no JSON form) and of other values with a bind processor (a boolean's), with it.
    timestamps: tuple[int, ...]
    floats: tuple[int, ...]
    processed: tuple[tuple[int, Any], ...]

    def document(self, rows: list[dict[str, Any]]) -> str | None:
        """The rows as the statement's JSON document; ``None`` when a value has no JSON
        form (NaN, infinity, an integer past 64 bits): the caller then binds arrays."""
        if len(self.keys) == 1:
            key = self.keys[0]
            values: list[Any] = [(row[key],) for row in rows]
        else:
            values = list(map(operator.itemgetter(*self.keys), rows))
        for i in self.timestamps:
            if any(v is not None and v.tzinfo is None for v in (row[i] for row in values)):
                raise ValueError("naive datetime given; use an aware UTC datetime")
        for i in self.floats:
            if not all(v is None or math.isfinite(v) for v in (row[i] for row in values)):
                return None
        if self.processed:
            values = [list(row) for row in values]
            for i, process in self.processed:
                for row in values:
                    if row[i] is not None:
                        row[i] = process(row[i])
        try:
            return orjson.dumps(values, option=_ORJSON).decode()
        except orjson.JSONEncodeError:
            return None


#: As ``json.dumps`` writes what the ORM's JSON columns hold: keys that are not strings
#: become strings; numpy's numbers are numbers. (A NaN inside a JSON value is written as
#: null, where ``json.dumps`` wrote NaN, which PostgreSQL refuses.)
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _from_document(column: Any, r: Any, i: int) -> Any:
    """The SQL for one column's value, the ``i``-th of a row of the JSON document."""
    index = literal_column(str(int(i)), Integer)
    if isinstance(column.type, JSON):
        # JSON null stays JSON null, as the ORM stores a None (not SQL NULL).
        return cast(r.c.value.op("->", return_type=postgresql.JSONB)(index), column.type)
    text_ = r.c.value.op("->>", return_type=Text)(index)
    if isinstance(column.type, String):
        # Text as it is: a cast to VARCHAR(n) would cut a long value where assigning
        # it to the column refuses it.
        return text_
    return cast(text_, column.type)


def _document_rows() -> Any:
    """``jsonb_array_elements(CAST(:rows AS jsonb)) AS r``: a row's values are ``r.value``."""
    return (func.jsonb_array_elements(cast(bindparam("rows", type_=Text()), postgresql.JSONB))
            .table_valued(column("value", postgresql.JSONB)).alias("r"))


def _json_rows(statement: Executable, keys: tuple[str, ...], columns: list[Any]) -> _JsonRows:
    """The statement with what its document's values are checked for, column by column."""
    timestamps, floats, processed = [], [], []
    for i, c in enumerate(columns):
        if isinstance(c.type, JSON):
            continue
        if isinstance(c.type, UTCDateTime):
            timestamps.append(i)
        elif isinstance(c.type, Float):
            floats.append(i)
        else:
            process = c.type.dialect_impl(_PSYCOPG).bind_processor(_PSYCOPG)
            if process is not None:
                processed.append((i, process))
    return _JsonRows(statement, keys, tuple(timestamps), tuple(floats), tuple(processed))


@functools.cache
def _json_insert(model: Any, keys: tuple[str, ...], conflict: tuple[str, ...],
                 returning: tuple[InstrumentedAttribute[Any], ...],
                 index_where: Any) -> _JsonRows | None:
    """PostgreSQL: ``INSERT ... SELECT`` from the rows' JSON document, built once for
    these keys. ``None`` when the rows leave out a column whose default is computed per
    row (each row must keep its own value), as ``_unnest_insert``."""
    mapper = inspect(model)
    if any(key not in mapper.columns for key in keys):
        return None
    defaults = _scalar_defaults(mapper, {mapper.columns[key].name for key in keys})
    if defaults is None:
        return None
    columns = [mapper.columns[key] for key in keys]
    r = _document_rows()
    values = [_from_document(c, r, i) for i, c in enumerate(columns)]
    statement = (postgresql.insert(mapper.local_table)
                 .from_select([c.name for c in columns] + list(defaults),
                              select(*values, *defaults.values()).select_from(r))
                 .on_conflict_do_nothing(index_elements=list(conflict),
                                         index_where=index_where)
                 .returning(*returning))
    return _json_rows(statement, keys, columns)


def _scalar_defaults(mapper: Any, given: set[str]) -> dict[str, Any] | None:
    """The columns not given, each as its scalar default; ``None`` if one is computed."""
    defaults: dict[str, Any] = {}
    for c in mapper.local_table.columns:
        if c.name in given or c.default is None:
            continue
        if not c.default.is_scalar:
            return None
        defaults[c.name] = literal(c.default.arg, c.type)
    return defaults


def _unnest_insert(model: Any, rows: list[dict[str, Any]], conflict: Sequence[str],
                   returning: Sequence[InstrumentedAttribute[Any]],
                   index_where: Any) -> Insert:
    """PostgreSQL: one ``INSERT ... SELECT unnest(...)`` for the whole batch, one array
    parameter per column: what ``insert_new`` binds for rows that have no JSON form, once
    ``_json_insert`` has found them all of one shape, with every column left out a
    scalar default."""
    mapper = inspect(model)
    keys = list(rows[0])
    defaults = _scalar_defaults(mapper, {mapper.columns[key].name for key in keys})
    assert defaults is not None  # _json_insert found no computed default left out
    columns = [mapper.columns[key] for key in keys]
    arrays = [func.unnest(bindparam(f"unnest_{i}", [row[key] for row in rows],
                                    type_=postgresql.ARRAY(column.type, dimensions=1)))
              for i, (key, column) in enumerate(zip(keys, columns, strict=True))]
    return (postgresql.insert(mapper.local_table)
            .from_select([c.name for c in columns] + list(defaults),
                         select(*arrays, *defaults.values()))
            .on_conflict_do_nothing(index_elements=list(conflict), index_where=index_where)
            .returning(*returning))
