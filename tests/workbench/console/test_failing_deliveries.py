"""Failures in plain sight: a banner on console pages while a platform's deliveries fail,
and a senior sends the waiting deliveries again at once when the platform is back."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import AuditEvent, EnforcementDelivery


def _states(app: Flask, platform_id: int) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(EnforcementDelivery.state).where(
            EnforcementDelivery.platform_id == platform_id)))


def test_a_failing_platform_shows_on_every_page_and_a_senior_retries_it_now(
        app: Flask, world: World, signed_in) -> None:
    moderator = signed_in("moderator")
    assert 'id="failing-banner"' not in moderator.get("/admin/queue/").get_data(as_text=True)
    world.servers["calls"].stop()  # the platform is down
    post_form(moderator, f"/admin/case/{world.case_id}/claim")
    post_form(moderator, f"/admin/case/{world.case_id}/act",
              {"decision": "mute", "policy_reason": "harassment"})
    run_jobs(app)
    calls = world.platform_ids["calls"]
    assert _states(app, calls) == ["pending", "pending"]  # the mute and the outcome notice
    for path in ("/admin/queue/", f"/admin/case/{world.case_id}"):
        page = moderator.get(path).get_data(as_text=True)
        banner = page[page.index('id="failing-banner"'):page.index("</div>",
                                                                   page.index("failing-banner"))]
        assert "Deliveries to calls are failing:" in banner and "2 deliveries failing" in banner
        assert "last error <code>refused</code>" in banner  # the class, never the words
        assert "web" not in banner  # the platform that works is not named
        assert "Retry now" not in banner  # a moderator cannot resend
    senior = signed_in("senior")
    page = senior.get("/admin/queue/").get_data(as_text=True)
    assert f"/admin/deliveries/platform/{calls}/retry-now" in page
    world.servers["calls"].start()  # the platform is back
    response = post_form(senior, f"/admin/deliveries/platform/{calls}/retry-now",
                         {"back": "/admin/queue/"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/queue/"
    run_jobs(app)
    assert _states(app, calls) == ["delivered", "delivered"]
    assert world.servers["calls"].state == {"c-100": "muted", "c-101": "muted"}
    assert 'id="failing-banner"' not in senior.get("/admin/queue/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.verb == "delivery.retried_now")).one()


def test_retry_now_is_for_seniors_and_goes_back_only_to_the_console(
        app: Flask, world: World, signed_in) -> None:
    calls = world.platform_ids["calls"]
    refused = post_form(signed_in("moderator"), f"/admin/deliveries/platform/{calls}/retry-now")
    assert refused.status_code == 403
    senior = signed_in("senior")
    away = post_form(senior, f"/admin/deliveries/platform/{calls}/retry-now",
                     {"back": "//evil.example/admin/"})
    assert away.headers["Location"] == "/admin/deliveries/"
    assert post_form(senior, "/admin/deliveries/platform/999999/retry-now").status_code == 404
