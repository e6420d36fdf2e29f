"""Pages drawn once and shared: what is slow to compute is kept in Redis for every process.

A drawn thing (a month's transparency report and its charts, a dashboard window drawn on
demand) is stored as JSON under one key with the time it was computed (``as_of``) and a
digest of its content (``etag``, the HTTP validator). It lives ``max_age`` seconds: the
periodic jobs write it again before then, so a view only reads it; when no job did (the
worker is down, or a window nobody asked for before), the first request computes it
and every process and user after it reads that. Redis being unreachable costs speed,
never an answer: the value is then computed in the request.

Nothing here imports pandas or matplotlib: reading a drawn page must not load them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from workbench.current import redis_connection
from workbench.models import utcnow

log = logging.getLogger(__name__)

#: Every key this module writes starts with this (one place to find or clear them).
KEY_PREFIX = "workbench:drawn:"


@dataclass(frozen=True)
class Drawn:
    """A computed page part, when it was computed, and a digest of it."""

    body: Any
    as_of: datetime
    etag: str

    @classmethod
    def of(cls, body: Any, as_of: datetime | None = None) -> Drawn:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return cls(body, as_of or utcnow(), hashlib.sha256(text.encode()).hexdigest()[:32])

    def dumps(self) -> str:
        return json.dumps({"body": self.body, "as_of": self.as_of.isoformat(),
                           "etag": self.etag}, default=str)

    @classmethod
    def loads(cls, raw: bytes | str) -> Drawn:
        data = json.loads(raw)
        as_of = datetime.fromisoformat(data["as_of"])
        return cls(data["body"], as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC),
                   data["etag"])


def _redis() -> Any:
    return redis_connection()


def read(key: str) -> Drawn | None:
    """What is kept under ``key``, or None (absent, expired, unreadable or Redis down)."""
    try:
        raw = _redis().get(KEY_PREFIX + key)
    except (RedisError, OSError) as exc:
        log.warning("drawn page %s: Redis unreachable, computing it here: %s", key, exc)
        return None
    if raw is None:
        return None
    try:
        return Drawn.loads(raw)
    except (ValueError, KeyError, TypeError):
        log.warning("drawn page %s: unreadable entry, computing it again", key)
        return None


def keep(key: str, drawn: Drawn, max_age: int) -> Drawn:
    """Store ``drawn`` under ``key`` for ``max_age`` seconds (silently not, if Redis is down)."""
    try:
        _redis().set(KEY_PREFIX + key, drawn.dumps(), ex=max_age)
    except (RedisError, OSError) as exc:
        log.warning("drawn page %s not kept: Redis unreachable: %s", key, exc)
    return drawn


def fetch(key: str, compute: Callable[[], Any], max_age: int) -> Drawn:
    """The kept value of ``key``, or ``compute()`` kept for every process for ``max_age`` s."""
    found = read(key)
    if found is not None:
        return found
    return keep(key, Drawn.of(compute()), max_age)
