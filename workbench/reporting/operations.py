"""Operations: queue depths and failed jobs, deliveries per platform, and the audit log.

What seniors and administrators look at when something is stuck. Retrying is checked
on the server (``OPERATORS``) and audited; the audit log itself is only ever read here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.delivery import retry_dead
from queues.names import PRIORITY_ORDER
from workbench.enums import DeliveryState, Role
from workbench.models import AuditEvent, EnforcementDelivery, Platform
from workbench.models.audit import record

log = logging.getLogger(__name__)

#: Who may retry jobs and deliveries.
OPERATORS = {Role.SENIOR.value, Role.ADMIN.value}
#: The largest page any listing here returns.
MAX_PAGE = 200
#: Characters of an error kept in a listing (the full traceback stays in Redis).
ERROR_SUMMARY = 300


class OperationsError(ValueError):
    """A request the caller can fix; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OperationsAuthorityError(PermissionError):
    """Only seniors and administrators retry jobs and deliveries."""


def _check_operator(role: str) -> None:
    if role not in OPERATORS:
        raise OperationsAuthorityError("retrying is for seniors and administrators")


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise OperationsError(f"limit must be between 1 and {MAX_PAGE}", "limit")
    return limit


# --- queues ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueDepth:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


def queue_depths(connection: redis.Redis) -> list[QueueDepth]:
    """Jobs waiting, running, failed, scheduled and deferred on each queue, most urgent first."""
    out = []
    for name in PRIORITY_ORDER:
        queue = Queue(name.value, connection=connection)
        out.append(QueueDepth(name.value, queue.count, queue.started_job_registry.count,
                              queue.failed_job_registry.count,
                              queue.scheduled_job_registry.count,
                              queue.deferred_job_registry.count))
    return out


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str | None
    #: The exception's last line ("ValueError: ..."), shortened.
    error: str | None
    failed_at: datetime | None


def _summary(exc_string: str | None) -> str | None:
    lines = [line.strip() for line in (exc_string or "").splitlines() if line.strip()]
    return lines[-1][:ERROR_SUMMARY] if lines else None


def _utc(value: datetime | None) -> datetime | None:
    # RQ writes naive UTC times; the workbench speaks in aware ones.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _failed_job(job: Job) -> FailedJob:
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED:
        return FailedJob(job.id, job.origin, job.func_name, _summary(result.exc_string),
                         _utc(result.created_at))
    return FailedJob(job.id, job.origin, job.func_name, None, _utc(job.ended_at))


def failed_jobs(connection: redis.Redis, queue: str | None = None,
                limit: int = 50) -> list[FailedJob]:
    """Failed jobs (of one queue, or all), most recently failed first."""
    names = [q.value for q in PRIORITY_ORDER]
    if queue is not None and queue not in names:
        raise OperationsError(f"no queue {queue!r}", "queue")
    _limit(limit)
    out: list[FailedJob] = []
    for name in [queue] if queue else names:
        registry = FailedJobRegistry(name, connection=connection)
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        out += [_failed_job(j) for j in Job.fetch_many(ids, connection=connection) if j]
    far_past = datetime.min.replace(tzinfo=UTC)
    out.sort(key=lambda j: j.failed_at or far_past, reverse=True)
    return out[:limit]


def retry_failed_job(session: Session, connection: redis.Redis, job_id: str, *,
                     moderator_id: int, role: str) -> FailedJob:
    """Put a failed job back on its queue (audited). The caller commits.

    Raises:
        OperationsAuthorityError: the role may not retry.
        OperationsError: no such job, or it is not among the failed ones.
    """
    _check_operator(role)
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        raise OperationsError(f"no job {job_id!r} (it may have expired)", "job_id") from None
    before = _failed_job(job)
    try:
        FailedJobRegistry(job.origin, connection=connection).requeue(job)
    except InvalidJobOperation:
        raise OperationsError(f"job {job_id!r} has not failed", "job_id") from None
    record(session, "job.retried", "job", job_id, actor_type="moderator",
           actor_id=str(moderator_id),
           data={"queue": before.queue, "function": before.function, "error": before.error})
    log.info("job %s requeued on %s by moderator %s", job_id, before.queue, moderator_id)
    return before


