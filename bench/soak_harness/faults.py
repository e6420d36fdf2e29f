"""Faults on a schedule, and the windows in which each one was in effect.

A quiet baseline comes first, then cycles of: a burst of bad requests, a worker killed
with SIGKILL (the supervisor starts a replacement), the soak's Redis restarted, the
soak's PostgreSQL database made unreachable (new connections refused, open ones
ended), another burst, a platform taken down and brought back on the same port, a
platform slowed to 5 s per answer with a worker killed meanwhile, and a last burst.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.soak_harness.stack import SLUGS, Stack

log = logging.getLogger(__name__)

#: A slowed platform answers after this long (the delivery timeout is 5 s too).
SLOW_ANSWER_S = 5.0
#: Seconds Redis stays down when it is restarted.
REDIS_DOWN_S = 2.0


@dataclass(frozen=True)
class FaultTimes:
    """How long each fault lasts, and the quiet time before the first."""

    baseline_s: float
    platform_down_s: float
    slow_s: float
    pg_down_s: float

    @property
    def cycle_s(self) -> float:
        return 40.0 + self.platform_down_s + 5.0 + self.slow_s + 15.0


@dataclass(frozen=True)
class Planned:
    at: float
    name: str
    target: str = ""


@dataclass
class Window:
    """When a fault was in effect (wall-clock seconds)."""

    name: str
    target: str
    start: float
    end: float = 0.0
    note: str = ""


def schedule(load_s: float, times: FaultTimes) -> list[Planned]:
    """Whole fault cycles after the baseline, as many as fit in ``load_s``."""
    out: list[Planned] = []
    cycle = 0
    start = times.baseline_s
    while start + times.cycle_s <= load_s:
        down, slow = SLUGS[cycle % 3], SLUGS[(cycle + 1) % 3]
        slow_at = start + 45.0 + times.platform_down_s
        out += [Planned(start, "bad_input_burst", down),
                Planned(start + 5.0, "kill_worker", str(cycle)),
                Planned(start + 15.0, "restart_redis"),
                Planned(start + 25.0, "postgres_unreachable"),
                Planned(start + 35.0, "bad_input_burst", slow),
                Planned(start + 40.0, "platform_down", down),
                Planned(slow_at, "platform_slow", slow),
                Planned(slow_at + min(10.0, times.slow_s / 2), "kill_worker", str(cycle + 1)),
                Planned(slow_at + times.slow_s + 5.0, "bad_input_burst", SLUGS[2 - cycle % 3])]
        cycle += 1
        start += times.cycle_s
    return out


class FaultInjector(threading.Thread):
    """Carries out the schedule; each fault runs in its own thread so they may overlap."""

    def __init__(self, stack: Stack, plan: list[Planned], times: FaultTimes,
                 burst: Callable[[str], int]) -> None:
        super().__init__(name="soak-faults", daemon=True)
        self.stack = stack
        self.plan = sorted(plan, key=lambda p: p.at)
        self.times = times
        self.burst = burst
        self.windows: list[Window] = []
        self.lock = threading.Lock()
        self.started = 0.0
        self._running: list[threading.Thread] = []

    def begin(self, start: float) -> None:
        self.started = start
        self.start()

    def run(self) -> None:
        for planned in self.plan:
            delay = self.started + planned.at - time.time()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=self._apply, args=(planned,), daemon=True,
                                 name=f"fault-{planned.name}")
            t.start()
            self._running.append(t)
        for t in self._running:
            t.join()

    def _apply(self, planned: Planned) -> None:
        window = Window(planned.name, planned.target, time.time())
        with self.lock:
            self.windows.append(window)
        try:
            window.note = self._carry_out(planned)
        except Exception as exc:  # noqa: BLE001 - a fault that failed is reported, not fatal
            log.exception("fault %s failed", planned.name)
            window.note = f"failed: {exc}"
        window.end = time.time()

    def _carry_out(self, planned: Planned) -> str:
        name, target = planned.name, planned.target
        if name == "bad_input_burst":
            return f"{self.burst(target)} bad requests"
        if name == "kill_worker":
            assert self.stack.supervisor is not None
            return f"SIGKILL pid {self.stack.supervisor.kill_one(int(target))}"
        if name == "restart_redis":
            self.stack.redis.restart(REDIS_DOWN_S)
            return f"down {REDIS_DOWN_S:.0f} s, everything it held lost"
        if name == "postgres_unreachable":
            ended = self.stack.database.outage(self.times.pg_down_s)
            return f"{ended} connections ended, refused for {self.times.pg_down_s:.0f} s"
        server = self.stack.platforms[target]
        if name == "platform_down":
            server.stop()
            time.sleep(self.times.platform_down_s)
            server.start()
            return f"down {self.times.platform_down_s:.0f} s, back on port {server.port}"
        if name == "platform_slow":
            server.delay_s = SLOW_ANSWER_S
            time.sleep(self.times.slow_s)
            server.delay_s = 0.0
            return f"{SLOW_ANSWER_S:.0f} s per answer for {self.times.slow_s:.0f} s"
        raise ValueError(f"unknown fault {name}")

    def finish(self) -> list[Window]:
        self.join()
        return sorted(self.windows, key=lambda w: w.start)


def windows_of(windows: list[Window], names: set[str]) -> list[tuple[float, float]]:
    return [(w.start, w.end) for w in windows if w.name in names]


def overlaps(t0: float, t1: float, spans: list[tuple[float, float]], grace: float = 0.0) -> bool:
    return any(t0 <= end + grace and t1 >= start for start, end in spans)

