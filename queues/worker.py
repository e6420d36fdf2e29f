"""Starting a queue worker inside the app's context."""

from __future__ import annotations

import logging

from flask import current_app
from rq import Queue, Worker

from queues.context import use_app
from queues.names import PRIORITY_ORDER, QueueName
from queues.runtime import redis_connection

log = logging.getLogger(__name__)


def run_worker(names: list[str] | None = None, *, burst: bool = False) -> bool:
    """Serve the queues (all, most urgent first, unless ``names`` says which) until stopped."""
    valid = {q.value for q in QueueName}
    chosen = names or [q.value for q in PRIORITY_ORDER]
    unknown = sorted(set(chosen) - valid)
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(valid)}")
    # Jobs run in forked children; they reuse this process's app (see queues.context).
    use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    conn = redis_connection()
    worker = Worker([Queue(n, connection=conn) for n in chosen], connection=conn)
    log.info("worker serving %s", ", ".join(chosen))
    return bool(worker.work(burst=burst, with_scheduler=True))
