"""Enforcement jobs: send deliveries now, retry the due ones, lift what has expired."""

from __future__ import annotations

import logging

import redis
from rq import Queue

from actions.delivery import DeliveryPolicy, deliver, due, http_post
from queues.context import in_app_context
from queues.names import QueueName
from queues.runtime import redis_connection
from workbench.app import settings
from workbench.extensions import db
from workbench.models import Platform
from workbench.platforms import platform_secret

log = logging.getLogger(__name__)

#: Deliveries per job: enough to send in parallel, few enough to finish quickly.
CHUNK = 200


def delivery_policy() -> DeliveryPolicy:
    s = settings()
    return DeliveryPolicy(retry_window=s.delivery_retry_window,
                          timeout_s=s.delivery_timeout_s)


def enqueue_deliveries(delivery_ids: list[int]) -> int:
    """Queue the deliveries for sending; if Redis is down, the due sweep sends them."""
    try:
        queue = Queue(QueueName.ENFORCE.value, connection=redis_connection())
        for start in range(0, len(delivery_ids), CHUNK):
            queue.enqueue(send_deliveries, delivery_ids[start:start + CHUNK],
                          job_timeout=300, result_ttl=300, failure_ttl=7 * 86400)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable; %d deliveries left for the due sweep: %s",
                    len(delivery_ids), exc)
        return 0
    return len(delivery_ids)


def _secret(platform: Platform) -> str:
    return platform_secret(platform, settings().secret_key)


@in_app_context
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Send these deliveries (those not already sent, claimed or waiting their turn)."""
    policy = delivery_policy()
    return deliver(db.session, delivery_ids, http_post(policy.timeout_s), _secret, policy)


@in_app_context
def deliver_due() -> dict[str, int]:
    """Send every delivery whose next attempt is due (retries, and what Redis lost)."""
    policy = delivery_policy()
    post = http_post(policy.timeout_s)
    totals = {"delivered": 0, "retry": 0, "dead": 0}
    while ids := due(db.session, limit=CHUNK):
        db.session.rollback()
        result = deliver(db.session, ids, post, _secret, policy)
        for key, n in result.items():
            totals[key] += n
        if not any(result.values()):
            break
    return totals


@in_app_context
def expire_actions() -> int:
    """Lift suspensions and mutes whose end has passed, and send the lifting deliveries."""
    from actions.enforcement import expire_due
    from workbench.models import EnforcementDelivery

    lifted = expire_due(db.session)
    ids = list(db.session.scalars(
        EnforcementDelivery.__table__.select().with_only_columns(EnforcementDelivery.id)
        .where(EnforcementDelivery.action_id.in_(lifted)))) if lifted else []
    db.session.commit()
    if ids:
        enqueue_deliveries(ids)
    return len(lifted)
