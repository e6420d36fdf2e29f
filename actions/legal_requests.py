"""Requests from the police, courts and government, with the deadline each one sets.

The deadline is the received time plus the shortest time any of the request's asks
allows, from a table that is configuration (``WORKBENCH_LEGAL_DEADLINE_HOURS``), not
law; the defaults and their sources are in ``DEFAULT_DEADLINE_HOURS``. A request to
preserve places a legal hold on its subject at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import LegalRequest, utcnow
from workbench.models.audit import record
from workbench.models.legal import AuthorityType, LegalAsk, LegalRequestStatus
from workbench.rules.legal_deadlines import (
    DEFAULT_DEADLINE_HOURS,
    LegalRequestError,
)

#: A request dated this far in the future is a typing mistake, not clock skew.
FUTURE_SKEW = timedelta(hours=1)


def due_at(received_at: datetime, asks: list[str], table: Mapping[str, float]) -> datetime:
    """When a request must be answered: its most urgent ask decides."""
    return received_at + timedelta(hours=min(table[a] for a in asks))


@dataclass(frozen=True)
class LegalRequestIn:
    """A request as the legal team enters it."""

    authority_type: str
    authority: str
    reference: str
    received_at: datetime
    asks: list[str]
    person_id: int | None = None
    case_id: int | None = None
    account_id: int | None = None
    details: str | None = None


def _check(item: LegalRequestIn, now: datetime) -> list[str]:
    if item.authority_type not in {a.value for a in AuthorityType}:
        raise LegalRequestError(f"authority type must be one of "
                                f"{', '.join(a.value for a in AuthorityType)}",
                                "authority_type")
    for name in ("authority", "reference"):
        if not getattr(item, name).strip():
            raise LegalRequestError(f"{name} is required", name)
    asks = sorted(set(item.asks))
    if not asks or any(a not in {x.value for x in LegalAsk} for a in asks):
        raise LegalRequestError("asks must name preserve, disclose and/or takedown", "asks")
    if item.received_at.tzinfo is None or item.received_at > now + FUTURE_SKEW:
        raise LegalRequestError("received_at must be a time with its zone, not in the future",
                                "received_at")
    subjects = [s for s in (item.person_id, item.case_id, item.account_id) if s is not None]
    if len(subjects) > 1:
        raise LegalRequestError("name at most one person, case or account", "person_id")
    if LegalAsk.PRESERVE.value in asks and not subjects:
        raise LegalRequestError("a preservation request must name a person, case or account",
                                "person_id")
    return asks


def record_legal_request(session: Session, item: LegalRequestIn, *,
                         recorded_by_id: int | None,
                         table: Mapping[str, float] | None = None) -> LegalRequest:
    """Record a request with its deadline; a preserve ask places a hold. The caller commits."""
    # Heavy: imported on first use, not when the module loads.
    from actions.holds import HoldError, place_hold

    now = utcnow()
    asks = _check(item, now)
    deadlines = dict(table or DEFAULT_DEADLINE_HOURS)
    request = LegalRequest(
        authority_type=item.authority_type, authority=item.authority.strip()[:300],
        reference=item.reference.strip()[:200], received_at=item.received_at, asks=asks,
        person_id=item.person_id, case_id=item.case_id, account_id=item.account_id,
        details=item.details, due_at=due_at(item.received_at, asks, deadlines),
        status=LegalRequestStatus.OPEN.value, recorded_by_id=recorded_by_id)
    session.add(request)
    session.flush()
    if LegalAsk.PRESERVE.value in asks:
        try:
            hold = place_hold(session, reason=f"preservation requested by {request.authority} "
                                              f"({request.authority_type})",
                              reference=request.reference, placed_by_id=recorded_by_id,
                              person_id=item.person_id, case_id=item.case_id,
                              account_id=item.account_id, actor=f"legal_request:{request.id}")
        except HoldError as exc:
            raise LegalRequestError(str(exc), "person_id") from None
        request.hold_id = hold.id
    record(session, "legal_request.recorded", "legal_request", request.id,
           actor_type="moderator" if recorded_by_id else "system",
           actor_id=str(recorded_by_id) if recorded_by_id else None,
           data={"authority_type": request.authority_type, "reference": request.reference,
                 "asks": asks, "due_at": request.due_at.isoformat(),
                 "hold_id": request.hold_id})
    return request


def close_legal_request(session: Session, request_id: int, *, outcome: LegalRequestStatus,
                        closed_by_id: int, note: str) -> LegalRequest:
    """Mark a request answered (complied or contested). Its hold stays until released."""
    request = session.get(LegalRequest, request_id)
    if request is None:
        raise LegalRequestError(f"no legal request {request_id}")
    if request.status != LegalRequestStatus.OPEN.value:
        raise LegalRequestError(f"legal request {request_id} is already {request.status}")
    if outcome is LegalRequestStatus.OPEN:
        raise LegalRequestError("close a request as complied or contested", "outcome")
    request.status = outcome.value
    request.closed_at = utcnow()
    request.closed_by_id = closed_by_id
    request.response_note = note
    record(session, "legal_request.closed", "legal_request", request.id,
           actor_type="moderator", actor_id=str(closed_by_id),
           data={"outcome": outcome.value, "late": request.closed_at > request.due_at})
    return request


@dataclass(frozen=True)
class TimeLeft:
    """An open request and the time left to answer it (negative once overdue)."""

    request: LegalRequest
    left: timedelta

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)


def by_time_left(session: Session, now: datetime | None = None,
                 limit: int = 200) -> list[TimeLeft]:
    """Open requests, least time left first (overdue ones at the top)."""
    now = now or utcnow()
    rows = session.scalars(select(LegalRequest)
                           .where(LegalRequest.status == LegalRequestStatus.OPEN.value)
                           .order_by(LegalRequest.due_at, LegalRequest.id).limit(limit))
    return [TimeLeft(r, r.due_at - now) for r in rows]


def overdue(session: Session, now: datetime | None = None) -> list[LegalRequest]:
    """Open requests past their deadline, for the dashboard's flag."""
    now = now or utcnow()
    return list(session.scalars(select(LegalRequest).where(
        LegalRequest.status == LegalRequestStatus.OPEN.value, LegalRequest.due_at < now)
        .order_by(LegalRequest.due_at)))
