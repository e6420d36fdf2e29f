"""A platform that asked for it is sent several deliveries in one request (``event:
actions``): fewer requests in a burst, each delivery still applied once and in order, and
one the platform refuses never holds the others back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update

from actions.delivery import Claimed, DeliveryPolicy, HttpSender, deliver, prepare, record_finished
from tests.actions.test_delivery_batches import _decide, _people, _reverse, _secret, _sequences
from tests.support.enforcement import act, drain, states, time_passes
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Platform, utcnow
from workbench.rules.webhooks import WebhookPolicy

#: The test platforms listen on 127.0.0.1 over plain HTTP.
LOCAL = WebhookPolicy(allow_http=True, allow_private=True)

GOLDEN = Path(__file__).parent / "golden"


def _together(app: Flask, slug: str, batch: int) -> int:
    """Let ``slug`` take up to ``batch`` deliveries a request; its platform id."""
    with app.app_context():
        platform = db.session.scalars(select(Platform).where(Platform.slug == slug)).one()
        platform.webhook_batch = batch
        db.session.commit()
        return platform.id


def _web_rows(app: Flask, web_id: int) -> list[tuple[object, ...]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(EnforcementDelivery.state, EnforcementDelivery.last_status_code,
                   EnforcementDelivery.last_error)
            .where(EnforcementDelivery.platform_id == web_id)
            .order_by(EnforcementDelivery.id))]


def test_a_burst_reaches_a_platform_that_takes_batches_in_few_requests(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    _together(app, "web", 50)
    people = _people(app, servers, 120)
    for p in people:
        _decide(app, p, ActionType.BAN)
    drain(app)
    assert states(app) == {"delivered": 120 * 3}
    web, calls = servers["web"], servers["calls"]
    # A claim leases 200 deliveries across the three platforms: about 67 to web, sent
    # as a request of 50 and one of the rest.
    assert 3 <= web.requests <= 8, web.requests
    assert calls.requests == 120  # one a request, as it did not ask for more
    for server in servers.values():
        assert server.bad_signatures == 0
        assert server.effects() == 120 and sum(server.keys.values()) == 120
        assert set(server.state.values()) == {"banned"} and len(server.state) == 120


def test_a_batch_the_platform_refuses_is_retried_one_by_one(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    web_id = _together(app, "web", 50)
    people = _people(app, servers, 5)
    for p in people:
        _decide(app, p, ActionType.BAN)
    web = servers["web"]
    web.refuse_users = {"p2-web"}  # a payload this platform cannot take
    drain(app)
    assert web.requests == 1 and web.effects() == 0  # all or nothing
    assert _web_rows(app, web_id) == [("pending", 422, "4xx")] * 5
    time_passes(app)
    drain(app)
    # Each went alone: the four it can take are applied, the fifth is refused again.
    assert web.requests == 1 + 5
    assert sorted(web.state) == ["p0-web", "p1-web", "p3-web", "p4-web"]
    assert sorted(_web_rows(app, web_id)) == [("delivered", 200, None)] * 4 + [
        ("pending", 422, "4xx")]
    web.refuse_users = set()
    time_passes(app)
    drain(app)
    assert states(app) == {"delivered": 5 * 3}
    assert web.effects() == 5 and web.state["p2-web"] == "banned"


def test_deliveries_that_got_no_answer_go_together_again(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    web_id = _together(app, "web", 50)
    people = _people(app, servers, 5)
    web = servers["web"]
    web.stop()  # the platform is down: no answer at all
    for p in people:
        _decide(app, p, ActionType.BAN)
    drain(app)
    assert _web_rows(app, web_id) == [("pending", None, "refused")] * 5
    web.start()
    time_passes(app)
    drain(app)
    assert web.requests == 1 and web.effects() == 5
    assert states(app) == {"delivered": 5 * 3}


def test_a_ban_and_its_reversal_reach_a_batching_platform_in_order(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    _together(app, "web", 50)
    people = _people(app, servers, 6)
    for p in people:
        _reverse(app, _decide(app, p, ActionType.BAN))
    drain(app)
    web = servers["web"]
    assert states(app) == {"delivered": 6 * 2 * 3}
    # Each person's unban waited for their ban: two rounds of one batch, not 12 requests.
    assert web.requests == 2
    assert _sequences(web) == {f"p{i}-web": [1, 2] for i in range(6)}
    assert set(web.state.values()) == {"active"}


def test_the_batch_body_matches_the_golden_file(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    _together(app, "web", 50)
    act(app, person, ActionType.SUSPEND, duration=timedelta(days=7))
    drain(app)
    body = json.loads(servers["web"].bodies[0])
    for delivery in body["deliveries"]:
        assert delivery["until"].endswith("+00:00")
        assert len(delivery.pop("idempotency_key")) >= 16
        delivery.update(until="<7 days from now>", delivery_id="<id>", action_id="<id>",
                        statement_url=delivery["statement_url"].rsplit("/", 1)[0] + "/<id>")
    assert body == json.loads((GOLDEN / "suspend_batch.json").read_text())
    # The same delivery's body, alone, is what the single form sends.
    assert body["deliveries"][0] == json.loads((GOLDEN / "suspend_payload.json").read_text())


def test_a_batch_is_cut_at_the_platforms_size_and_keys_each_delivery(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    web_id = _together(app, "web", 2)
    now = utcnow()
    claimed = [Claimed(i, web_id, {"event": "action", "delivery_id": i}, f"key-{i}", 0, now)
               for i in range(1, 6)]
    with app.app_context():
        out = prepare(db.session, claimed, _secret)
    assert [o.delivery_ids for o in out] == [(1, 2), (3, 4), (5,)]
    first = json.loads(out[0].body)
    assert [d["idempotency_key"] for d in first["deliveries"]] == ["key-1", "key-2"]
    # The request's own key is the batch's: the same deliveries, the same key.
    with app.app_context():
        again = prepare(db.session, claimed, _secret)
    assert out[0].headers["Idempotency-Key"] == again[0].headers["Idempotency-Key"]
    assert out[0].headers["Idempotency-Key"] != out[1].headers["Idempotency-Key"]
    # One refused last time goes alone, still in the batch form the platform reads.
    refused = [claimed[0], Claimed(9, web_id, {"delivery_id": 9}, "key-9", 1, now, 500),
               claimed[1]]
    with app.app_context():
        split = prepare(db.session, refused, _secret)
    assert sorted(o.delivery_ids for o in split) == [(1, 2), (9,)]
    assert all(json.loads(o.body)["event"] == "actions" for o in split)


def test_a_platform_left_at_one_a_request_is_sent_the_single_form(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    with app.app_context():
        db.session.execute(update(Platform).values(webhook_batch=1))
        db.session.commit()
        assert set(db.session.scalars(select(Platform.webhook_batch))) == {1}
    act(app, person, ActionType.BAN)
    drain(app)
    for server in servers.values():
        assert [json.loads(b)["event"] for b in server.bodies] == ["action"]


def test_a_slow_platforms_batch_is_handed_off_and_recorded_when_it_answers(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    _together(app, "web", 50)
    for p in _people(app, servers, 5):
        _decide(app, p, ActionType.BAN)
    servers["web"].delay_s = 1.0  # longer than the batch waits
    policy = DeliveryPolicy(patience_s=0.1)
    sender = HttpSender(10.0, 4, LOCAL)
    try:
        with app.app_context():
            sent = deliver(db.session, sender, _secret, policy)
            # The others answered at once; web's one request is still open, leased.
            assert sent["delivered"] == 5 * 2 and sender.handed_off() == 1
            recorded = record_finished(db.session, sender, policy, wait_s=30)
            db.session.remove()
    finally:
        sender.close()
    assert recorded["delivered"] == 5
    assert states(app) == {"delivered": 5 * 3}
    assert servers["web"].requests == 1 and servers["web"].effects() == 5
