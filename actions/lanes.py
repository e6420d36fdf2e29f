"""One lane per platform: its own threads, so a platform that answers slowly ties up only
its own requests, never another platform's.

A lane also knows whether it is *slow*: a call in it has been running longer than the
caller's patience, or the last one to finish took longer. A sender that finds a lane
slow does not wait for it; it leaves the lane to finish and collects the outcomes later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class Lane(Generic[T]):
    """A thread pool of ``threads`` for one platform, and how long its calls are taking."""

    def __init__(self, name: str, threads: int) -> None:
        self.threads = threads
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self.lock = threading.Lock()
        self.backlog = 0  # submitted and not finished
        self.running: dict[int, float] = {}  # call number -> when it started (monotonic)
        self.last_took_s = 0.0
        self._calls = 0

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        with self.lock:
            self.backlog += 1
            self._calls += 1
            number = self._calls

        def timed() -> T:
            started = time.monotonic()
            with self.lock:
                self.running[number] = started
            try:
                return fn()
            finally:
                with self.lock:
                    del self.running[number]
                    self.backlog -= 1
                    self.last_took_s = time.monotonic() - started

        return self.executor.submit(timed)

    def full(self) -> bool:
        """Every thread has a call, running or waiting for one."""
        with self.lock:
            return self.backlog >= self.threads

    def slow(self, patience_s: float) -> bool:
        """A call has run longer than ``patience_s``, or the last one to finish did."""
        now = time.monotonic()
        with self.lock:
            oldest = min(self.running.values(), default=now)
            return now - oldest > patience_s or self.last_took_s > patience_s

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Lanes(Generic[T]):
    """Lanes by key (a platform), made on first use, each with ``threads`` threads."""

    def __init__(self, threads: int, name: str = "lane") -> None:
        self.threads = threads
        self.name = name
        self.lock = threading.Lock()
        self.lanes: dict[int, Lane[T]] = {}

    def lane(self, key: int) -> Lane[T]:
        with self.lock:
            found = self.lanes.get(key)
            if found is None:
                found = self.lanes[key] = Lane(f"{self.name}-{key}", self.threads)
            return found

    def submit(self, key: int, fn: Callable[[], T]) -> Future[T]:
        return self.lane(key).submit(fn)

    def full(self) -> set[int]:
        """The keys whose lanes have no thread free."""
        with self.lock:
            lanes = list(self.lanes.items())
        return {key for key, lane in lanes if lane.full()}

    def slow(self, patience_s: float) -> set[int]:
        """The keys whose lanes are slow (``Lane.slow``)."""
        with self.lock:
            lanes = list(self.lanes.items())
        return {key for key, lane in lanes if lane.slow(patience_s)}

    def shutdown(self) -> None:
        with self.lock:
            lanes, self.lanes = list(self.lanes.values()), {}
        for lane in lanes:
            lane.shutdown()