def retry_failed_jobs(session: Session, connection: redis.Redis, *, moderator_id: int,
                      role: str, queue: str | None = None,
                      job_ids: Iterable[str] | None = None) -> list[str]:
    """Retry many failed jobs: these ids, or every failed job (of one queue, or all)."""
    _check_operator(role)
    if job_ids is None:
        names = [queue] if queue else [q.value for q in PRIORITY_ORDER]
        job_ids = [i for n in names
                   for i in FailedJobRegistry(n, connection=connection).get_job_ids()]
    retried = []
    for job_id in job_ids:
        try:
            retry_failed_job(session, connection, job_id, moderator_id=moderator_id, role=role)
        except OperationsError as exc:
            log.info("not retried: %s", exc)
            continue
        retried.append(job_id)
    return retried


# --- deliveries -----------------------------------------------------------------------

@dataclass(frozen=True)
class PlatformDeliveries:
    platform_id: int
    platform: str
    pending: int = 0
    delivered: int = 0
    dead: int = 0
    oldest_pending_at: datetime | None = None


def delivery_overview(session: Session) -> list[PlatformDeliveries]:
    """Deliveries per platform and state, with the oldest still pending."""
    counts: dict[int, dict[str, int]] = {}
    for platform_id, state, n in session.execute(
        select(EnforcementDelivery.platform_id, EnforcementDelivery.state,
               func.count(EnforcementDelivery.id))
        .group_by(EnforcementDelivery.platform_id, EnforcementDelivery.state)
    ).all():
        counts.setdefault(platform_id, {})[state] = int(n)
    oldest = dict(session.execute(
        select(EnforcementDelivery.platform_id, func.min(EnforcementDelivery.created_at))
        .where(EnforcementDelivery.state == DeliveryState.PENDING.value)
        .group_by(EnforcementDelivery.platform_id)).all())
    return [PlatformDeliveries(pid, slug, **{s.value: counts.get(pid, {}).get(s.value, 0)
                                             for s in DeliveryState},
                               oldest_pending_at=oldest.get(pid))
            for pid, slug in session.execute(
                select(Platform.id, Platform.slug).order_by(Platform.slug)).all()]


@dataclass(frozen=True)
class FailingPlatform:
    """A platform whose deliveries keep failing: how many wait, since when, and why."""

    platform_id: int
    slug: str
    failing: int
    since: datetime
    last_error_class: str | None

    @property
    def describe(self) -> str:
        return f"{self.failing} deliver{'ies' if self.failing != 1 else 'y'} failing"


def error_class(last_error: str | None) -> str | None:
    """The kind of a delivery error, as a person scans for it (``NewConnectionError``,
    ``HTTP 503``), without the long message around it."""
    if not last_error:
        return None
    return last_error.split(":", 1)[0].strip()[:80] or None


def failing_platforms(session: Session) -> list[FailingPlatform]:
    """Platforms whose last delivery attempt failed: every delivery waiting for them (the
    failed ones and those queued behind them), the oldest, and the last error's kind."""
    d = EnforcementDelivery
    pending = d.state == DeliveryState.PENDING.value
    failed = dict(session.execute(
        select(d.platform_id, func.max(d.id))
        .where(pending, d.attempts > 0, d.last_error.is_not(None))
        .group_by(d.platform_id)).all())
    if not failed:
        return []
    last = dict(session.execute(select(d.id, d.last_error).where(
        d.id.in_(list(failed.values())))).all())
    rows = session.execute(
        select(d.platform_id, Platform.slug, func.count(d.id), func.min(d.created_at))
        .join(Platform, Platform.id == d.platform_id)
        .where(pending, d.platform_id.in_(list(failed)))
        .group_by(d.platform_id, Platform.slug)).all()
    out = [FailingPlatform(pid, slug, int(n), since, error_class(last.get(failed[pid])))
           for pid, slug, n, since in rows]
    return sorted(out, key=lambda f: (-f.failing, f.slug))


