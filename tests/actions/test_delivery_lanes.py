"""A platform that answers slowly does not hold up deliveries to the others.

The slow platform is a real HTTP server on 127.0.0.1 that holds every request open until
the test lets it answer, so "the others were delivered first" is a fact about order, not
a race against a clock: while it holds them, nothing about its deliveries can have been
recorded, and the other platforms' deliveries must already be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from actions.delivery import DeliveryPolicy, HttpSender, deliver, record_finished
from actions.enforcement import ActionRequest, apply_action
from tests.actions.test_delivery_batches import _people, _secret
from tests.actions.test_delivery_worker import _kill
from tests.support.app import TEST_SECRET_KEY
from tests.support.enforcement import act, staff_id, states
from tests.support.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Platform
from workbench.platforms import register_platform
from workbench.rules.webhooks import WebhookPolicy

LOCAL = WebhookPolicy(allow_http=True, allow_private=True)
#: Far longer than any test waits: a request to the held platform never times out here.
TIMEOUT_S = 120


class HeldPlatform(PlatformServer):
    """A platform that answers nothing until ``release()``, then everything as usual."""

    def __init__(self, slug: str, secret: str) -> None:
        super().__init__(slug, secret)
        self.gate = threading.Event()
        self.held = 0

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.held += 1
        self.gate.wait(timeout=TIMEOUT_S)
        with self.lock:
            self.held -= 1
        return super().handle(headers, body)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def held(app: Flask, servers: dict[str, PlatformServer], person: int) -> Iterator[HeldPlatform]:
    """A fourth platform that holds its requests, where ``person`` and ``p<i>`` have
    accounts too (the same phones link them)."""
    server = HeldPlatform("held", "secret-held-0123456789")
    server.start()
    with app.app_context():
        register_platform(db.session, TEST_SECRET_KEY, "held", secret=server.secret,
                          webhook_url=server.url)
        platform_id = db.session.scalars(select(Platform.id).where(Platform.slug == "held")).one()
        upsert_accounts(db.session, platform_id, [
            AccountIn(id="held-user", username="held user", phone_hash="f" * 64),
            *[AccountIn(id=f"p{i}-held", username=f"p{i}", phone_hash=f"{i + 1:064x}")
              for i in range(3)]])
        db.session.commit()
    yield server
    server.release()
    server.stop()


def _by_platform(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Each platform's deliveries: state, attempts and last status."""
    with app.app_context():
        rows = db.session.execute(
            select(Platform.slug, EnforcementDelivery.state, EnforcementDelivery.attempts,
                   EnforcementDelivery.last_status_code, EnforcementDelivery.last_error)
            .join(Platform, Platform.id == EnforcementDelivery.platform_id)
            .order_by(EnforcementDelivery.id)).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for slug, state, attempts, status, error in rows:
        out.setdefault(slug, []).append(
            {"state": state, "attempts": attempts, "status": status, "error": error})
    return out


def _wait_until(condition, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_send_returns_with_the_others_delivered_while_a_slow_platform_still_holds_its_request(
    app: Flask, servers: dict[str, PlatformServer], person: int, held: HeldPlatform
) -> None:
    with app.app_context():
        apply_action(db.session, ActionRequest(
            type=ActionType.BAN, person_id=person, policy_reason="harassment",
            decided_by_id=staff_id("senior@example.org")))
        db.session.commit()
    policy = DeliveryPolicy(timeout_s=TIMEOUT_S, patience_s=0.5)
    sender = HttpSender(policy.timeout_s, policy.parallel, LOCAL)
    try:
        with app.app_context():
            result = deliver(db.session, sender, _secret, policy)
        # deliver() came back while the held platform still has the request open.
        assert held.held == 1 and not held.gate.is_set()
        assert result == {"delivered": 3, "retry": 0, "dead": 0}
        rows = _by_platform(app)
        for slug in servers:
            assert rows[slug] == [{"state": "delivered", "attempts": 1, "status": 200,
                                   "error": None}]
            assert servers[slug].state == {f"{slug}-user": "banned"}
        # Not given up on, not timed out: still leased, no attempt recorded yet.
        assert rows["held"] == [{"state": "pending", "attempts": 0, "status": None,
                                 "error": None}]
        held.release()
        with app.app_context():
            recorded = record_finished(db.session, sender, policy, wait_s=60)
        assert recorded == {"delivered": 1, "retry": 0, "dead": 0}
        # The answer to the request that was held, not a second request.
        assert _by_platform(app)["held"] == [{"state": "delivered", "attempts": 1,
                                              "status": 200, "error": None}]
        assert sum(held.keys.values()) == 1 and held.state == {"held-user": "banned"}
    finally:
        sender.close()


@pytest.mark.slow
def test_a_worker_delivers_every_ban_to_the_others_while_a_slow_platform_holds_them_all(
    app: Flask, servers: dict[str, PlatformServer], person: int, held: HeldPlatform
) -> None:
    s = app.extensions["workbench.settings"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "workbench", "worker", "--queues", "enforce"],
        env=dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url,
                 WORKBENCH_REDIS_URL=s.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
                 WORKBENCH_INSTANCE_DIR=str(s.instance_dir),
                 WORKBENCH_DELIVERY_TIMEOUT_S=str(TIMEOUT_S),
                 WORKBENCH_ALLOW_HTTP_WEBHOOKS="true", WORKBENCH_ALLOW_PRIVATE_WEBHOOKS="true"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # One worker, one job per ban, bans one after another: each job must be done
        # with its ban (bar the held platform) before the next one can start.
        people = [person, *_people(app, servers, 3)]
        for p in people:
            act(app, p, ActionType.BAN)

        def others_delivered() -> bool:
            rows = _by_platform(app)
            return all(r["state"] == "delivered" for slug in servers for r in rows[slug])

        _wait_until(others_delivered, "the answering platforms' deliveries were not sent")
        rows = _by_platform(app)
        assert sum(len(rows[slug]) for slug in servers) == 3 * len(people)
        # Every one of the held platform's requests is still open: none answered, none
        # timed out, none recorded; the other platforms did not wait for them.
        assert not held.gate.is_set()
        _wait_until(lambda: held.held == len(people), "the held platform got fewer requests")
        assert rows["held"] == [{"state": "pending", "attempts": 0, "status": None,
                                 "error": None}] * len(people)
        held.release()
        _wait_until(lambda: states(app) == {"delivered": 4 * len(people)},
                    "the held platform's answers were not recorded")
        assert all(r["attempts"] == 1 and r["status"] == 200
                   for r in _by_platform(app)["held"])
        assert sum(held.keys.values()) == len(people)  # each sent once, answered once
        assert set(held.state.values()) == {"banned"}
    finally:
        _kill(worker)
