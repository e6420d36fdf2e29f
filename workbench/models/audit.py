"""The append-only audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

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
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both extend the same tail of the chain.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    event = AuditEvent(
        at=utcnow(),
        actor_type=actor_type,
        actor_id=actor_id,
        verb=verb,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        data=data,
        prev_hash=prev,
    )
    event.hash = event_hash(prev, event)
    session.add(event)
    session.flush()
    return event
