"""The Redis connection and queues of the running process, resolved once from settings."""

from __future__ import annotations

from functools import lru_cache

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
        from workbench.app import SETTINGS_KEY

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
