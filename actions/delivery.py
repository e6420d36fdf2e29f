"""Sending enforcement deliveries to platforms: signed, retried, in sequence order.

A delivery is *claimed* (leased for a while) in a short transaction before it is sent,
so two workers never send the same one at once; the HTTP calls then run in parallel
with no database session held, and the results are written in one transaction.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.orm import Session

from actions import signing
from workbench.enums import DeliveryState
from workbench.models import EnforcementDelivery, Platform, utcnow
from workbench.models.audit import record

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try. Defaults: 5 s per attempt, backoff to 10 min, give up after 24 h."""

    timeout_s: float = 5.0
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    retry_window: timedelta = timedelta(hours=24)
    #: How long a claimed delivery is reserved for the worker sending it.
    lease: timedelta = timedelta(seconds=30)
    parallel: int = 16


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def backoff(attempts: int, policy: DeliveryPolicy, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential, capped, with jitter (half to full)."""
    base = min(policy.max_backoff_s, policy.base_backoff_s * 2 ** max(0, attempts - 1))
    return float(base * (0.5 + (rng or random).random() / 2))


def claim(session: Session, delivery_ids: Iterable[int], policy: DeliveryPolicy,
          now: datetime | None = None) -> list[int]:
    """Lease the deliveries that are due and next in line for their person and platform.

    A delivery waits while an earlier one (lower sequence) to the same platform about
    the same person is still pending, so platforms see each person's actions in order.
    """
    now = now or utcnow()
    ids = list(delivery_ids)
    if not ids:
        return []
    pending = session.execute(
        select(EnforcementDelivery.id, EnforcementDelivery.platform_id,
               EnforcementDelivery.person_id, EnforcementDelivery.sequence)
        .where(EnforcementDelivery.id.in_(ids),
               EnforcementDelivery.state == DeliveryState.PENDING.value,
               EnforcementDelivery.next_attempt_at <= now)
    ).all()
    if not pending:
        return []
    pairs = {(p.platform_id, p.person_id) for p in pending}
    first = dict(
        ((platform_id, person_id), seq) for platform_id, person_id, seq in session.execute(
            select(EnforcementDelivery.platform_id, EnforcementDelivery.person_id,
                   func.min(EnforcementDelivery.sequence))
            .where(tuple_(EnforcementDelivery.platform_id, EnforcementDelivery.person_id)
                   .in_(list(pairs)),
                   EnforcementDelivery.state == DeliveryState.PENDING.value)
            .group_by(EnforcementDelivery.platform_id, EnforcementDelivery.person_id)
        ).all()
    )
    next_in_line = [p.id for p in pending if first[(p.platform_id, p.person_id)] == p.sequence]
    if not next_in_line:
        return []
    claimed = session.execute(
        update(EnforcementDelivery)
        .where(EnforcementDelivery.id.in_(next_in_line),
               EnforcementDelivery.state == DeliveryState.PENDING.value,
               EnforcementDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + policy.lease)
        .returning(EnforcementDelivery.id)
    ).scalars().all()
    session.commit()
    return list(claimed)


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str | None
    body: bytes
    headers: dict[str, str]


def prepare(session: Session, delivery_ids: list[int],
            secret_for: Callable[[Platform], str]) -> list[Outgoing]:
    """The signed requests for claimed deliveries."""
    rows = session.execute(
        select(EnforcementDelivery, Platform)
        .join(Platform, Platform.id == EnforcementDelivery.platform_id)
        .where(EnforcementDelivery.id.in_(delivery_ids))
    ).all()
    out = []
    for delivery, platform in rows:
        body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {**signing.signed_headers(platform.slug, secret_for(platform), body),
                   "Content-Type": "application/json",
                   IDEMPOTENCY_HEADER: delivery.idempotency_key}
        out.append(Outgoing(delivery.id, platform.webhook_url, body, headers))
    return out


Post = Callable[[Outgoing], Attempt]


def http_post(timeout_s: float) -> Post:
    """A sender over one keep-alive HTTP session."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=64)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    def post(out: Outgoing) -> Attempt:
        if not out.url:
            return Attempt(out.delivery_id, None, "the platform has no webhook URL")
        try:
            r = session.post(out.url, data=out.body, headers=out.headers, timeout=timeout_s)
        except requests.RequestException as exc:
            return Attempt(out.delivery_id, None, f"{type(exc).__name__}: {exc}"[:500])
        error = None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:200]}"
        return Attempt(out.delivery_id, r.status_code, error)

    return post


