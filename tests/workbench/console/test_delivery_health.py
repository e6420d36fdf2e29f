"""Failing deliveries in plain sight: one waiting delivery sent now, and a webhook URL an
administrator can correct (the banner: ``test_failing_deliveries.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from actions.enforcement import ActionRequest, apply_action
from tests.support.console_forms import post_form
from tests.support.console_world import World
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import AuditEvent, EnforcementDelivery, Platform, utcnow

Signed = Callable[[str], FlaskClient]


def _ban_failing_on_web(app: Flask, world: World) -> list[int]:
    """A suspension whose delivery to the web platform failed twice and waits an hour."""
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=ActionType.SUSPEND, person_id=world.person_id, policy_reason="harassment",
            decided_by_id=world.staff["senior"], duration=timedelta(days=1)))
        db.session.flush()
        d = EnforcementDelivery
        db.session.execute(update(d).where(d.action_id == action.id,
                                           d.platform_id == world.platform_ids["web"])
                           .values(attempts=2, last_error="refused",
                                   next_attempt_at=utcnow() + timedelta(hours=1)))
        db.session.commit()
        return list(db.session.scalars(select(d.id).where(
            d.action_id == action.id, d.platform_id == world.platform_ids["web"])))


def test_a_waiting_delivery_can_be_sent_now(app: Flask, world: World,
                                            signed_in: Signed) -> None:
    [delivery_id] = _ban_failing_on_web(app, world)
    senior = signed_in("senior")
    page = senior.get("/admin/deliveries/?state=pending").get_data(as_text=True)
    assert "Send now" in page
    response = post_form(senior, f"/admin/deliveries/{delivery_id}/retry",
                         page="/admin/deliveries/?state=pending")
    assert response.status_code == 302
    with app.app_context():
        delivery = db.session.get_one(EnforcementDelivery, delivery_id)
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at <= utcnow() + timedelta(seconds=1)
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.verb == "delivery.retried",
            AuditEvent.object_id == str(delivery_id))) is not None


def test_an_administrator_corrects_a_webhook_url_and_a_bad_one_is_refused(
        app: Flask, world: World, signed_in: Signed) -> None:
    admin = signed_in("admin")
    web = world.platform_ids["web"]
    new_url = world.servers["web"].url.rstrip("/") + "/v2"
    post_form(admin, f"/admin/platforms/{web}/webhook", {"webhook_url": new_url},
              page="/admin/platforms/")
    refused = post_form(admin, f"/admin/platforms/{web}/webhook",
                        {"webhook_url": "https://user:secret@example.org/hook"},
                        page="/admin/platforms/")
    assert refused.status_code == 302
    assert "must not hold a user name or password" in admin.get("/admin/platforms/").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get_one(Platform, web).webhook_url == new_url
        changes = db.session.scalars(select(AuditEvent.data).where(
            AuditEvent.verb == "platform.webhook_changed")).all()
    assert [c["to"] for c in changes] == [new_url]


def test_an_administrator_lets_a_platform_take_deliveries_in_batches(
        app: Flask, world: World, signed_in: Signed) -> None:
    admin = signed_in("admin")
    web = world.platform_ids["web"]
    url = world.servers["web"].url
    page = admin.get("/admin/platforms/").get_data(as_text=True)
    assert f'id="batch-{web}"' in page and 'value="1"' in page
    for bad, says in (("0", "use 1 (one a request) to 500"), ("501", "use 1"),
                      ("ten", "is not a whole number")):
        post_form(admin, f"/admin/platforms/{web}/webhook",
                  {"webhook_url": url, "webhook_batch": bad}, page="/admin/platforms/")
        assert says in admin.get("/admin/platforms/").get_data(as_text=True)
    post_form(admin, f"/admin/platforms/{web}/webhook",
              {"webhook_url": url, "webhook_batch": "100"}, page="/admin/platforms/")
    assert "up to 100 deliveries a request" in admin.get("/admin/platforms/").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get_one(Platform, web).webhook_batch == 100
        changes = db.session.scalars(select(AuditEvent.data).where(
            AuditEvent.verb == "platform.webhook_batch_changed")).all()
        # The URL was sent unchanged: no change of it is recorded.
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.verb == "platform.webhook_changed")) is None
    assert changes == [{"from": 1, "to": 100}]
