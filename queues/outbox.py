"""Moving outbox batches from the database to the queues.

The request handler commits its items and an ``OutboxBatch`` first, then calls
``enqueue_batches``. If Redis is down, the batch simply waits: ``sweep_outbox`` (at
worker start and every few seconds on the scheduler) enqueues every unprocessed batch
that has no job in Redis, so nothing is written back on the request's happy path, and
job ids derived from batch ids keep a batch from being queued twice at once. A batch
job whose worker died mid-job is handed back first (``hand_back_abandoned``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from rq.job import Job
from sqlalchemy import select

from queues.abandoned import reclaim, stranded
from queues.jobs import BATCH_QUEUE, JOB_RETRY, JOB_TIMEOUT_S, enqueue_batches, job_id
from queues.runtime import LIVE_STATES
from workbench.current import redis_connection
from workbench.extensions import db
from workbench.models import OutboxBatch, utcnow

# Enqueueing lives beside the job it enqueues (queues.jobs), so a job can enqueue a batch
# it wrote; its names are this module's too.
__all__ = ["BATCH_QUEUE", "JOB_RETRY", "JOB_TIMEOUT_S", "SWEEP_GRACE", "enqueue_batches",
           "hand_back_abandoned", "job_id", "sweep_outbox"]

log = logging.getLogger(__name__)

#: A batch whose job is in one of these states is not enqueued again: it is still to run,
#: or it failed and waits in the failed registry for a person to look at and retry.
KEPT_STATES = LIVE_STATES | {"failed"}
#: Unprocessed batches younger than this are left to the request that wrote them.
SWEEP_GRACE = timedelta(seconds=5)


def hand_back_abandoned() -> None:
    """Jobs whose worker died with them go back to their queue (``queues.abandoned``);
    until then such a batch counts as started, and the sweep below leaves it alone."""

    try:
        reclaim(redis_connection())
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable, abandoned jobs left for the next sweep: %s", exc)


def sweep_outbox(limit: int = 5000) -> int:
    """Enqueue unprocessed batches whose job is missing from Redis (never sent, or lost)."""
    hand_back_abandoned()
    rows = db.session.execute(
        select(OutboxBatch.id, OutboxBatch.kind)
        .where(OutboxBatch.processed_at.is_(None),
               OutboxBatch.created_at < utcnow() - SWEEP_GRACE)
        .order_by(OutboxBatch.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    if not rows:
        return 0
    ids = _without_live_jobs([batch_id for batch_id, _ in rows])
    n = enqueue_batches(ids, dict(rows)) if ids else 0
    log.info("sweeper enqueued %d pending batch(es)", n)
    return n


def _without_live_jobs(batch_ids: list[int]) -> list[int]:
    """The batches whose job was lost (or ended without processing them)."""

    try:
        conn = redis_connection()
        fetched = Job.fetch_many([job_id(b) for b in batch_ids], connection=conn)
        jobs = {b: job for b, job in zip(batch_ids, fetched, strict=True) if job is not None}
        todo = [b for b, job in zip(batch_ids, fetched, strict=True) if job is None]
        lost = stranded(conn, jobs.values())
        for batch_id, job in jobs.items():
            if job.get_status(refresh=False) in KEPT_STATES and job.id not in lost:
                continue
            job.delete()
            todo.append(batch_id)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable during sweep: %s", exc)
        return []
    todo.sort()
    return todo
