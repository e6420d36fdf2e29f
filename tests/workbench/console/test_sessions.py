"""Sessions end when they should: sign-out, a new password, a new role, an administrator;
and a session cookie works only in the browser that signed in."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.console_forms import csrf_token, post_form, sign_in
from tests.support.console_world import PASSWORD, STAFF, World
from workbench.extensions import db
from workbench.models import AuditEvent, Moderator

COOKIE = "workbench_session"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
NEW_PASSWORD = "lantern-orchard-quietly-9"


def _browser(app: Flask, agent: str = FIREFOX, address: str = "127.0.0.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    return client


def _signed_in(app: Flask, who: str, agent: str = FIREFOX) -> FlaskClient:
    client = _browser(app, agent)
    assert sign_in(client, STAFF[who]).status_code == 302
    assert client.get("/admin/queue/" if who != "admin" else "/admin/staff/").status_code == 200
    return client


def _copy(app: Flask, client: FlaskClient, agent: str = FIREFOX) -> FlaskClient:
    """Another client holding the same session cookie (a stolen or copied cookie)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = _browser(app, agent)
    thief.set_cookie(COOKIE, cookie.value, domain=cookie.domain or "localhost")
    return thief


def _is_signed_out(client: FlaskClient) -> bool:
    response = client.get("/admin/queue/")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app: Flask,
                                                               world: World) -> None:
    owner = _signed_in(app, "moderator")
    thief = _copy(app, owner)
    assert thief.get("/admin/queue/").status_code == 200  # the copy works, as a cookie does
    response = owner.post("/logout", data={"csrf_token": csrf_token(owner, "/admin/queue/")})
    assert response.status_code == 302
    assert _is_signed_out(thief)
    assert _is_signed_out(owner)


def test_signing_out_ends_the_users_other_sessions_too(app: Flask, world: World) -> None:
    laptop = _signed_in(app, "moderator")
    phone = _signed_in(app, "moderator", agent="Mozilla/5.0 (Android 14) Mobile Safari")
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/admin/queue/")})
    assert _is_signed_out(laptop)
    # Signing in again works, and another user was never affected.
    assert sign_in(laptop, STAFF["moderator"]).status_code == 302
    assert laptop.get("/admin/queue/").status_code == 200


def test_a_copied_cookie_stops_working_after_a_password_change(app: Flask,
                                                               world: World) -> None:
    owner = _signed_in(app, "moderator")
    thief = _copy(app, owner)
    response = post_form(owner, "/admin/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "repeat_password": NEW_PASSWORD}, page="/admin/account/")
    assert response.status_code == 302
    assert owner.get("/admin/queue/").status_code == 200  # the owner stays signed in
    assert _is_signed_out(thief)
    with app.app_context():
        verbs = db.session.scalars(select(AuditEvent.verb)).all()
    assert "moderator.password_changed" in verbs
    assert sign_in(_browser(app), STAFF["moderator"], NEW_PASSWORD).status_code == 302


def test_a_role_change_ends_the_users_sessions(app: Flask, world: World) -> None:
    moderator = _signed_in(app, "moderator")
    admin = _signed_in(app, "admin")
    user_id = world.staff["moderator"]
    response = post_form(admin, f"/admin/staff/{user_id}/update", {"role": "senior"},
                         page="/admin/staff/")
    assert response.status_code == 302
    assert _is_signed_out(moderator)


def test_an_administrator_can_end_a_users_sessions_and_it_is_audited(
        app: Flask, world: World) -> None:
    moderator = _signed_in(app, "moderator")
    senior = _signed_in(app, "senior")
    admin = _signed_in(app, "admin")
    user_id = world.staff["moderator"]
    page = admin.get("/admin/staff/").get_data(as_text=True)
    assert f"/admin/staff/{user_id}/end-sessions" in page
    response = post_form(admin, f"/admin/staff/{user_id}/end-sessions", page="/admin/staff/")
    assert response.status_code == 302
    assert _is_signed_out(moderator)
    assert senior.get("/admin/queue/").status_code == 200
    assert admin.get("/admin/staff/").status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "moderator.sessions_ended")).one()
    assert event.object_id == str(user_id) and event.actor_id == str(world.staff["admin"])


def test_only_an_administrator_may_end_sessions(app: Flask, world: World) -> None:
    senior = _signed_in(app, "senior")
    user_id = world.staff["moderator"]
    response = post_form(senior, f"/admin/staff/{user_id}/end-sessions")
    assert response.status_code == 403
    with app.app_context():
        epoch = db.session.get_one(Moderator, user_id).session_epoch
    assert epoch == 0


def test_a_cookie_sent_from_another_browser_is_refused(app: Flask, world: World) -> None:
    owner = _signed_in(app, "moderator")
    thief = _copy(app, owner, agent="curl/8.5.0")
    assert _is_signed_out(thief)
    # The owner's own browser is unaffected.
    assert owner.get("/admin/queue/").status_code == 200


def test_a_cookie_from_before_a_deactivation_stays_dead_after_reactivation(
        app: Flask, world: World) -> None:
    moderator = _signed_in(app, "moderator")
    admin = _signed_in(app, "admin")
    user_id = world.staff["moderator"]
    for active in ("0", "1"):
        post_form(admin, f"/admin/staff/{user_id}/update", {"active": active},
                  page="/admin/staff/")
    with app.app_context():
        assert db.session.get_one(Moderator, user_id).active
    assert _is_signed_out(moderator)
