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

A worker listening on several queues takes a job's id off its queue (BLPOP) before it
marks the job started; killed between the two, it leaves a job that says "queued" but is
in no queue and in no registry, which nothing in RQ ever runs or fails (a single-queue
worker's job waits in the queue's intermediate list instead, which RQ fails after a
minute, at its ten-minute maintenance). Whoever knows such a job's id (the outbox sweep,
the export sweep, the scheduler's periodic jobs) asks ``stranded`` and enqueues it again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import cast

import redis
from rq import Queue
from rq.job import Job
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
#: A job seen "queued" but in no queue is stranded once it is still so this many seconds
#: later (a live worker marks the job it popped started within milliseconds).
STRANDED_AFTER_S = 15
#: Where the first sighting of a job out of its queue is kept (per enqueueing of the job).
STRANDED_KEY = "workbench:stranded:"
#: Above this many jobs to look for in one queue, its list is read once instead.
_LPOS_MAX = 16
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


def stranded(connection: redis.Redis, jobs: Iterable[Job]) -> set[str]:
    """The ids of ``jobs`` that a worker took off their queue and died before starting.

    Such a job says "queued" but is in no queue. The first look only notes when it was
    seen so; a job still out of its queue ``STRANDED_AFTER_S`` later is stranded, and is
    taken off its queue's intermediate list, so the caller enqueues it again and RQ's
    cleanup of that list does not fail it meanwhile.
    """
    by_queue: defaultdict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        if job.get_status(refresh=False) == "queued":
            by_queue[job.origin].append(job)
    out_of_queue = [job for origin, waiting in by_queue.items()
                    for job in _out_of_queue(connection, Queue(origin, connection=connection),
                                             waiting)]
    if not out_of_queue:
        return set()
    now_s = time.time()
    with connection.pipeline(transaction=False) as pipe:
        for job in out_of_queue:
            key = _first_seen_key(job)
            pipe.set(key, now_s, nx=True, ex=3600)
            pipe.get(key)
        seen = pipe.execute()[1::2]
    found = {job.id for job, first in zip(out_of_queue, seen, strict=True)
             if first is not None and now_s - float(first) >= STRANDED_AFTER_S}
    for job in out_of_queue:
        if job.id in found:
            connection.lrem(Queue(job.origin, connection=connection).intermediate_queue_key,
                            0, job.id)
            log.warning("job %s on %s was taken off its queue by a worker that died before "
                        "starting it; enqueued again", job.id, job.origin)
    return found


def _out_of_queue(connection: redis.Redis, queue: Queue, jobs: list[Job]) -> list[Job]:
    """Those of ``jobs`` that are not in ``queue``'s list."""
    if len(jobs) > _LPOS_MAX:
        waiting = {raw.decode() for raw in cast("list[bytes]",
                                                connection.lrange(queue.key, 0, -1))}
        return [job for job in jobs if job.id not in waiting]
    with connection.pipeline(transaction=False) as pipe:
        for job in jobs:
            pipe.lpos(queue.key, job.id)
        positions = pipe.execute()
    return [job for job, at in zip(jobs, positions, strict=True) if at is None]


def _first_seen_key(job: Job) -> str:
    enqueued = job.enqueued_at.timestamp() if job.enqueued_at else 0
    return f"{STRANDED_KEY}{job.id}:{enqueued:.6f}"
