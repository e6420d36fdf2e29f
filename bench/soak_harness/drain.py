"""Draining after the load: waiting, within a bound, for every queue to empty and every
delivery to be delivered; and reading RQ's queues and registries as they are.

Registries are read without RQ's clean-up (``cleanup=False``), so what the soak sees is
what the workers left, not what reading it repaired.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from queues.names import QueueName, batch_job_id
from workbench.enums import ContentStatus, DeliveryState, ReportStatus
from workbench.models import (
    EnforcementDelivery,
    FraudSignal,
    Message,
    OutboxBatch,
    Recording,
    Report,
    utcnow,
)

#: Jobs the scheduler enqueues again and again; their presence is not work left over.
PERIODIC_PREFIX = "periodic-"


@dataclass(frozen=True)
class FailedJob:
    queue: str
    job_id: str
    func: str
    ended_at: float | None
    reason: str


@dataclass
class Leftovers:
    """What is still waiting: rows in the database, and jobs in Redis (periodic ones aside)."""

    counts: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, list[str]] = field(default_factory=dict)
    #: Why each unprocessed batch is still waiting, as far as Redis tells (for the report).
    batches: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing left to do (a job abandoned by a killed worker is nothing to wait for:
        its work is redone elsewhere, and RQ hands it back once its heartbeat expires)."""
        return not any(self.counts.values()) and not any(
            ids for place, ids in self.jobs.items() if not place.endswith(":abandoned"))


def pending_rows(session: Session) -> dict[str, int]:
    """Work the database still holds: batches, reports, content and deliveries."""
    def n(stmt: object) -> int:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]

    return {
        "outbox_batches": n(select(func.count()).select_from(OutboxBatch)
                            .where(OutboxBatch.processed_at.is_(None))),
        "reports_not_in_a_case": n(select(func.count()).select_from(Report)
                                   .where(Report.status == ReportStatus.PENDING.value)),
        "messages_unscored": n(select(func.count()).select_from(Message)
                               .where(Message.status == ContentStatus.PENDING.value)),
        "recordings_unscored": n(select(func.count()).select_from(Recording)
                                 .where(Recording.status == ContentStatus.PENDING.value)),
        "signals_unscored": n(select(func.count()).select_from(FraudSignal)
                              .where(FraudSignal.status == "pending")),
        "deliveries_pending": n(select(func.count()).select_from(EnforcementDelivery)
                                .where(EnforcementDelivery.state
                                       == DeliveryState.PENDING.value)),
    }


def _worker_alive(conn: redis.Redis, worker_name: str) -> bool:
    """Whether the worker's process still runs (its Redis key outlives it for minutes)."""
    from rq import Worker

    pid = conn.hget(Worker.redis_worker_namespace_prefix + worker_name, "pid")
    if not worker_name or pid is None:
        return False
    try:
        os.kill(int(pid), 0)  # the workers run on this machine
    except (ProcessLookupError, ValueError):
        return False
    return True


def _started(conn: redis.Redis, q: Queue) -> tuple[list[str], list[str]]:
    """Started jobs whose worker is alive, and those whose worker is gone (killed with
    them: RQ hands such a job back once its heartbeat expires)."""
    from rq.executions import Execution

    alive: list[str] = []
    abandoned: list[str] = []
    for job_id, execution_id in q.started_job_registry.get_job_and_execution_ids(
            cleanup=False):
        try:
            worker = Execution.fetch(execution_id, job_id, conn).worker_name
        except (ValueError, NoSuchJobError):
            worker = ""
        (alive if _worker_alive(conn, worker) else abandoned).append(job_id)
    return alive, abandoned


def waiting_jobs(conn: redis.Redis) -> dict[str, list[str]]:
    """Non-periodic jobs queued, started, scheduled or deferred, per place."""
    out: dict[str, list[str]] = {}
    for name in QueueName:
        q = Queue(name.value, connection=conn)
        started, abandoned = _started(conn, q)
        places = {
            "queued": q.get_job_ids(),
            "started": started,
            "abandoned": abandoned,
            "scheduled": q.scheduled_job_registry.get_job_ids(cleanup=False),
            "deferred": q.deferred_job_registry.get_job_ids(cleanup=False),
        }
        for place, ids in places.items():
            ids = [i for i in ids if not i.startswith(PERIODIC_PREFIX)]
            if ids:
                out[f"{name.value}:{place}"] = ids
    return out