@dataclass(frozen=True)
class DeadDelivery:
    id: int
    platform: str
    event: str
    person_id: int
    action_id: int | None
    case_id: int | None
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


@dataclass
class Page:
    """One page of a listing; pass ``next_before_id`` back for the next (None: the last)."""

    rows: list[Any]
    next_before_id: int | None = None


def dead_letters(session: Session, *, platform_id: int | None = None, limit: int = 50,
                 before_id: int | None = None) -> Page:
    """Dead-lettered deliveries, newest first, a page at a time (keyset on the id)."""
    query = (select(EnforcementDelivery, Platform.slug)
             .join(Platform, Platform.id == EnforcementDelivery.platform_id)
             .where(EnforcementDelivery.state == DeliveryState.DEAD.value))
    if platform_id is not None:
        query = query.where(EnforcementDelivery.platform_id == platform_id)
    if before_id is not None:
        query = query.where(EnforcementDelivery.id < before_id)
    rows = session.execute(
        query.order_by(EnforcementDelivery.id.desc()).limit(_limit(limit) + 1)).all()
    page = [DeadDelivery(d.id, slug, d.event, d.person_id, d.action_id, d.case_id, d.attempts,
                         d.last_status_code, d.last_error, d.created_at)
            for d, slug in rows[:limit]]
    return Page(page, page[-1].id if len(rows) > limit else None)


def retry_dead_deliveries(session: Session, delivery_ids: Iterable[int], *, moderator_id: int,
                          role: str) -> list[int]:
    """Try dead-lettered deliveries once more; returns the ids to enqueue after commit."""
    _check_operator(role)
    ids = list(dict.fromkeys(delivery_ids))
    dead = set(session.scalars(select(EnforcementDelivery.id).where(
        EnforcementDelivery.id.in_(ids), EnforcementDelivery.state == DeliveryState.DEAD.value)))
    missing = [i for i in ids if i not in dead]
    if missing:
        raise OperationsError(f"delivery {missing[0]} is not dead-lettered", "delivery_ids")
    for delivery_id in ids:
        retry_dead(session, delivery_id, moderator_id)
    return ids


# --- the audit log --------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    """Filters on the audit log; each one left empty matches everything.

    ``verb`` matches exactly, or as a prefix when it ends with ``.`` or ``*``
    (``case.`` finds ``case.decided`` and ``case.escalated``).
    """

    actor_type: str | None = None
    actor_id: str | None = None
    verb: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor_type: str
    actor_id: str | None
    verb: str
    object_type: str
    object_id: str | None
    data: dict[str, Any] | None = field(default=None, hash=False)


def _where(filters: AuditFilter) -> list[Any]:
    if filters.since and filters.until and filters.since > filters.until:
        raise OperationsError("the time range ends before it starts", "until")
    conditions: list[Any] = []
    for column, value in ((AuditEvent.actor_type, filters.actor_type),
                          (AuditEvent.actor_id, filters.actor_id),
                          (AuditEvent.object_type, filters.object_type),
                          (AuditEvent.object_id, filters.object_id)):
        if value:
            conditions.append(column == value)
    if filters.verb:
        if filters.verb.endswith(("*", ".")):
            prefix = filters.verb.rstrip("*")
            conditions.append(AuditEvent.verb.startswith(prefix, autoescape=True))
        else:
            conditions.append(AuditEvent.verb == filters.verb)
    if filters.since:
        conditions.append(AuditEvent.at >= filters.since)
    if filters.until:
        conditions.append(AuditEvent.at < filters.until)
    return conditions


def audit_log(session: Session, filters: AuditFilter | None = None, *,
              before_id: int | None = None, limit: int = 50) -> Page:
    """Audit events, newest first, filtered, a page at a time (keyset on the event id)."""
    query = select(AuditEvent).where(*_where(filters or AuditFilter()))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    events = session.scalars(query.order_by(AuditEvent.id.desc()).limit(_limit(limit) + 1)).all()
    rows = [AuditRow(e.id, e.at, e.actor_type, e.actor_id, e.verb, e.object_type, e.object_id,
                     e.data) for e in events[:limit]]
    return Page(rows, rows[-1].id if len(events) > limit else None)
