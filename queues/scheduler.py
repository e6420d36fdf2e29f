"""Periodic maintenance, run once across all machines.

Every worker runs a ticker thread, but only the holder of a Redis lock enqueues the
periodic jobs, so starting workers on several machines does not multiply them. The
lock expires on its own if its holder dies, and another worker takes over.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from rq import Queue

from queues.abandoned import reclaim, stranded
from queues.dashboard import refresh_dashboard
from queues.enforce import deliver_due, expire_actions
from queues.exchanges import fetch_exchanges
from queues.legal import maintenance, refresh_transparency
from queues.names import QueueName
from queues.sweep import sweep

log = logging.getLogger(__name__)

#: Holds the token of the ticker that schedules; expires unless its holder extends it.
LOCK_KEY = "workbench:scheduler:lock"
#: Prefix of the keys that mark a periodic job's current period as claimed.
CLAIM_PREFIX = "workbench:scheduler:claimed:"
#: Seconds between ticks; the lock lives for five ticks (at least 5 s).
TICK_S = 1.0


@dataclass(frozen=True)
class Periodic:
    """A job enqueued every ``every_s`` seconds (at most one waiting at a time).

    An ``inline`` one is not enqueued: the ticker calls ``func(connection)`` itself, for
    quick Redis-only work that must not wait behind the jobs in a queue.
    """

    name: str
    func: Callable[..., object]
    every_s: float
    queue: QueueName = QueueName.MAINTENANCE
    inline: bool = False


def periodic_jobs() -> list[Periodic]:
    return [
        # Jobs whose worker died, and retries no scheduler moved: found within seconds.
        Periodic("reclaim", reclaim, 5.0, inline=True),
        Periodic("sweep", sweep, 15.0),
        # Retries are due at their own times; looking every 2 s keeps them close to it.
        Periodic("deliver-due", deliver_due, 2.0, QueueName.ENFORCE),
        Periodic("expire-actions", expire_actions, 30.0),
        # Retention and erasure requests: hourly is far inside their days-long deadlines.
        Periodic("maintenance", maintenance, 3600.0),
        # The dashboard reads pre-aggregated figures; five minutes old is fresh enough.
        Periodic("dashboard-figures", refresh_dashboard, 300.0),
        # Hash exchanges: the job fetches each one whose WORKBENCH_EXCHANGE_FETCH_MINUTES
        # have passed (none until one is configured).
        Periodic("fetch-exchanges", fetch_exchanges, 300.0),
        # The transparency report of this month and the last, kept for the console; a
        # report is shown at most this old (workbench.reporting.transparency.REPORT_REFRESH_S).
        Periodic("transparency-report", refresh_transparency, 300.0),
    ]


#: Take the lock if it is free, or extend it if this ticker holds it: one atomic step, so
#: a lock that expires between "is it mine?" and "extend it" is never extended for another.
_TAKE_OR_EXTEND = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

#: Claim one job's period, only while holding the lock (checked in the same step). The
#: claim lives on the Redis server's clock for the period, so a holder that was paused
#: past its lock's expiry and comes back finds the lock taken and claims nothing, and no
#: two tickers can claim the same period even if they both believe they hold the lock.
_CLAIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""

#: Give the lock up, if it is still this ticker's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def claim_key(job_name: str) -> str:
    """The key that marks ``job_name``'s current period as taken."""
    return f"{CLAIM_PREFIX}{job_name}"


class Ticker(threading.Thread):
    """Enqueues the periodic jobs while this process holds the scheduler lock.

    The lock lives for ``lock_s`` (by default five ticks, at least 5 s) and is extended
    on every tick, so a busy holder keeps it and a dead one loses it within ``lock_s``. Each job's
    period is claimed in Redis rather than remembered here, so a ticker that takes over
    carries on the schedule instead of running everything at once.
    """

    def __init__(self, connection: redis.Redis, jobs: list[Periodic], tick_s: float = TICK_S,
                 lock_s: float | None = None):
        super().__init__(name="workbench-ticker", daemon=True)
        self.connection = connection
        self.jobs = jobs
        self.tick_s = tick_s
        self.lock_s = lock_s or max(tick_s * 5, 5.0)
        self.token = uuid.uuid4().hex
        self.stopping = threading.Event()
        self._take_or_extend = connection.register_script(_TAKE_OR_EXTEND)
        self._claim = connection.register_script(_CLAIM)
        self._release = connection.register_script(_RELEASE)

    def holds_lock(self) -> bool:
        """Take the lock, or extend it if this ticker already holds it."""
        return bool(self._take_or_extend(keys=[LOCK_KEY],
                                         args=[self.token, int(self.lock_s * 1000)]))

    def claim(self, job: Periodic) -> bool:
        """Take ``job``'s current period, if this ticker holds the lock and nobody has."""
        # Half a tick short of the period, so a claim made at one tick has lapsed by the
        # tick a period later, whatever the jitter between ticks.
        period_ms = max(1, int((job.every_s - self.tick_s / 2) * 1000))
        return bool(self._claim(keys=[LOCK_KEY, claim_key(job.name)],
                                args=[self.token, period_ms]))

    def tick(self) -> list[str]:
        """Enqueue the jobs that are due; returns their names."""
        if not self.holds_lock():
            return []
        enqueued = []
        for job in self.jobs:
            if job.inline:
                if self.claim(job):
                    self._run_inline(job)
                    enqueued.append(job.name)
                continue
            queue = Queue(job.queue.value, connection=self.connection)
            job_id = f"periodic-{job.name}"
            existing = queue.fetch_job(job_id)
            # One waiting at a time: a slow run is not piled on (and its period not spent).
            if existing is not None and existing.get_status() in {"queued", "started"} \
                    and not stranded(self.connection, [existing]):
                continue
            if not self.claim(job):
                continue
            queue.enqueue(job.func, job_id=job_id, job_timeout=600, result_ttl=60,
                          failure_ttl=86400)
            enqueued.append(job.name)
        return enqueued

    def _run_inline(self, job: Periodic) -> None:
        try:
            job.func(self.connection)
        except (redis.RedisError, OSError):
            raise
        except Exception:  # noqa: BLE001 - a failing task must not stop the ticker thread
            log.exception("periodic %s failed", job.name)

    def run(self) -> None:
        while not self.stopping.wait(self.tick_s):
            try:
                self.tick()
            except (redis.RedisError, OSError) as exc:
                log.warning("scheduler tick failed: %s", exc)

    def stop(self) -> None:
        """Stop ticking and hand the lock over at once (not after it expires)."""
        self.stopping.set()
        try:
            self._release(keys=[LOCK_KEY], args=[self.token])
        except (redis.RedisError, OSError):
            pass
