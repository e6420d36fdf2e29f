"""Starting a queue worker inside the app's context."""

from __future__ import annotations

import logging

import redis
from flask import current_app
from rq import Queue, Worker

from queues.context import use_app
from queues.names import PRIORITY_ORDER, QueueName
from queues.runtime import redis_connection
from queues.scheduler import Ticker, periodic_jobs

log = logging.getLogger(__name__)


def run_worker(names: list[str] | None = None, *, burst: bool = False) -> bool:
    """Serve the queues (all, most urgent first, unless ``names`` says which) until stopped."""
    valid = [q.value for q in QueueName]
    chosen = names or [q.value for q in PRIORITY_ORDER]
    unknown = sorted(set(chosen) - set(valid))
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(valid)}")
    # Jobs run in forked children; they reuse this process's app (see queues.context).
    use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    conn = redis_connection()
    if QueueName.CLASSIFY.value in chosen:
        _warm_up()
    _catch_up()
    ticker = None
    if not burst:
        ticker = Ticker(conn, periodic_jobs())
        ticker.start()
    worker = Worker([Queue(n, connection=conn) for n in chosen], connection=conn)
    log.info("worker serving %s", ", ".join(chosen))
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        if ticker is not None:
            ticker.stop()


def _warm_up() -> None:
    """Load the text model before forking, so each job's child starts with it loaded."""
    from workbench.app import settings
    from workbench.classification import _model

    try:
        _model(settings())
    except Exception as exc:  # noqa: BLE001 - a missing model must not stop the worker
        log.warning("text model not preloaded: %s", exc)


def _catch_up() -> None:
    """At start, enqueue whatever the outbox holds (work that waited out a Redis outage)."""
    from queues.jobs import sweep

    try:
        sweep()
    except (redis.RedisError, OSError) as exc:
        log.warning("start-up sweep skipped: %s", exc)
