"""A classify job takes the message batches waiting behind it when its queue is deep."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import create_engine, func, select, text

from queues.jobs import _drop_taken_jobs
from queues.names import QueueName
from queues.outbox import job_id
from queues.runtime import queue
from tests.support.jobs import DrainWorker, run_jobs
from tests.support.platform_api import PlatformApi
from workbench.app import create_app
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Case, ClassifierScore, Message, OutboxBatch, Report

TEXTS = ["see you at dinner tonight", "you are a stupid idiot and i hate you",
         "tu chutiya hai bewakoof", "ok"]


def _post_batches(platforms: dict[str, PlatformApi], n: int) -> None:
    for b in range(n):
        r = platforms["calls"].post("/api/v1/messages", {"messages": [
            {"id": f"b{b}-m{i}", "conversation_id": "c1", "sender_id": f"s{i}",
             "recipient_id": "r", "text": t, "sent_at": "2026-11-20T10:00:00Z"}
            for i, t in enumerate(TEXTS)]})
        assert r.status_code == 202, r.json


def _one_classify_job(app: Flask) -> None:
    with app.app_context():
        classify = queue(QueueName.CLASSIFY)
        DrainWorker([classify], connection=classify.connection).work(burst=True, max_jobs=1)


def _state(app: Flask) -> tuple[list[bool], int, int, list[str]]:
    """Each batch processed or not, messages pending, scores, and the queued job ids."""
    with app.app_context():
        batches = [b.processed_at is not None for b in
                   db.session.scalars(select(OutboxBatch).order_by(OutboxBatch.id))]
        pending = db.session.scalar(select(func.count(Message.id))
                                    .where(Message.status == "pending"))
        scores = db.session.scalar(select(func.count(ClassifierScore.id)))
        queued = queue(QueueName.CLASSIFY).get_job_ids()
        db.session.rollback()
    return batches, int(pending or 0), int(scores or 0), queued


@pytest.fixture
def other_app(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Builds an app on the same database and Redis with settings of the test's own."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        with app.app_context():
            base = settings()
        made.append(create_app({"instance_dir": base.instance_dir,
                                "database_url": base.database_url,
                                "redis_url": base.redis_url, "secret_key": base.secret_key,
                                **overrides}))
        return made[-1]

    yield make
    for each in made:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_job_takes_the_batches_queued_behind_it_and_their_jobs_leave_the_queue(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    _post_batches(platforms, 3)
    assert _state(app) == ([False] * 3, 12, 0, [job_id(1), job_id(2), job_id(3)])
    _one_classify_job(app)
    batches, pending, scores, queued = _state(app)
    assert batches == [True] * 3 and pending == 0 and scores == 12
    # Their jobs are gone with them: no worker forks a child to find nothing to do.
    assert queued == []
    with app.app_context():
        conn = queue(QueueName.CLASSIFY).connection
        for b in (2, 3):
            with pytest.raises(NoSuchJobError):
                Job.fetch(job_id(b), connection=conn)
    run_jobs(app)
    assert _state(app) == ([True] * 3, 0, 12, [])


def test_a_taken_batch_whose_job_a_worker_already_holds_keeps_its_job(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    _post_batches(platforms, 3)
    with app.app_context():
        classify = queue(QueueName.CLASSIFY)
        # A worker dequeued batch 3's job (RQ moves it off the queue) while a job that
        # took batches 2 and 3 along was committing.
        held = classify.connection.rpoplpush(classify.key, classify.intermediate_queue_key)
        assert held in (job_id(3), job_id(3).encode())
        _drop_taken_jobs([2, 3], QueueName.CLASSIFY)
        assert classify.get_job_ids() == [job_id(1)]
        with pytest.raises(NoSuchJobError):
            Job.fetch(job_id(2), connection=classify.connection)
        # The held one is left to its worker, which runs it as usual.
        assert Job.fetch(job_id(3), connection=classify.connection).get_status() == "queued"


def test_a_job_takes_no_more_than_the_coalescing_limit(
        app: Flask, platforms: dict[str, PlatformApi], other_app) -> None:
    _post_batches(platforms, 3)
    _one_classify_job(other_app(classify_coalesce_items=2 * len(TEXTS)))
    # Its own batch and the newest waiting one (the tail, which other workers reach last).
    assert _state(app) == ([True, False, True], 4, 8, [job_id(2)])


def test_a_failed_job_leaves_the_batches_it_took_to_their_own_jobs(
        app: Flask, platforms: dict[str, PlatformApi], other_app) -> None:
    _post_batches(platforms, 3)
    _one_classify_job(other_app(text_model="no-such-model"))  # fails after coalescing
    batches, pending, scores, queued = _state(app)
    assert batches == [False] * 3 and pending == 12 and scores == 0
    assert queued == [job_id(2), job_id(3)]
    run_jobs(app)  # batch 2 takes 3 along, or each its own: either way done once
    assert _state(app)[:3] == ([False, True, True], 4, 8)
    with app.app_context():  # and the failed job's own batch waits for its retry
        job = Job.fetch(job_id(1), connection=queue(QueueName.CLASSIFY).connection)
        assert job.get_status() == "scheduled"


def test_a_batch_a_running_job_holds_is_skipped_without_waiting(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    with app.app_context():
        url = settings().database_url
    if not url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    _post_batches(platforms, 3)
    engine = create_engine(url)
    try:
        with engine.connect() as holder:
            # Another worker is in the middle of batch 3.
            holder.execute(text("SELECT id FROM outbox_batch WHERE id = 3 FOR UPDATE"))
            _one_classify_job(app)
            assert _state(app)[0] == [True, True, False]
            holder.rollback()
    finally:
        engine.dispose()


def test_an_intake_job_files_the_report_batches_of_one_queued_behind_it(
        app: Flask, platforms: dict[str, PlatformApi], other_app) -> None:
    """A platform that sends each report as it is made: one batch, one job, per report.
    The first job files those waiting behind it (up to ``intake_coalesce_reports``)."""
    for n in range(5):
        r = platforms["calls"].post("/api/v1/reports", {"reports": [
            {"id": f"one-{n}", "reporter_id": f"rep{n}", "reported_user_id": f"user{n % 2}",
             "category": "harassment", "created_at": "2026-11-20T10:00:00Z"}]})
        assert r.status_code == 202, r.json
    with app.app_context():
        intake = queue(QueueName.INTAKE)
        assert intake.get_job_ids() == [job_id(b) for b in range(1, 6)]
    limited = other_app(intake_coalesce_reports=4)
    with limited.app_context():
        intake = queue(QueueName.INTAKE)
        DrainWorker([intake], connection=intake.connection).work(burst=True, max_jobs=1)
    with app.app_context():
        processed = [b.processed_at is not None for b in
                     db.session.scalars(select(OutboxBatch).order_by(OutboxBatch.id))]
        cased = db.session.scalar(select(func.count(Report.id))
                                  .where(Report.case_id.is_not(None)))
        cases = db.session.scalar(select(func.count(Case.id)))
        # Its own and the three newest (the tail), within the limit of four reports; the
        # jobs of those it took leave the queue, batch 2's waits for a worker.
        assert processed == [True, False, True, True, True] and cased == 4 and cases == 2
        assert queue(QueueName.INTAKE).get_job_ids() == [job_id(2)]
        db.session.rollback()
    run_jobs(app)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))
                                 .where(Report.case_id.is_(None))) == 0
        assert db.session.scalar(select(func.count(Case.id))) == 2
