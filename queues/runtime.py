"""The Redis connection and queues of the running process, resolved once from settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue

from queues.connection import connect, redis_url_for
from queues.names import QueueName


def redis_url(app: Flask | None = None) -> str:
    """The Redis URL the app uses (the embedded server's, started on first use, if unset)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url: str | None = app.extensions.get("workbench.redis_url")
    if url is None:
        from workbench.settings import SETTINGS_KEY

        s = app.extensions[SETTINGS_KEY]
        url = redis_url_for(s.redis_url, s.instance_dir)
        app.extensions["workbench.redis_url"] = url
    return url


@lru_cache(maxsize=8)
def _connection(url: str) -> redis.Redis:
    return connect(url)


def redis_connection() -> redis.Redis:
    return _connection(redis_url())


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
    if existing is not None and existing.get_status() in LIVE_STATES:
        return job_id, False
    return str(q.enqueue(func, *args, job_id=job_id, **options).id), True
