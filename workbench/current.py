"""What the running app holds for the code that serves it: its settings and its Redis."""

from __future__ import annotations

from functools import lru_cache

import redis
from flask import Flask, current_app

from queues.connection import connect, redis_url_for
from workbench.settings import SETTINGS_KEY, Settings


def settings() -> Settings:
    """The running app's settings (needs an app context)."""
    value: Settings = current_app.extensions[SETTINGS_KEY]
    return value


def redis_url(app: Flask | None = None) -> str:
    """The Redis URL the app uses (the embedded server's, started on first use, if unset)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url: str | None = app.extensions.get("workbench.redis_url")
    if url is None:
        s: Settings = app.extensions[SETTINGS_KEY]
        url = redis_url_for(s.redis_url, s.instance_dir)
        app.extensions["workbench.redis_url"] = url
    return url


@lru_cache(maxsize=8)
def _connection(url: str) -> redis.Redis:
    return connect(url)


def redis_connection() -> redis.Redis:
    return _connection(redis_url())
