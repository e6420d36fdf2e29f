"""The audit chain: verification names the first altered or missing event; on PostgreSQL
a trigger refuses to update or delete events at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from workbench.extensions import db
from workbench.models import AuditEvent
from workbench.models.audit import committed_id, event_hash, record, verify_chain


def _events(n: int) -> list[int]:
    events = [record(db.session, "test.event", "test", i, data={"i": i}) for i in range(n)]
    db.session.commit()
    return [committed_id(e) for e in events]


@contextmanager
def tampering() -> Iterator[Connection]:
    """A connection that may change audit events (the trigger off, on PostgreSQL)."""
    with db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        yield conn
        if postgres:
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def test_an_intact_chain_verifies(app: Flask) -> None:
    with app.app_context():
        assert verify_chain(db.session).ok  # an empty chain too
        ids = _events(12)
        result = verify_chain(db.session, batch=5)
        assert result.ok and result.checked == 12 and result.head_id == ids[-1]


def test_an_edited_event_is_named(app: Flask) -> None:
    with app.app_context():
        ids = _events(6)
        with tampering() as conn:
            conn.execute(text("UPDATE audit_event SET verb = 'test.innocent' WHERE id = :id"),
                         {"id": ids[3]})
        result = verify_chain(db.session)
        assert result.problem is not None
        assert (result.problem.kind, result.problem.event_id) == ("altered", ids[3])
        assert result.checked == 3


def test_an_edited_event_with_its_hash_recomputed_breaks_the_next_link(app: Flask) -> None:
    with app.app_context():
        ids = _events(6)
        event = db.session.get_one(AuditEvent, ids[2])
        event.data = {"i": 99}
        forged = event_hash(event.prev_hash, event)
        db.session.rollback()
        with tampering() as conn:
            conn.execute(text("UPDATE audit_event SET data = :d, hash = :h WHERE id = :id"),
                         {"d": '{"i": 99}', "h": forged, "id": ids[2]})
        problem = verify_chain(db.session).problem
        assert problem is not None and (problem.kind, problem.event_id) == ("altered", ids[2])
        assert f"event {ids[3]} does not follow it" in problem.message


def test_a_deleted_event_is_named_as_missing(app: Flask) -> None:
    with app.app_context():
        ids = _events(6)
        with tampering() as conn:
            conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[4]})
        problem = verify_chain(db.session).problem
        assert problem is not None
        assert (problem.kind, problem.event_id) == ("missing", ids[4])
        assert problem.message.startswith(f"event {ids[4]} missing")


def test_deleting_the_first_events_is_caught_too(app: Flask) -> None:
    with app.app_context():
        ids = _events(4)
        with tampering() as conn:
            conn.execute(text("DELETE FROM audit_event WHERE id <= :id"), {"id": ids[1]})
        problem = verify_chain(db.session).problem
        assert problem is not None and (problem.kind, problem.event_id) == ("missing", ids[2])


def test_a_rolled_back_event_leaves_no_break(app: Flask) -> None:
    with app.app_context():
        _events(2)
        record(db.session, "test.rolled_back", "test", "x")
        db.session.rollback()  # on PostgreSQL its id is used up: a gap, but no broken link
        _events(2)
        assert verify_chain(db.session).ok


def test_postgresql_refuses_to_update_or_delete_an_event(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
        ids = _events(2)
        for statement in ("UPDATE audit_event SET verb = 'x' WHERE id = :id",
                          "DELETE FROM audit_event WHERE id = :id"):
            with pytest.raises(DBAPIError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(text(statement), {"id": ids[0]})
        # Even the retention job's switch does not let it delete a young event.
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL workbench.audit_purge = 'on'"))
                conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[0]})
        assert verify_chain(db.session).ok


def _verbs() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.verb).order_by(AuditEvent.id)))


def test_events_join_the_chain_when_their_transaction_commits(app: Flask) -> None:
    with app.app_context():
        first = record(db.session, "test.first", "test", 1, data={"n": 1})
        second = record(db.session, "test.second", "test", 2)
        assert first.hash is None  # linked at commit, after the transaction's row locks
        db.session.commit()
        assert _verbs() == ["test.first", "test.second"]
        assert second.prev_hash == first.hash and verify_chain(db.session).ok
        assert committed_id(second) > committed_id(first)


def test_an_event_keeps_the_data_it_was_recorded_with(app: Flask) -> None:
    with app.app_context():
        data = {"reason": "as recorded"}
        record(db.session, "test.data", "test", 1, data=data)
        data["reason"] = "changed later"
        db.session.commit()
        stored = db.session.scalars(select(AuditEvent.data)).one()
        assert stored == {"reason": "as recorded"}


def test_events_of_a_rolled_back_savepoint_are_dropped_and_the_others_kept(
        app: Flask) -> None:
    with app.app_context():
        record(db.session, "test.before", "test", 1)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            record(db.session, "test.undone", "test", 2)
            raise RuntimeError("the savepoint rolls back")
        with db.session.begin_nested():
            record(db.session, "test.released", "test", 3)
        record(db.session, "test.after", "test", 4)
        db.session.commit()
        assert _verbs() == ["test.before", "test.released", "test.after"]
        assert verify_chain(db.session).ok


def test_a_closed_session_leaves_no_events_for_its_next_transaction(app: Flask) -> None:
    with app.app_context():
        record(db.session, "test.abandoned", "test", 1)
        db.session.close()
        record(db.session, "test.kept", "test", 2)
        db.session.commit()
        assert _verbs() == ["test.kept"]


def test_times_rise_with_ids_whichever_transaction_recorded_first(app: Flask) -> None:
    with app.app_context(), Session(db.engine) as early, Session(db.engine) as late:
        record(early, "test.recorded_first", "test", 1)
        record(late, "test.recorded_second", "test", 2)
        late.commit()
        early.commit()
        rows = db.session.execute(
            select(AuditEvent.verb, AuditEvent.at).order_by(AuditEvent.id)).all()
        assert [r.verb for r in rows] == ["test.recorded_second", "test.recorded_first"]
        assert rows[0].at <= rows[1].at  # the retention purge deletes by time up to an id
        assert verify_chain(db.session).ok
