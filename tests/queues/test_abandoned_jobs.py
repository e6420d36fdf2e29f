"""A worker killed together with its job (a lost machine, a SIGKILL to the process group).

Found by the soak: such a job stayed "started" in RQ's registry until a worker's
maintenance ran, every ten minutes, and a retry then waited in the scheduled registry
for a scheduler the dead worker had held, so reports waited up to ten minutes to reach a
case, against a one-hour self-harm deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import cast

import psutil
import pytest
import redis
from flask import Flask
from rq import Queue, Retry, Worker, get_current_job
from rq.executions import Execution
from rq.job import JobStatus
from rq.utils import now

import queues.abandoned
from queues.abandoned import MAX_REDOS, REDOS_META, SCHEDULE_SLACK_S, reclaim, stranded
from queues.names import QueueName
from queues.scheduler import Ticker, periodic_jobs
from tests.support.app import TEST_SECRET_KEY
from tests.support.present import present
from workbench.current import redis_connection
from workbench.settings import Settings

ATTEMPTS = "test:abandoned:attempts"


def hold_on_first_attempt() -> str:
    """The job: notes each attempt; the first waits (to be killed), the next returns."""
    job = get_current_job()
    assert job is not None
    if job.connection.rpush(ATTEMPTS, os.getpid()) == 1:
        time.sleep(600)
    return "done"


def quick() -> str:
    return "done"


#: The workers' heartbeat and its grace here (10 and 20 s by default): the test waits
#: for a dead worker's heartbeat to run out, and shorter ones make that wait shorter. The
#: grace still outlasts a live worker starved of CPU on a loaded machine (a second
#: worker's start-up cleanup fails a job whose beat is late).
HEARTBEAT_S, GRACE_S = 2, 10


def _worker(app: Flask, queues: str) -> subprocess.Popen[bytes]:
    s = app.extensions["workbench.settings"]
    env = dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url, WORKBENCH_REDIS_URL=s.redis_url
               or app.extensions["workbench.redis_url"], WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
               WORKBENCH_INSTANCE_DIR=str(s.instance_dir),
               WORKBENCH_JOB_HEARTBEAT_S=str(HEARTBEAT_S),
               WORKBENCH_JOB_HEARTBEAT_GRACE_S=str(GRACE_S))
    return subprocess.Popen([sys.executable, "-m", "workbench", "worker", "--queues", queues],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(worker: subprocess.Popen[bytes], *also: int) -> None:
    """SIGKILL the worker, then its work horse and scheduler, as a lost machine loses them.

    The worker goes first: killed after its horse, it could see the horse die and fail
    the job itself before its own SIGKILL lands (on a loaded machine it did, and the job
    was failed, not abandoned). The horse is in a process group of its own (RQ's), so the
    worker's process group does not include it.
    """
    pids = list(also)
    try:
        pids += [c.pid for c in psutil.Process(worker.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=30)


def _wait(condition, seconds: float, what: str) -> float:
    """Wait for ``condition`` (polling); returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_the_default_heartbeats_let_a_dead_workers_job_be_redone_within_a_minute() -> None:
    """The promise the test below keeps with short heartbeats, with the shipped ones:
    the last beat, its grace, the reclaim sweep's period and a scheduler lock taken over
    from the dead worker add up to less than a minute."""
    defaults = Settings()
    [sweep] = [p for p in periodic_jobs() if p.name == "reclaim"]
    lock_s = Ticker(redis.Redis(), []).lock_s
    worst = defaults.job_heartbeat_s + defaults.job_heartbeat_grace_s + sweep.every_s + lock_s
    assert worst < 60, worst


@pytest.mark.slow
def test_a_job_whose_worker_was_killed_is_redone_by_another_within_a_minute(app: Flask) -> None:
    with app.app_context():
        conn = redis_connection()
        queue = Queue(QueueName.EXPORT.value, connection=conn)
    conn.delete(ATTEMPTS)
    first = _worker(app, QueueName.EXPORT.value)
    second = None
    try:
        job = queue.enqueue(hold_on_first_attempt, job_id="held-job", job_timeout=900)
        _wait(lambda: conn.llen(ATTEMPTS) == 1, 120, "the first worker never started the job")
        horse = int(conn.lindex(ATTEMPTS, 0))  # type: ignore[arg-type]
        second = _worker(app, QueueName.EXPORT.value)
        _wait(lambda: Worker.count(queue=queue) == 2, 120, "the second worker never started")
        _kill(first, horse)
        killed = time.monotonic()
        # When each status was first seen after the kill: on a failure, says which step
        # (the heartbeat running out, the sweep handing the job back, the redo) was late.
        seen: dict[str, float] = {}

        def finished() -> bool:
            status = job.get_status(refresh=True)
            seen.setdefault(str(getattr(status, "value", status)),
                            round(time.monotonic() - killed, 1))
            return status == "finished"

        try:
            _wait(finished, 90, "the job was not redone after its worker was killed")
        except AssertionError as exc:
            result = job.latest_result()
            why = result.exc_string if result is not None and result.exc_string else ""
            raise AssertionError(f"{exc}; statuses first seen (s after the kill): {seen}, "
                                 f"attempts {conn.llen(ATTEMPTS)}; {why[-600:]}") from None
        took = time.monotonic() - killed
    finally:
        for w in (first, second):
            if w is not None and w.poll() is None:
                _kill(w)
    print(f"redone {took:.1f} s after the kill; statuses first seen: {seen}")
    # The heartbeat runs out, the reclaim sweep (every 5 s, in the worker left) hands the
    # job back, and that worker takes it; 60 s as with the default heartbeats.
    assert took < 60, f"redone {took:.0f} s after the kill; statuses first seen: {seen}"
    assert conn.llen(ATTEMPTS) == 2  # once killed, once redone: not more
    job.refresh()
    assert job.return_value() == "done"
    assert job.meta[REDOS_META] == 1  # handed back by the sweep, not retried as a failure


def _abandon(queue: Queue, job_id: str) -> None:
    """Make ``job_id`` look started by a worker whose heartbeat has just run out."""
    job = queue.fetch_job(job_id)
    assert job is not None
    queue.connection.lrem(queue.key, 0, job_id)
    with queue.connection.pipeline() as pipe:
        Execution.create(job, ttl=1, pipeline=pipe)
        pipe.execute()
    registry = queue.started_job_registry
    # zrange without scores gives members; redis-py types every zrange shape as one union.
    for entry in cast(list[bytes], queue.connection.zrange(registry.key, 0, -1)):
        queue.connection.zadd(registry.key, {entry: 1})


def test_an_abandoned_job_goes_back_to_the_front_until_it_has_killed_its_worker_too_often(
        app: Flask) -> None:
    with app.app_context():
        conn: redis.Redis = redis_connection()
    queue = Queue(QueueName.INTAKE.value, connection=conn)
    queue.enqueue(quick, job_id="waiting")
    job = queue.enqueue(quick, job_id="deadly")
    for attempt in range(1, MAX_REDOS + 1):
        _abandon(queue, "deadly")
        assert reclaim(conn) == ["deadly"]
        assert queue.get_job_ids()[0] == "deadly"  # ahead of what was waiting
        assert job.get_status(refresh=True) == "queued"
        assert present(queue.fetch_job("deadly")).meta[REDOS_META] == attempt
    _abandon(queue, "deadly")
    assert reclaim(conn) == []  # a job that keeps killing its worker: a person looks at it
    assert job.get_status(refresh=True) == "failed"
    assert "deadly" in queue.failed_job_registry.get_job_ids()
    assert queue.get_job_ids() == ["waiting"]


def test_an_overdue_retry_is_enqueued_though_no_scheduler_runs(app: Flask) -> None:
    with app.app_context():
        conn: redis.Redis = redis_connection()
    queue = Queue(QueueName.INTAKE.value, connection=conn)
    late = queue.enqueue_at(now() - timedelta(seconds=SCHEDULE_SLACK_S + 5), quick,
                            job_id="late", retry=Retry(max=1))
    due = queue.enqueue_at(now() - timedelta(seconds=1), quick, job_id="due")
    assert reclaim(conn) == ["late"]  # just due is left to a live scheduler, if any
    assert late.get_status(refresh=True) == "queued" and queue.get_job_ids() == ["late"]
    assert due.get_status(refresh=True) == "scheduled"
    assert reclaim(conn) == []  # and not twice


def test_a_job_that_ended_is_not_redone_for_an_entry_left_behind(app: Flask) -> None:
    with app.app_context():
        conn: redis.Redis = redis_connection()
    queue = Queue(QueueName.INTAKE.value, connection=conn)
    job = queue.enqueue(quick, job_id="ended")
    _abandon(queue, "ended")
    job.set_status(JobStatus.FINISHED)
    assert reclaim(conn) == []
    assert queue.get_job_ids() == [] and queue.started_job_registry.count == 0


def test_a_job_taken_off_its_queue_by_a_worker_that_died_is_stranded_on_a_second_look(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        conn: redis.Redis = redis_connection()
    queue = Queue(QueueName.INTAKE.value, connection=conn)
    taken = queue.enqueue(quick, job_id="taken")
    waiting = queue.enqueue(quick, job_id="waiting")
    started = queue.enqueue(quick, job_id="started")
    assert conn.lpop(queue.key) == b"taken"  # a worker popped it, then died
    conn.lrem(queue.key, 0, "started")
    started.set_status(JobStatus.STARTED)
    # A single-queue worker moves the id to the queue's intermediate list instead.
    conn.rpush(queue.intermediate_queue_key, "taken")
    assert stranded(conn, [taken, waiting, started]) == set()  # the first look only notes it
    monkeypatch.setattr(queues.abandoned, "STRANDED_AFTER_S", 0)
    assert stranded(conn, [taken, waiting, started]) == {"taken"}
    assert conn.llen(queue.intermediate_queue_key) == 0  # RQ's cleanup will not fail it
    # Enqueued again it is a new sighting, in its queue: not stranded.
    queue.enqueue_job(taken)
    assert stranded(conn, [taken]) == set()
    # Many at once: the queue is read once rather than searched per job.
    many = [queue.enqueue(quick, job_id=f"many-{i}") for i in range(40)]
    conn.lrem(queue.key, 0, "many-7")
    assert stranded(conn, many) == {"many-7"}
