"""Periodic maintenance, run once across all machines.

Every worker runs a ticker thread, but only the holder of a Redis lock enqueues the
periodic jobs, so starting workers on several machines does not multiply them. The
lock expires on its own if its holder dies, and another worker takes over.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from rq import Queue

from queues.names import QueueName

log = logging.getLogger(__name__)

LOCK_KEY = "workbench:scheduler:lock"
#: Seconds between ticks; the lock lives for three ticks.
TICK_S = 1.0


@dataclass(frozen=True)
class Periodic:
    """A job enqueued every ``every_s`` seconds (at most one waiting at a time)."""

    name: str
    func: Callable[[], object]
    every_s: float
    queue: QueueName = QueueName.MAINTENANCE


def periodic_jobs() -> list[Periodic]:
    from queues.enforce import deliver_due, expire_actions
    from queues.jobs import sweep

    return [
        Periodic("sweep", sweep, 15.0),
        # Retries are due at their own times; looking every 2 s keeps them close to it.
        Periodic("deliver-due", deliver_due, 2.0, QueueName.ENFORCE),
        Periodic("expire-actions", expire_actions, 30.0),
    ]


class Ticker(threading.Thread):
    """Enqueues the periodic jobs while this process holds the scheduler lock."""

    def __init__(self, connection: redis.Redis, jobs: list[Periodic], tick_s: float = TICK_S):
        # The lock outlives a few ticks, so a busy holder keeps it; a dead one loses it.
        super().__init__(name="workbench-ticker", daemon=True)
        self.connection = connection
        self.jobs = jobs
        self.tick_s = tick_s
        self.token = uuid.uuid4().hex
        self.stopping = threading.Event()
        self.last_run: dict[str, float] = {}

    def holds_lock(self) -> bool:
        """Take the lock, or extend it if this ticker already holds it."""
        ttl_ms = int(max(self.tick_s * 5, 5.0) * 1000)
        if self.connection.set(LOCK_KEY, self.token, nx=True, px=ttl_ms):
            return True
        if self.connection.get(LOCK_KEY) == self.token.encode():
            self.connection.pexpire(LOCK_KEY, ttl_ms)
            return True
        return False

    def tick(self) -> list[str]:
        """Enqueue the jobs that are due; returns their names."""
        if not self.holds_lock():
            return []
        now = time.monotonic()
        enqueued = []
        for job in self.jobs:
            if now - self.last_run.get(job.name, -1e9) < job.every_s:
                continue
            queue = Queue(job.queue.value, connection=self.connection)
            job_id = f"periodic-{job.name}"
            existing = queue.fetch_job(job_id)
            if existing is not None and existing.get_status() in {"queued", "started"}:
                continue
            queue.enqueue(job.func, job_id=job_id, job_timeout=600, result_ttl=60,
                          failure_ttl=86400)
            self.last_run[job.name] = now
            enqueued.append(job.name)
        return enqueued

    def run(self) -> None:
        while not self.stopping.wait(self.tick_s):
            try:
                self.tick()
            except (redis.RedisError, OSError) as exc:
                log.warning("scheduler tick failed: %s", exc)

    def stop(self) -> None:
        self.stopping.set()
        try:
            if self.connection.get(LOCK_KEY) == self.token.encode():
                self.connection.delete(LOCK_KEY)
        except (redis.RedisError, OSError):
            pass