def failed_jobs(conn: redis.Redis) -> list[FailedJob]:
    """Every job in a failed registry that is still failed (a periodic job that failed once
    and ran again since is listed there too, but no longer failed)."""
    out: list[FailedJob] = []
    for name in QueueName:
        q = Queue(name.value, connection=conn)
        for job_id in q.failed_job_registry.get_job_ids(cleanup=False):
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                out.append(FailedJob(name.value, job_id, "?", None, "the job itself is gone"))
                continue
            if job.get_status() != "failed":
                continue
            ended = job.ended_at.timestamp() if job.ended_at else None
            out.append(FailedJob(name.value, job_id, job.func_name or "?", ended,
                                 _reason(job)))
    return out


def _reason(job: Job) -> str:
    """The exception line of a failed job's traceback."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or job.exc_info or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0] or "Exception" in line]
    return (errors or lines or ["no reason recorded"])[-1][:300]


def make_pending_due(session: Session) -> int:
    """Pending deliveries become due now, as if their backoff (or the lease a killed worker
    left) had run out, as ``tests/actions/conftest.py: time_passes`` does. A delivery still
    in flight may go twice; its idempotency key keeps the effect single."""
    d = EnforcementDelivery
    result = session.execute(
        update(d).where(d.state == DeliveryState.PENDING.value, d.next_attempt_at > utcnow())
        .values(next_attempt_at=utcnow()))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def leftovers(engine: Engine, conn: redis.Redis, *, explain: bool = False) -> Leftovers:
    with Session(engine) as session:
        counts = pending_rows(session)
        batches = unprocessed_batches(session, conn) if explain else []
    try:
        jobs = waiting_jobs(conn)
    except (redis.RedisError, OSError) as exc:
        jobs = {"redis_unreachable": [str(exc)]}
    return Leftovers(counts, jobs, batches)


def unprocessed_batches(session: Session, conn: redis.Redis, limit: int = 10) -> list[str]:
    """Each unprocessed batch (up to ``limit``) with its job's state in Redis, and when the
    periodic sweep, which re-enqueues a batch whose job was lost, last ended."""
    rows = session.execute(
        select(OutboxBatch.id, OutboxBatch.kind, OutboxBatch.attempts, OutboxBatch.created_at)
        .where(OutboxBatch.processed_at.is_(None)).order_by(OutboxBatch.id).limit(limit)
    ).all()
    if not rows:
        return []
    now = utcnow()
    out: list[str] = []
    try:
        for batch_id, kind, attempts, created_at in rows:
            try:
                job = Job.fetch(batch_job_id(batch_id), connection=conn)
                state = (f"job {job.get_status()}, enqueued {job.enqueued_at}, "
                         f"ended {job.ended_at}, retries left {job.retries_left}")
            except NoSuchJobError:
                state = "no job in Redis"
            age = (now - created_at).total_seconds() if created_at else float("nan")
            out.append(f"batch {batch_id} ({kind}, {attempts} attempts, {age:.0f} s old): "
                       f"{state}")
        try:
            sweep = Job.fetch(f"{PERIODIC_PREFIX}sweep", connection=conn)
            out.append(f"periodic sweep: {sweep.get_status()}, ended {sweep.ended_at} "
                       f"(now {now:%H:%M:%S})")
        except NoSuchJobError:
            out.append("periodic sweep: no job in Redis in the last minute")
    except (redis.RedisError, OSError) as exc:
        out.append(f"Redis unreachable: {exc}")
    return out


def drain(engine: Engine, redis_url: str, timeout_s: float) -> tuple[float, Leftovers]:
    """Wait until nothing is left (or ``timeout_s`` passes); returns the time it took and
    what was still left at the end."""
    conn = redis.Redis.from_url(redis_url)
    start = time.time()
    left = leftovers(engine, conn)
    while not left.empty and time.time() - start < timeout_s:
        with Session(engine) as session:
            make_pending_due(session)
        time.sleep(2.0)
        left = leftovers(engine, conn)
    if not left.empty:
        left = leftovers(engine, conn, explain=True)
    return time.time() - start, left
