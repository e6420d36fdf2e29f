"""Handing back jobs whose worker died, and retries that no scheduler is moving.

A job counts as started in RQ's ``StartedJobRegistry`` while its worker heartbeats it;
a worker killed with its job (SIGKILL, a lost machine) stops beating, and the entry
expires ``job_heartbeat_s + job_heartbeat_grace_s`` (settings: 10 + 20 s) after the last
beat. RQ's workers look for expired entries only every ten minutes (their maintenance
interval), and then move the job to the failed registry, or schedule its retry for
later. Here, run every few seconds by the scheduler's holder, such a job goes straight
back to the front of its queue, up to ``MAX_REDOS`` times.

Retries wait in the ``ScheduledJobRegistry`` for an RQ scheduler, which runs in the
worker holding its lock. When that worker dies the lock outlives it by a minute, and
the other workers try to take it over only at their ten-minute maintenance, so a retry
could wait ten minutes. Jobs overdue by more than ``SCHEDULE_SLACK_S`` (a live scheduler
moves them within a second) are moved to their queues here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

import redis
from rq import Queue
from rq.utils import current_timestamp

from queues.names import PRIORITY_ORDER

log = logging.getLogger(__name__)

#: Times a job whose worker died goes back to its queue before it counts as failed, so a
#: job that kills its worker each time (memory, a crash in native code) does not loop.
MAX_REDOS = 3
#: Where a job records how many times it was handed back (in the job's meta).
REDOS_META = "workbench_redos"
#: A job in one of these states has ended: it is not redone, whatever its entry says.
FINISHED_STATES = frozenset({"finished", "failed", "stopped", "canceled"})
#: Scheduled jobs this many seconds overdue have no live scheduler to move them.
SCHEDULE_SLACK_S = 10
#: Every queue, in priority order.
ALL_QUEUES = tuple(name.value for name in PRIORITY_ORDER)


def reclaim(connection: redis.Redis,
            queue_names: Iterable[str] = ALL_QUEUES) -> list[str]:
    """Hand back abandoned jobs and move overdue scheduled ones; returns their ids."""
    moved: list[str] = []
    for name in queue_names:
        queue = Queue(name, connection=connection)
        moved += _redo_abandoned(queue)
        moved += _enqueue_overdue(queue)
    return moved


def _redo_abandoned(queue: Queue) -> list[str]:
    """Put jobs whose heartbeat expired back at the front of ``queue``."""
    conn = queue.connection
    registry = queue.started_job_registry
    redone: list[str] = []
    # Without scores, the range is the members alone (bytes: the connection decodes none).
    entries = cast("list[bytes]", conn.zrangebyscore(registry.key, 0, current_timestamp()))
    for entry in entries:
        job = queue.fetch_job(registry.parse_job_id(entry))
        if job is None or job.get_status() in FINISHED_STATES:
            conn.zrem(registry.key, entry)  # it ended; only its entry was left behind
            continue
        redos = int(job.meta.get(REDOS_META, 0))
        if redos >= MAX_REDOS:
            continue  # RQ's cleanup below fails it, where a person sees it
        # Whoever removes the entry hands the job back: never two at once.
        if not conn.zrem(registry.key, entry):
            continue
        job.meta[REDOS_META] = redos + 1
        job.save_meta()  # type: ignore[no-untyped-call]  # unannotated in RQ
        queue.enqueue_job(job, at_front=True)
        log.warning("job %s on %s was abandoned by its worker; handed back (%d of %d)",
                    job.id, queue.name, redos + 1, MAX_REDOS)
        redone.append(job.id)
    registry.cleanup()  # what is left: retried later or failed, as RQ does
    return redone


def _enqueue_overdue(queue: Queue) -> list[str]:
    """Move scheduled jobs (retries) that no scheduler moved in time to ``queue``."""
    conn = queue.connection
    registry = queue.scheduled_job_registry
    moved: list[str] = []
    for job_id in registry.get_jobs_to_schedule(current_timestamp() - SCHEDULE_SLACK_S):
        if not conn.zrem(registry.key, job_id):
            continue  # a scheduler moved it meanwhile
        job = queue.fetch_job(job_id)
        if job is None:
            continue
        queue.enqueue_job(job, at_front=job.should_enqueue_at_front())
        log.warning("scheduled job %s on %s was overdue; enqueued", job.id, queue.name)
        moved.append(job.id)
    return moved
