"""Running queued jobs inside the test process."""

from __future__ import annotations

from flask import Flask

from queues.names import PRIORITY_ORDER
from queues.runtime import queue
from queues.worker import BurstWorker


def run_jobs(app: Flask) -> None:
    """Drain every queue in this process (a SimpleWorker that stops promptly, burst mode)."""
    with app.app_context():
        queues = [queue(name) for name in PRIORITY_ORDER]
        BurstWorker(queues, connection=queues[0].connection).work(burst=True)
