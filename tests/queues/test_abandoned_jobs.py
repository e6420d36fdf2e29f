"""A worker killed together with its job (a lost machine, a SIGKILL to the process group).

Found by the soak: such a batch job stays "started" in RQ's registry until a worker's
maintenance runs, every ten minutes, and the sweeper leaves started jobs alone, so the
reports in it waited up to ten minutes to reach a case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from flask import Flask
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from queues.jobs import sweep
from queues.names import QueueName
from queues.outbox import job_id
from queues.runtime import redis_connection
from tests.conftest import TEST_SECRET_KEY
from workbench.extensions import db
from workbench.models import OutboxBatch

NOW = "2026-11-20T10:00:00Z"


def _worker(app: Flask) -> subprocess.Popen[bytes]:
    s = app.extensions["workbench.settings"]
    env = dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url, WORKBENCH_REDIS_URL=s.redis_url
               or "", WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
               WORKBENCH_INSTANCE_DIR=str(s.instance_dir))
    return subprocess.Popen([sys.executable, "-m", "workbench", "worker", "--queues", "intake"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _started(app: Flask) -> list[str]:
    with app.app_context():
        registry = StartedJobRegistry(QueueName.INTAKE.value, connection=redis_connection())
        return registry.get_job_ids(cleanup=False)


@pytest.mark.slow
def test_a_batch_whose_worker_died_with_it_is_handed_back_by_the_next_sweep(
        app: Flask, platforms: dict) -> None:
    reports = {"reports": [
        {"id": f"r{i}", "reporter_id": f"rep{i}", "reported_user_id": f"user{i}",
         "category": "harassment", "created_at": NOW} for i in range(1000)]}
    assert platforms["calls"].post("/api/v1/reports", reports).status_code == 202
    with app.app_context():
        batch_id = db.session.scalars(select(OutboxBatch.id)).one()
    worker = _worker(app)
    try:
        deadline = time.monotonic() + 120
        while job_id(batch_id) not in _started(app):
            assert time.monotonic() < deadline, "the worker never started the batch"
            time.sleep(0.05)
        # The worker and its work horse die together, mid-batch.
        for child in psutil.Process(worker.pid).children(recursive=True):
            child.kill()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    with app.app_context():
        conn = redis_connection()
        registry = StartedJobRegistry(QueueName.INTAKE.value, connection=conn)
        # Its heartbeat runs out (as it would 90 s later): make that so now.
        for member in conn.zrange(registry.key, 0, -1):
            conn.zadd(registry.key, {member: 1})
        sweep()
        job = Queue(QueueName.INTAKE.value, connection=conn).fetch_job(job_id(batch_id))
        assert job is not None
        assert job_id(batch_id) not in registry.get_job_ids(cleanup=False)
        assert job.get_status() in {"queued", "scheduled"}  # retried, not left for 10 min
        assert db.session.get(OutboxBatch, batch_id).processed_at is None
