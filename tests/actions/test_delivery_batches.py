"""Deliveries go out in batches: claimed together, still in order, never sent twice at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import select, text, update

from actions.delivery import (
    _INDEX_ORDER,
    DeliveryPolicy,
    HttpSender,
    _candidates,
    claim,
    deliver,
)
from actions.enforcement import ActionRequest, apply_action, reverse_action
from queues.enforce import enqueue_deliveries
from queues.names import QueueName
from tests.support.app import TEST_SECRET_KEY
from tests.support.enforcement import act, drain, staff_id, states, time_passes
from tests.support.jobs import run_jobs
from tests.support.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.current import redis_connection
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, EnforcementDelivery, Platform, utcnow
from workbench.platforms import platform_secret
from workbench.rules.webhooks import WebhookPolicy

#: The test platforms listen on 127.0.0.1 over plain HTTP.
LOCAL = WebhookPolicy(allow_http=True, allow_private=True)


def _people(app: Flask, servers: dict[str, PlatformServer], n: int) -> list[int]:
    """``n`` more people, each with an account on every platform (``p<i>-<slug>``)."""
    with app.app_context():
        for slug in servers:
            platform_id = db.session.scalars(select(Platform.id).where(Platform.slug == slug)).one()
            upsert_accounts(db.session, platform_id, [
                AccountIn(id=f"p{i}-{slug}", username=f"p{i}", phone_hash=f"{i + 1:064x}")
                for i in range(n)])
        db.session.commit()
        return [db.session.scalars(select(Account.person_id)
                                   .where(Account.platform_user_id == f"p{i}-calls")).one()
                for i in range(n)]


def _decide(app: Flask, person_id: int, kind: ActionType) -> int:
    """An action written but never queued, as if Redis had lost its job."""
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=kind, person_id=person_id, policy_reason="spam_scam",
            decided_by_id=staff_id("senior@example.org")))
        db.session.commit()
        return action.id


def _reverse(app: Flask, action_id: int) -> None:
    with app.app_context():
        reverse_action(db.session, action_id, policy_reason="appeal upheld",
                       decided_by_id=staff_id("senior@example.org"))
        db.session.commit()


def _sequences(server: PlatformServer) -> dict[str, list[int]]:
    """The sequences each user's deliveries arrived with, in order of first arrival."""
    out: dict[str, list[int]] = {}
    for payload in server.received:
        for user in payload.get("user_ids", []):
            seen = out.setdefault(user, [])
            if payload["sequence"] not in seen:
                seen.append(payload["sequence"])
    return out


def _secret(platform: Platform) -> str:
    return platform_secret(platform, TEST_SECRET_KEY)


