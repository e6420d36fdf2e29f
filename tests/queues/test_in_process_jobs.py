"""Jobs the worker runs in its own process share its session (found by the soak).

When the database ended a connection in the middle of such a job (an outage), the
session was left in a failed transaction, and every later enforcement job in that
worker failed with "Can't reconnect until invalid transaction is rolled back" until the
worker was restarted: deliveries waited on the other workers, or on nothing.
"""

from __future__ import annotations

import time
from typing import cast

from flask import Flask
from rq import Queue, get_current_job
from rq.registry import StartedJobRegistry
from sqlalchemy import text

from queues.context import in_app_context, use_app
from queues.names import QueueName
from queues.worker import WorkbenchWorker
from tests.support.present import present
from workbench.current import redis_connection
from workbench.extensions import db
from workbench.settings import Settings

#: The worker's default heartbeat grace (a WorkbenchWorker made without settings).
GRACE = Settings.job_heartbeat_grace_s


@in_app_context
def lose_the_connection_mid_transaction() -> None:
    db.session.execute(text("SELECT 1"))
    # The database ends the connection while the job's transaction is open.
    present(db.session.connection().connection.dbapi_connection).close()
    db.session.execute(text("SELECT 1"))


@in_app_context
def read_something() -> int:
    return int(db.session.execute(text("SELECT 41 + 1")).scalar_one())


def test_a_job_that_lost_its_connection_does_not_fail_the_jobs_after_it(app: Flask) -> None:
    with app.app_context():
        use_app(app)
        queue = Queue(QueueName.ENFORCE.value, connection=redis_connection())
        broken = queue.enqueue(lose_the_connection_mid_transaction)
        after = queue.enqueue(read_something)
        WorkbenchWorker([queue], connection=queue.connection).work(burst=True)
        assert broken.get_status(refresh=True) == "failed"
        assert after.get_status(refresh=True) == "finished"
        assert after.return_value() == 42


def watch_own_heartbeat() -> list[float]:
    """The job: reads, a few times, how long its started-registry entry has to live."""
    job = get_current_job()
    assert job is not None
    key = StartedJobRegistry(job.origin, connection=job.connection).key
    lives = []
    for _ in range(4):  # 4.5 s: without renewal the last would be 4.5 s shorter
        # withscores: (member, score) pairs; redis-py types every zrange shape as one union.
        [(_entry, expires)] = cast(list[tuple[bytes, float]],
                                   job.connection.zrange(key, 0, -1, withscores=True))
        lives.append(expires - time.time())
        time.sleep(1.5)
    return lives


def test_a_job_run_in_the_worker_process_is_kept_alive_by_short_heartbeats(app: Flask) -> None:
    with app.app_context():
        queue = Queue(QueueName.ENFORCE.value, connection=redis_connection())
        job = queue.enqueue(watch_own_heartbeat, job_timeout=300)
        WorkbenchWorker([queue], connection=queue.connection,
                        job_monitoring_interval=1).work(burst=True)
        lives = job.return_value(refresh=True)
    assert job.get_status(refresh=True) == "finished", \
        getattr(job.latest_result(), "exc_string", None)
    # Renewed as the job runs, and never for the job's whole timeout (300 s): a worker
    # that dies with the job leaves it to be handed back within seconds.
    assert lives is not None
    assert all(life <= 1 + GRACE + 1 for life in lives), lives
    assert all(life >= GRACE - 2 for life in lives), lives
