"""What a scrape reads at the moment it is asked, and the exposition itself.

Queue depths come from Redis through RQ (one LLEN, one LRANGE of one id and one job hash
per queue) and overdue cases from one grouped query: cheap enough at every scrape, and
never stale the way a counter kept by the workers could be. A source that cannot be
reached is reported as ``workbench_metrics_source_up 0`` and the rest is still served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from rq import Queue
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from queues.names import PRIORITY_ORDER
from workbench.enums import OPEN_CASE_STATUSES
from workbench.metrics import multiprocess
from workbench.models import Case, utcnow

log = logging.getLogger(__name__)


def queue_families(connection: redis.Redis) -> list[Metric]:
    """Jobs waiting, the wait of the one next in line, and failed jobs, per RQ queue."""
    depth = GaugeMetricFamily("workbench_queue_jobs", "Jobs waiting in each queue.",
                              labels=["queue"])
    age = GaugeMetricFamily(
        "workbench_queue_oldest_job_age_seconds",
        "How long the job at the head of each queue (the next to run) has waited; "
        "0 when the queue is empty.", labels=["queue"])
    failed = GaugeMetricFamily("workbench_queue_failed_jobs",
                               "Jobs in each queue's failed registry.", labels=["queue"])
    now = datetime.now(UTC)
    for name in PRIORITY_ORDER:
        q = Queue(name.value, connection=connection)
        depth.add_metric([name.value], q.count)
        age.add_metric([name.value], _head_age(q, now))
        failed.add_metric([name.value], q.failed_job_registry.get_job_count(cleanup=False))
    return [depth, age, failed]


def _head_age(q: Queue, now: datetime) -> float:
    head = q.get_job_ids(0, 1)
    job = q.fetch_job(head[0]) if head else None
    if job is None or job.enqueued_at is None:
        return 0.0
    enqueued = job.enqueued_at
    if enqueued.tzinfo is None:  # RQ keeps UTC times without a zone
        enqueued = enqueued.replace(tzinfo=UTC)
    return max(0.0, (now - enqueued).total_seconds())


def open_cases_by_queue(session: Session) -> list[tuple[str, int, int]]:
    """``(queue, open cases, past their deadline)`` for each queue with open cases.

    One grouped query over the triage index (status, queue, ..., due_at).
    """
    now = utcnow()
    rows = session.execute(
        select(Case.queue, func.count(),
               func.coalesce(func.sum(case((Case.due_at < now, 1), else_=0)), 0))
        .where(Case.status.in_(OPEN_CASE_STATUSES))
        .group_by(Case.queue).order_by(Case.queue)).all()
    return [(str(q), int(n), int(late)) for q, n, late in rows]


def case_families(session: Session) -> list[Metric]:
    """Open cases and those past their deadline, per queue."""
    open_ = GaugeMetricFamily("workbench_cases_open", "Open cases in each queue.",
                              labels=["queue"])
    overdue = GaugeMetricFamily("workbench_cases_overdue",
                                "Open cases in each queue whose deadline has passed.",
                                labels=["queue"])
    try:
        rows = open_cases_by_queue(session)
    finally:
        session.rollback()
    for queue, n, late in rows:
        open_.add_metric([queue], n)
        overdue.add_metric([queue], late)
    return [open_, overdue]


class ReadNow:
    """The figures read at scrape time, and whether each source could be read."""

    def __init__(self, connection: redis.Redis, session: Session) -> None:
        self.connection = connection
        self.session = session

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("workbench_metrics_source_up",
                               "Whether this scrape could read the source (1) or not (0).",
                               labels=["source"])
        try:
            yield from queue_families(self.connection)
            up.add_metric(["redis"], 1)
        except (redis.RedisError, OSError) as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric(["redis"], 0)
        try:
            yield from case_families(self.session)
            up.add_metric(["database"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric(["database"], 0)
        yield up


class _ThisProcess:
    """The metrics counted in this process (single-process mode: tests, ``flask run``)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(metrics_dir: Path, connection: redis.Redis, session: Session) -> bytes:
    """Everything, in the Prometheus text format: counted, then read now.

    Under ``workbench serve`` and ``workbench worker`` the counted figures are every
    process's files under ``metrics_dir``; otherwise this process's own.
    """
    registry = CollectorRegistry(auto_describe=False)
    counted: Any = (multiprocess.FilesCollector(metrics_dir) if multiprocess.active()
                    else _ThisProcess())
    for collector in (counted, ReadNow(connection, session)):
        registry.register(collector)
    return generate_latest(registry)
