"""Jobs the worker runs in its own process share its session (found by the soak).

When the database ended a connection in the middle of such a job (an outage), the
session was left in a failed transaction, and every later enforcement job in that
worker failed with "Can't reconnect until invalid transaction is rolled back" until the
worker was restarted: deliveries waited on the other workers, or on nothing.
"""

from __future__ import annotations

from flask import Flask
from rq import Queue
from sqlalchemy import text

from queues.context import in_app_context, use_app
from queues.names import QueueName
from queues.runtime import redis_connection
from queues.worker import WorkbenchWorker
from workbench.extensions import db


@in_app_context
def lose_the_connection_mid_transaction() -> None:
    db.session.execute(text("SELECT 1"))
    # The database ends the connection while the job's transaction is open.
    db.session.connection().connection.dbapi_connection.close()
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