def send(outgoing: list[Outgoing], post: Post, parallel: int) -> list[Attempt]:
    """Send the requests in parallel (no database session is used here)."""
    if len(outgoing) <= 1:
        return [post(o) for o in outgoing]
    with ThreadPoolExecutor(min(parallel, len(outgoing))) as pool:
        return list(pool.map(post, outgoing))


def record_attempts(session: Session, attempts: list[Attempt], policy: DeliveryPolicy,
                    now: datetime | None = None) -> dict[str, int]:
    """Write the results: delivered, retried later with backoff, or dead after the window."""
    now = now or utcnow()
    counts = {"delivered": 0, "retry": 0, "dead": 0}
    deliveries = {d.id: d for d in session.scalars(
        select(EnforcementDelivery).where(
            EnforcementDelivery.id.in_([a.delivery_id for a in attempts])))}
    for attempt in attempts:
        d = deliveries[attempt.delivery_id]
        if d.state != DeliveryState.PENDING.value:
            continue
        d.attempts += 1
        d.last_status_code = attempt.status
        if attempt.ok:
            d.state = DeliveryState.DELIVERED.value
            d.delivered_at = now
            d.last_error = None
            counts["delivered"] += 1
        elif now - d.created_at >= policy.retry_window:
            d.state = DeliveryState.DEAD.value
            d.last_error = attempt.error
            counts["dead"] += 1
            record(session, "delivery.dead_lettered", "enforcement_delivery", d.id,
                   data={"platform_id": d.platform_id, "attempts": d.attempts,
                         "error": attempt.error})
        else:
            d.last_error = attempt.error
            d.next_attempt_at = now + timedelta(seconds=backoff(d.attempts, policy))
            counts["retry"] += 1
    session.commit()
    return counts


def deliver(session: Session, delivery_ids: list[int], post: Post,
            secret_for: Callable[[Platform], str], policy: DeliveryPolicy) -> dict[str, int]:
    """Claim, send and record; repeats while earlier deliveries free later ones."""
    totals = {"delivered": 0, "retry": 0, "dead": 0}
    remaining = list(delivery_ids)
    while remaining:
        claimed = claim(session, remaining, policy)
        if not claimed:
            break
        attempts = send(prepare(session, claimed, secret_for), post, policy.parallel)
        for key, n in record_attempts(session, attempts, policy).items():
            totals[key] += n
        delivered = {a.delivery_id for a in attempts if a.ok}
        remaining = [i for i in remaining if i not in set(claimed)]
        if not delivered:
            break
    return totals


def due(session: Session, limit: int = 1000, now: datetime | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first."""
    now = now or utcnow()
    return list(session.scalars(
        select(EnforcementDelivery.id)
        .where(and_(EnforcementDelivery.state == DeliveryState.PENDING.value,
                    EnforcementDelivery.next_attempt_at <= now))
        .order_by(EnforcementDelivery.next_attempt_at, EnforcementDelivery.id)
        .limit(limit)))


def retry_dead(session: Session, delivery_id: int, moderator_id: int | None) -> None:
    """Try a dead-lettered delivery once more now (the console's retry button).

    Its retry window has passed, so if this attempt fails it is dead-lettered again.
    """
    d = session.get_one(EnforcementDelivery, delivery_id)
    if d.state != DeliveryState.DEAD.value:
        raise ValueError(f"delivery {delivery_id} is {d.state}, not dead")
    d.state = DeliveryState.PENDING.value
    d.next_attempt_at = utcnow()
    record(session, "delivery.retried", "enforcement_delivery", d.id,
           actor_type="moderator" if moderator_id else "system",
           actor_id=str(moderator_id) if moderator_id else None)
