"""Running queued jobs inside the test process."""

from __future__ import annotations

from flask import Flask

from queues.names import PRIORITY_ORDER
from queues.runtime import queue
from queues.worker import BurstWorker


class DrainWorker(BurstWorker):
    """A burst worker that never subscribes to its command channel.

    Nobody sends commands to a worker that lives for one drain, and the subscription
    costs every drain the pubsub thread's wait (a quarter second) when the worker stops.
    """

    def subscribe(self) -> None:
        """Subscribe to nothing: ``unsubscribe`` then has no thread to stop."""


def run_jobs(app: Flask) -> None:
    """Drain every queue in this process (jobs run here, burst mode, no pubsub)."""
    with app.app_context():
        queues = [queue(name) for name in PRIORITY_ORDER]
        DrainWorker(queues, connection=queues[0].connection).work(burst=True)
