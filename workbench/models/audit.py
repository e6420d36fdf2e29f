"""The append-only audit log."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, String, inspect, select, text
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, scoped_session

from workbench.models.base import Base, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    """Something a person, a classifier or the system did; never updated, never deleted.

    ``hash`` covers this event and ``prev_hash``, so the rows form a chain that
    shows an edited or missing event.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_at", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    verb: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


def event_hash(prev_hash: str | None, event: AuditEvent) -> str:
    """The chain hash of an event: SHA-256 over the previous hash and the event's content."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": event.at.astimezone(UTC).isoformat(),
            "actor_type": event.actor_type,
            "actor_id": event.actor_id,
            "verb": event.verb,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


# Any constant works; it names the lock that serialises appends to the chain on PostgreSQL.
_AUDIT_LOCK_KEY = 0x5EA1_A0D1


def record(
    session: Session,
    verb: str,
    object_type: str,
    object_id: object = None,
    *,
    actor_type: str = "system",
    actor_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event to the chain, inside the caller's transaction."""
    return record_many(session, [Entry(verb, object_type, object_id, actor_type=actor_type,
                                       actor_id=actor_id, data=data)])[0]


@dataclass(frozen=True)
class Entry:
    """One event to append: the arguments of ``record``."""

    verb: str
    object_type: str
    object_id: object = None
    actor_type: str = "system"
    actor_id: str | None = None
    data: dict[str, Any] | None = None


def record_many(session: Session, entries: list[Entry]) -> list[AuditEvent]:
    """Append events to the chain in this order, when the caller's transaction commits:
    the same chain as ``record`` called for each in turn.

    The caller's changes so far are flushed now (new rows get their ids, as before). The
    chain is extended at commit (``_extend_chain``): there the transaction takes the lock
    that serialises appends, reads the tail and inserts its events, and nothing else, so
    it never waits on a row while holding that lock. A transaction taking the lock
    mid-way (then updating more rows) could wait on a row that another transaction holds
    while that one waits on the lock: a deadlock, which PostgreSQL breaks by failing one.
    Events recorded inside a savepoint that rolls back are dropped with it.

    The events returned get their times, ids and hashes at commit.
    """
    if not entries:
        return []
    session.flush()
    session.connection()  # begins the transaction the events belong to
    # Flask-SQLAlchemy's session is a scoped_session, which passes on no transactions.
    real = session() if isinstance(session, scoped_session) else session
    transaction = real.get_nested_transaction() or real.get_transaction()
    events = [AuditEvent(actor_type=entry.actor_type, actor_id=entry.actor_id,
                         verb=entry.verb, object_type=entry.object_type,
                         object_id=None if entry.object_id is None else str(entry.object_id),
                         # As it is now: the caller may change its dict before the commit.
                         data=copy.deepcopy(entry.data))
              for entry in entries]
    session.info.setdefault(_PENDING, []).extend((transaction, e) for e in events)
    return events


def committed_id(audit_event: AuditEvent) -> int:
    """The id a recorded event was given at commit (without loading it again)."""
    identity = inspect(audit_event).identity
    if identity is None:
        raise RuntimeError("the event's transaction has not committed")
    return int(identity[0])


#: Where a session keeps the events recorded in its open transaction, with the
#: (possibly nested) transaction each was recorded in.
_PENDING = "audit_events_pending"


@orm_event.listens_for(Session, "before_commit")
def _extend_chain(session: Session) -> None:
    """Append the transaction's recorded events to the chain, last thing before commit."""
    if session.in_nested_transaction():  # a savepoint's release: its parent commits them
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the transaction's own changes first, so the lock below comes last
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both extend the same tail of the chain.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    for _, audit_event in pending:
        # Stamped under the lock, so times rise with ids (the retention purge relies on
        # it): an event is dated when it took effect.
        audit_event.at = utcnow()
        audit_event.prev_hash = prev
        audit_event.hash = prev = event_hash(prev, audit_event)
    session.add_all([audit_event for _, audit_event in pending])
    session.flush()


@orm_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events recorded in a transaction (or savepoint) that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(t, e) for t, e in pending
                                  if not _within(t, previous_transaction)]


@orm_event.listens_for(Session, "after_transaction_end")
def _drop_ended(session: Session, transaction: SessionTransaction) -> None:
    """A session closed without commit or rollback leaves nothing for the next one."""
    if transaction.parent is None:
        _drop_rolled_back(session, transaction)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


#: The verb of the event the retention job appends when it purges old audit events; its
#: data names the last purged event, so the chain still verifies from the first kept one.
AUDIT_PURGE_VERB = "retention.audit_purged"


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain first breaks: the event named, and what is wrong with it."""

    event_id: int
    kind: str  # "altered" or "missing"
    message: str


@dataclass(frozen=True)
class ChainResult:
    """The outcome of walking the audit chain from its first event to its last."""

    checked: int
    head_id: int | None
    head_hash: str | None
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _purge_checkpoints(session: Session) -> set[tuple[int, str]]:
    """(last purged id, its hash) for every purge of old events the retention job made."""
    marks = set()
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.verb == AUDIT_PURGE_VERB)):
        if data and data.get("through_id") is not None and data.get("through_hash"):
            marks.add((int(data["through_id"]), str(data["through_hash"])))
    return marks


def _link_problem(prev: tuple[int, str | None] | None, event: AuditEvent,
                  checkpoints: set[tuple[int, str]]) -> ChainProblem | None:
    """Whether ``event`` follows the one before it (or a purge checkpoint, if it is first)."""
    if prev is None:
        if event.prev_hash is None:
            return None
        if any(i < event.id and h == event.prev_hash for i, h in checkpoints):
            return None
        return ChainProblem(event.id, "missing",
                            f"the events before event {event.id} are missing (its previous "
                            "hash matches no event and no recorded purge)")
    prev_id, prev_hash = prev
    if event.prev_hash == prev_hash:
        return None
    if event.id > prev_id + 1:
        return ChainProblem(prev_id + 1, "missing",
                            f"event {prev_id + 1}" + (f" to {event.id - 1}"
                                                      if event.id - 1 > prev_id + 1 else "")
                            + f" missing: event {event.id} does not follow event {prev_id}")
    return ChainProblem(prev_id, "altered",
                        f"event {prev_id} altered: event {event.id} does not follow it")


def verify_chain(session: Session, batch: int = 5000) -> ChainResult:
    """Walk every audit event in order, recomputing each hash and checking each link.

    Returns the first problem: an event whose content no longer matches its hash
    (altered), or a broken link to the event before (altered, or deleted when ids are
    missing there). Ids alone may skip (a rolled-back insert uses one up); only a broken
    link shows a deletion. The last events of the chain cannot be checked against
    anything after them: keep the head hash this returns somewhere else to catch that.
    """
    checkpoints = _purge_checkpoints(session)
    prev: tuple[int, str | None] | None = None
    checked = 0
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    for event in session.scalars(query):
        problem = _link_problem(prev, event, checkpoints)
        if problem is None and event_hash(event.prev_hash, event) != event.hash:
            problem = ChainProblem(event.id, "altered",
                                   f"event {event.id} altered: its content does not match "
                                   "its hash")
        if problem is not None:
            return ChainResult(checked, prev[0] if prev else None,
                               prev[1] if prev else None, problem)
        checked += 1
        prev = (event.id, event.hash)
        session.expunge(event)
    return ChainResult(checked, prev[0] if prev else None, prev[1] if prev else None, None)
