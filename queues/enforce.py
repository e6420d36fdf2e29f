"""Enforcement jobs: send deliveries now, retry the due ones, lift what has expired."""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib

import redis
from flask import Flask
from rq import Queue
from sqlalchemy.exc import SQLAlchemyError

from actions.delivery import DeliveryPolicy, HttpSender, deliver, record_finished
from actions.enforcement import expire_due
from queues.context import in_app_context
from queues.names import QueueName
from queues.runtime import enqueue_once
from workbench.current import redis_connection, settings
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Platform
from workbench.platforms import platform_secret
from workbench.rules.webhooks import WebhookPolicy

log = logging.getLogger(__name__)

#: Deliveries per job: enough to send in parallel, few enough to finish quickly.
CHUNK = 200
#: How long a send job goes on sending other due deliveries after its own, so a burst
#: (or work whose job Redis lost) needs few jobs. Short, so a job sent for a new ban
#: never waits long behind one that is draining.
DRAIN_BUDGET_S = 10.0
#: The same for the periodic sweep, which then leaves the rest to its next run.
SWEEP_BUDGET_S = 120.0

_sender: tuple[int, float, WebhookPolicy, HttpSender] | None = None


def delivery_policy() -> DeliveryPolicy:
    s = settings()
    return DeliveryPolicy(retry_window=s.delivery_retry_window,
                          timeout_s=s.delivery_timeout_s, batch=CHUNK,
                          webhooks=s.webhook_policy)


def sender(policy: DeliveryPolicy) -> HttpSender:
    """This process's sender, kept between jobs so its connections stay open.

    A process forked from one that had a sender makes its own (threads and sockets do
    not survive a fork usefully).
    """
    global _sender
    if _sender is None or _sender[:3] != (os.getpid(), policy.timeout_s, policy.webhooks):
        _sender = (os.getpid(), policy.timeout_s, policy.webhooks,
                   HttpSender(policy.timeout_s, policy.parallel, policy.webhooks))
    return _sender[3]


def close_sender() -> None:
    """Close this process's sender, if it has one: its pooled connections, and requests
    still open, whose deliveries stay leased and go again when the lease runs out. The
    next job makes a new one. (A process moving to another database must call it: the
    requests it handed off name deliveries by id, and would be recorded there.)"""
    global _sender
    if _sender is not None:
        _sender[3].close()
        _sender = None


def delivery_job_id(delivery_ids: list[int]) -> str:
    """The id of the job that sends these deliveries: the same ids, the same job."""
    digest = zlib.crc32(",".join(map(str, delivery_ids)).encode())
    return f"deliveries-{delivery_ids[0]}-{len(delivery_ids)}-{digest:08x}"


def enqueue_deliveries(delivery_ids: list[int]) -> int:
    """Queue the deliveries for sending; if Redis is down, the due sweep sends them.

    The due sweep (``deliver_due``, every 2 s) is also what finds deliveries whose job was
    lost: it sends every due delivery, whether or not a job names it.
    """
    try:
        queue = Queue(QueueName.ENFORCE.value, connection=redis_connection())
        for start in range(0, len(delivery_ids), CHUNK):
            chunk = delivery_ids[start:start + CHUNK]
            enqueue_once(queue, send_deliveries, chunk, job_id=delivery_job_id(chunk),
                         job_timeout=300, result_ttl=300, failure_ttl=7 * 86400)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable; %d deliveries left for the due sweep: %s",
                    len(delivery_ids), exc)
        return 0
    return len(delivery_ids)


def _secret(platform: Platform) -> str:
    return platform_secret(platform, settings().secret_key)


def _add(totals: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {key: n + more.get(key, 0) for key, n in totals.items()}


@in_app_context
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Send these deliveries first, then whatever else is due, for a while.

    Those already sent, claimed elsewhere or waiting their turn are left alone. Sending
    the other due deliveries here means a burst needs few jobs: the jobs queued behind
    this one find their deliveries sent and finish at once.
    """
    policy = delivery_policy()
    post = sender(policy)
    own = deliver(db.session, post, _secret, policy, delivery_ids)
    return _add(own, deliver(db.session, post, _secret, policy, budget_s=DRAIN_BUDGET_S))


@in_app_context
def deliver_due() -> dict[str, int]:
    """Send every delivery whose next attempt is due (retries, and what Redis lost)."""
    policy = delivery_policy()
    return deliver(db.session, sender(policy), _secret, policy, budget_s=SWEEP_BUDGET_S)


class Recorder(threading.Thread):
    """Records the answers a slow platform gives to requests the jobs handed off.

    A send job does not wait for a slow platform (``actions.delivery``); its requests stay
    open in this process's sender, and this thread writes their outcomes as they come,
    so they are recorded even while no job runs here. One per worker process.
    """

    #: The longest it waits for an answer before looking again (and so the longest a
    #: stop waits for it).
    poll_s = 0.5

    def __init__(self, app: Flask) -> None:
        super().__init__(name="delivery-recorder", daemon=True)
        self.app = app
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self.record(self.poll_s):
                self.stopping.wait(self.poll_s)

    def record(self, wait_s: float) -> bool:
        """Record what has come back (waiting up to ``wait_s``); False with no sender yet."""
        current = _sender[3] if _sender is not None and _sender[0] == os.getpid() else None
        if current is None:
            return False
        with self.app.app_context():
            try:
                record_finished(db.session, current, delivery_policy(), wait_s)
            except SQLAlchemyError as exc:
                # Those outcomes are lost; their leases run out and they go again.
                log.warning("recording handed-off deliveries failed: %s", exc)
            finally:
                db.session.remove()
        return True

    def stop(self, drain_s: float) -> None:
        """Stop, after recording the answers that come within ``drain_s``."""
        self.stopping.set()
        self.join()
        deadline = time.monotonic() + drain_s
        while _sender is not None and _sender[3].handed_off() and time.monotonic() < deadline:
            self.record(min(self.poll_s, max(0.0, deadline - time.monotonic())))


@in_app_context
def expire_actions() -> int:
    """Lift suspensions and mutes whose end has passed, and send the lifting deliveries."""

    lifted = expire_due(db.session)
    ids = list(db.session.scalars(
        EnforcementDelivery.__table__.select().with_only_columns(EnforcementDelivery.id)
        .where(EnforcementDelivery.action_id.in_(lifted)))) if lifted else []
    db.session.commit()
    if ids:
        enqueue_deliveries(ids)
    return len(lifted)
