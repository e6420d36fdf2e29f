"""The bounded load: a fixed number of requests at fixed times, sent by a pool of threads.

Open loop: each request has its time in the schedule and is sent then (or at once if the
senders fell behind), so a slow server is not spared load it would get in production.
The plan is fixed in advance from a seed; the load stops by itself when it has been sent.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.soak_harness.client import ApiClient
from bench.soak_harness.stack import SLUGS
from bench.soak_harness.world import Request, World
from tests.support.platform_server import PlatformServer

#: What a platform sends, and how often (weights).
MIX = [("messages", 34), ("reports", 26), ("signals", 10), ("accounts", 8), ("recordings", 2),
       ("appeals", 7), ("status", 13)]
APPEALABLE = {"warn", "mute", "restrict_calls", "suspend", "ban"}


@dataclass(order=True)
class Planned:
    at: float
    seq: int
    kind: str = field(compare=False)
    slug: str = field(compare=False)
    fixed: Request | None = field(default=None, compare=False)


def plan(duration_s: float, rate: float, seed: int) -> list[Planned]:
    """The whole schedule: the mix at ``rate`` requests per second, evenly spread."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    n = int(rate * duration_s)
    return [Planned(duration_s * i / max(1, n) + rng.uniform(0, 0.5 / rate), i,
                    rng.choices(kinds, weights)[0], rng.choice(SLUGS)) for i in range(n)]


def plan_accounts(world: World) -> list[Planned]:
    """Every account of the population, all at once, from every platform together (so the
    accounts of one person arrive from several platforms at about the same moment)."""
    return [Planned(0.0, i, "accounts", req.slug, req)
            for i, req in enumerate(world.initial_accounts())]


class LoadGenerator:
    """Sends the planned requests from ``threads`` threads."""

    def __init__(self, world: World, client: ApiClient, platforms: dict[str, PlatformServer],
                 schedule: list[Planned], threads: int = 8) -> None:
        self.world = world
        self.client = client
        self.platforms = platforms
        self.heap = list(schedule)
        heapq.heapify(self.heap)
        self.lock = threading.Lock()
        self.threads = threads
        self.appealed: set[int] = set()
        self.sent = 0
        self.started = 0.0

    def run(self, start: float) -> None:
        """Send everything; returns when the last request is answered (or given up)."""
        self.started = start
        workers = [threading.Thread(target=self._work, name=f"load-{i}", daemon=True)
                   for i in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _work(self) -> None:
        while True:
            with self.lock:
                if not self.heap:
                    return
                item = heapq.heappop(self.heap)
            delay = self.started + item.at - time.time()
            if delay > 0:
                time.sleep(delay)
            self._send(item)

    def _send(self, item: Planned) -> None:
        builders: dict[str, Callable[[str], Request | None]] = {
            "messages": self.world.messages, "reports": self.world.reports,
            "signals": self.world.signals, "accounts": self.world.account_updates,
            "recordings": self.world.recording, "appeals": self._appeal,
        }
        if item.kind == "status":
            user = self.world.pick(item.slug).user_id
            self.client.raw("status", item.slug, f"/api/v1/users/{user}/status", b"",
                            "application/json", good=True, method="GET")
            return
        req = item.fixed or builders[item.kind](item.slug) or self.world.reports(item.slug)
        self.client.send(req)
        with self.lock:
            self.sent += 1

    def _appeal(self, slug: str) -> Request | None:
        """An appeal against a restriction this platform was told about (None if none yet)."""
        server = self.platforms[slug]
        with server.lock:
            received = list(server.received)
        with self.lock:
            for payload in reversed(received):
                action_id = payload.get("action_id")
                if (payload.get("event") == "action" and payload.get("type") in APPEALABLE
                        and payload.get("user_ids") and action_id not in self.appealed):
                    self.appealed.add(action_id)
                    return self.world.appeal(slug, int(action_id), payload["user_ids"][0])
        return None
