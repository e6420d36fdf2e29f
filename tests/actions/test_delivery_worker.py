"""A real enforce worker killed mid-batch loses nothing and applies nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from flask import Flask
from sqlalchemy import select

from queues.enforce import enqueue_deliveries
from tests.actions.test_delivery_batches import _decide, _people, _sequences
from tests.support.app import TEST_SECRET_KEY
from tests.support.enforcement import drain, states, time_passes
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import EnforcementDelivery


def _start_worker(app: Flask) -> subprocess.Popen[bytes]:
    s = app.extensions["workbench.settings"]
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "worker", "--queues", "enforce"],
        env=dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url,
                 WORKBENCH_REDIS_URL=s.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
                 WORKBENCH_INSTANCE_DIR=str(s.instance_dir)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and anything it started, all at once (if it still runs)."""
    try:
        parent = psutil.Process(worker.pid)
        for proc in [*parent.children(recursive=True), parent]:
            proc.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
    worker.wait(timeout=30)


def _queue_all(app: Flask) -> None:
    with app.app_context():
        enqueue_deliveries(list(db.session.scalars(
            select(EnforcementDelivery.id).order_by(EnforcementDelivery.id))))


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing_and_applies_each_delivery_once(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    people = _people(app, servers, 10)
    for p in people:
        _decide(app, p, ActionType.MUTE)
        _decide(app, p, ActionType.BAN)
    for server in servers.values():
        # The platforms answer nothing until released: the worker dies with requests
        # open however long this process waits to kill it (a fixed delay of 1 s let a
        # starved test process see 8 of them answered and recorded first).
        server.hold()
    _queue_all(app)
    worker = _start_worker(app)
    try:
        deadline = time.monotonic() + 60
        while sum(sv.in_flight for sv in servers.values()) < 8:
            assert time.monotonic() < deadline, "the worker never sent the batch"
            time.sleep(0.02)
    finally:
        _kill(worker)
        for server in servers.values():
            server.release()
    # The platforms finish the requests the dead worker had open.
    deadline = time.monotonic() + 60
    while sum(sv.in_flight for sv in servers.values()):
        assert time.monotonic() < deadline, "the platforms never answered"
        time.sleep(0.02)
    assert states(app) == {"pending": 60}  # nothing recorded: the worker died first
    applied_before = sum(sv.effects() for sv in servers.values())
    assert applied_before >= 8
    time_passes(app)  # the dead worker's leases run out
    drain(app)
    assert states(app) == {"delivered": 60}
    for slug, server in servers.items():
        assert server.effects() == 20  # each delivery applied once, resent or not
        assert sum(server.keys.values()) >= 20
        assert _sequences(server) == {f"p{i}-{slug}": [1, 2] for i in range(10)}
        assert set(server.state.values()) == {"banned"}


@pytest.mark.slow
def test_stopping_a_running_send_job_leaves_the_worker_running(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    from rq import Queue
    from rq.command import send_stop_job_command

    from queues.names import QueueName
    from workbench.current import redis_connection

    people = _people(app, servers, 4)
    for p in people:
        _decide(app, p, ActionType.BAN)
    for server in servers.values():
        server.delay_s = 0.5
    _queue_all(app)
    with app.app_context():
        job_id = Queue(QueueName.ENFORCE.value, connection=redis_connection()).job_ids[0]
    worker = _start_worker(app)
    try:
        deadline = time.monotonic() + 60
        while sum(sv.in_flight for sv in servers.values()) < 4:
            assert time.monotonic() < deadline, "the worker never sent the batch"
            time.sleep(0.02)
        with app.app_context():
            send_stop_job_command(redis_connection(), job_id)
        deadline = time.monotonic() + 30
        while states(app) != {"delivered": 12}:
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, states(app)
            time.sleep(0.05)
        assert worker.poll() is None
    finally:
        _kill(worker)
