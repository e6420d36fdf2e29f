"""The queues of the running process, on the app's Redis connection (``workbench.current``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rq import Queue
from rq.job import Job

from queues.abandoned import stranded
from queues.names import QueueName
from workbench.current import redis_connection


def queue(name: QueueName) -> Queue:
    """The RQ queue ``name`` on the app's Redis."""
    return Queue(name.value, connection=redis_connection())


#: States in which a job is still to run: enqueueing its id again would run it twice.
LIVE_STATES = frozenset({"queued", "started", "scheduled", "deferred"})


def enqueue_once(q: Queue, func: Callable[..., object], *args: object, job_id: str,
                 **options: Any) -> tuple[str, bool]:
    """Enqueue ``func(*args)`` as ``job_id`` unless a job of that id is still to run.

    Returns the job id and whether it was enqueued now. So the request that wrote the
    work and the sweeper that finds it waiting can both enqueue it: it runs once. (The
    sweeper leaves work alone for a grace period after it is written, so the two do not
    race between the look and the enqueue.)
    """
    existing = q.fetch_job(job_id)
    if existing is not None and still_to_run(existing):
        return job_id, False
    return str(q.enqueue(func, *args, job_id=job_id, **options).id), True


def still_to_run(job: Job) -> bool:
    """Whether ``job`` will run without being enqueued again: it is in a live state, and
    not stranded by a worker that died between taking it and starting it."""
    return job.get_status() in LIVE_STATES and job.id not in stranded(job.connection, [job])
