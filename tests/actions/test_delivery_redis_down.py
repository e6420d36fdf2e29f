"""A decision taken while Redis is down still reaches every platform.

The decision's deliveries are written with it; their send job cannot be queued, and the
due sweep (``deliver_due``, run every 2 s by the scheduler) sends them once it runs.
"""

from __future__ import annotations

from flask import Flask
from rq import Queue

from queues.enforce import deliver_due, delivery_job_id, enqueue_deliveries
from queues.names import QueueName
from tests.support.enforcement import act, states
from tests.support.platform_server import PlatformServer
from tests.support.present import present
from workbench.current import redis_connection, redis_url
from workbench.enums import ActionType

#: Nothing listens on port 1: connecting is refused at once, as when Redis is down.
CLOSED_PORT = "redis://127.0.0.1:1/0"


def test_a_ban_decided_while_redis_is_down_reaches_every_platform(
        app: Flask, person: int, servers: dict[str, PlatformServer]) -> None:
    url = redis_url(app)
    app.extensions["workbench.redis_url"] = CLOSED_PORT
    try:
        act(app, person, ActionType.BAN)  # commits, then fails to queue the send job
    finally:
        app.extensions["workbench.redis_url"] = url
    assert states(app) == {"pending": 3}
    with app.app_context():
        assert Queue(QueueName.ENFORCE.value, connection=redis_connection()).count == 0
        deliver_due()
    assert states(app) == {"delivered": 3}
    assert all(len(s.received) == 1 for s in servers.values())


def test_the_same_deliveries_are_queued_once_while_their_job_waits(
        app: Flask, person: int) -> None:
    act(app, person, ActionType.BAN)
    with app.app_context():
        queue = Queue(QueueName.ENFORCE.value, connection=redis_connection())
        ids = [int(i) for i in present(queue.fetch_job(queue.get_job_ids()[0])).args[0]]
        assert enqueue_deliveries(ids) == len(ids)
        assert queue.get_job_ids() == [delivery_job_id(ids)]