def test_one_send_job_also_sends_what_else_is_due_in_each_persons_order(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    others = _people(app, servers, 3)
    for other in others:  # a ban then its lifting, both left unqueued
        _reverse(app, _decide(app, other, ActionType.BAN))
    act(app, person, ActionType.BAN)  # the one queued job
    with app.app_context():
        assert Queue(QueueName.ENFORCE.value, connection=redis_connection()).count == 1
    run_jobs(app)
    assert states(app) == {"delivered": 3 + 3 * 3 * 2}
    for slug, server in servers.items():
        assert server.effects() == 7 and sum(server.keys.values()) == 7
        assert _sequences(server) == {f"{slug}-user": [1],
                                      **{f"p{i}-{slug}": [1, 2] for i in range(3)}}
        assert server.state == {f"{slug}-user": "banned",
                                **{f"p{i}-{slug}": "active" for i in range(3)}}


def test_deliveries_waiting_behind_a_failing_one_do_not_hold_up_the_rest(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    # Batches of two, and more blocked deliveries than a batch: the blocked ones are
    # the oldest due, yet the newest, free ones still go out. (A long backoff keeps the
    # failed ones from coming due again while the test runs.)
    policy = DeliveryPolicy(batch=2, timeout_s=2, base_backoff_s=600)
    sender = HttpSender(policy.timeout_s, policy.parallel, LOCAL)
    waiting = _people(app, servers, 3)
    servers["web"].stop()
    for p in waiting:
        _decide(app, p, ActionType.MUTE)
        _decide(app, p, ActionType.BAN)
    with app.app_context():
        deliver(db.session, sender, _secret, policy)  # web's first ones fail: retry later
    servers["web"].start()
    _decide(app, person, ActionType.BAN)
    with app.app_context():
        result = deliver(db.session, sender, _secret, policy)
    assert result == {"delivered": 3, "retry": 0, "dead": 0}
    assert [p["sequence"] for p in servers["web"].received] == [1]
    assert servers["web"].state == {"web-user": "banned"}
    time_passes(app)  # the failed ones are due again, then the ones behind them
    with app.app_context():
        deliver(db.session, sender, _secret, policy)
    assert states(app) == {"delivered": 3 + 3 * 3 * 2}
    assert _sequences(servers["web"]) == {"web-user": [1],
                                          **{f"p{i}-web": [1, 2] for i in range(3)}}
    sender.close()


def test_a_worker_takes_one_batch_at_a_time_oldest_first_and_leaves_the_rest(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    for p in _people(app, servers, 4):
        _decide(app, p, ActionType.BAN)
    policy = DeliveryPolicy(batch=5)
    with app.app_context():
        first = claim(db.session, policy)
        second = claim(db.session, policy)
        rest = claim(db.session, policy, limit=100)
        ids = list(db.session.scalars(select(EnforcementDelivery.id)
                                      .order_by(EnforcementDelivery.id)))
    assert [c.id for c in first] == ids[:5]
    assert [c.id for c in second] == ids[5:10]
    assert [c.id for c in rest] == ids[10:]
    with app.app_context():
        assert claim(db.session, policy) == []  # all leased now


def test_two_workers_draining_at_once_send_each_delivery_once_and_in_order(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    people = _people(app, servers, 12)
    for p in people:
        _reverse(app, _decide(app, p, ActionType.BAN))
    for server in servers.values():
        server.delay_s = 0.02  # slow enough for the two workers' batches to overlap
    results: list[dict[str, int]] = []

    def worker() -> None:
        sender = HttpSender(5.0, 4, LOCAL)
        with app.app_context():
            results.append(deliver(db.session, sender, _secret, DeliveryPolicy(batch=5)))
            db.session.remove()
        sender.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(r["delivered"] for r in results) == 12 * 3 * 2
    assert all(r["delivered"] for r in results), "both workers took part"
    assert states(app) == {"delivered": 12 * 3 * 2}
    for slug, server in servers.items():
        assert sum(server.keys.values()) == server.effects() == 24  # none sent twice
        assert _sequences(server) == {f"p{i}-{slug}": [1, 2] for i in range(12)}
        assert set(server.state.values()) == {"active"}


def test_a_platform_stopped_between_deliveries_is_not_reached_and_gets_them_once_back(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    ban = act(app, person, ActionType.BAN)
    drain(app)  # the sender now holds open connections to each platform
    servers["web"].stop()
    _reverse(app, ban)
    with app.app_context():
        enqueue_deliveries(list(db.session.scalars(
            select(EnforcementDelivery.id).where(EnforcementDelivery.state == "pending"))))
    drain(app)
    assert states(app) == {"delivered": 5, "pending": 1}
    assert [p["type"] for p in servers["web"].received] == ["ban"]
    servers["web"].start()
    time_passes(app)
    drain(app)
    assert states(app) == {"delivered": 6}
    assert [p["type"] for p in servers["web"].received] == ["ban", "unban"]
    assert servers["web"].state == {"web-user": "active"}
    with app.app_context():
        unban_to_web = db.session.scalars(
            select(EnforcementDelivery).join(Platform)
            .where(Platform.slug == "web", EnforcementDelivery.sequence == 2)).one()
        assert unban_to_web.attempts == 2 and unban_to_web.last_status_code == 200


def test_a_claim_leaving_out_a_slow_platform_does_not_read_its_waiting_deliveries(
        app: Flask, servers: dict[str, PlatformServer], person: int,
        database_url: str) -> None:
    # A platform whose lane is full is left out of claims, and its due deliveries are the
    # oldest (none of them is taken): a claim must not walk past them to find the others.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks; its claim reads the due index whole")
    for p in _people(app, servers, 300):
        _decide(app, p, ActionType.BAN)
    with app.app_context():
        web = db.session.scalars(select(Platform.id).where(Platform.slug == "web")).one()
        db.session.execute(update(EnforcementDelivery)
                           .where(EnforcementDelivery.platform_id == web)
                           .values(next_attempt_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        # This connection's counters not yet in the statistics (they may hold its last
        # transactions' too, so the claim's are the difference): rows fetched by index.
        fetched = text("SELECT idx_tup_fetch FROM pg_stat_xact_user_tables "
                       "WHERE relname = 'enforcement_delivery'")
        db.session.execute(_INDEX_ORDER)  # as a claim's transaction begins
        before = db.session.scalar(fetched) or 0
        chosen = db.session.scalars(_candidates(False, True, True), {
            "now": utcnow(), "limit": 50, "skip": [web]}).all()
        read = (db.session.scalar(fetched) or 0) - before
        platforms = set(db.session.scalars(select(EnforcementDelivery.platform_id)
                                           .where(EnforcementDelivery.id.in_(chosen))))
        db.session.rollback()
    assert len(chosen) == 50 and web not in platforms
    assert read < 300, read  # 50 from each platform asked, not the 300 of web first
