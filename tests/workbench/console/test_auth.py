"""Signing in: Argon2id hashes, lockout, the per-address limit, idle expiry, cookies, headers."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import select

from tests.support.console_forms import csrf_token, sign_in
from tests.support.console_world import PASSWORD, STAFF, World
from workbench.console.auth import SIGN_IN_REFUSED
from workbench.extensions import db
from workbench.models import AuditEvent, Moderator


def test_passwords_are_stored_as_argon2id(app: Flask, world: World) -> None:
    with app.app_context():
        stored = db.session.scalars(select(Moderator.password_hash)).all()
    assert stored and all(h.startswith("$argon2id$") for h in stored)
    assert not any(PASSWORD in h for h in stored)


def test_sign_in_sets_a_hardened_session_cookie(app: Flask, world: World) -> None:
    client = app.test_client()
    response = sign_in(client, STAFF["moderator"])
    assert response.status_code == 302 and response.headers["Location"] == "/admin/queue/"
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("workbench_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert client.get("/admin/queue/").status_code == 200


def test_wrong_password_is_refused_and_audited(app: Flask, world: World) -> None:
    client = app.test_client()
    response = sign_in(client, STAFF["moderator"], "not-the-password")
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data
    assert client.get("/admin/queue/").status_code == 302
    with app.app_context():
        verbs = db.session.scalars(select(AuditEvent.verb)).all()
    assert "login.failed" in verbs


def test_repeated_failures_lock_the_account_even_with_the_right_password(
        app: Flask, world: World) -> None:
    client = app.test_client()
    for _ in range(5):
        sign_in(client, STAFF["moderator"], "wrong-password-guess")
    response = sign_in(client, STAFF["moderator"])
    assert response.status_code == 401
    assert SIGN_IN_REFUSED.encode() in response.data and b"locked" not in response.data
    assert client.get("/admin/queue/").status_code == 302
    # Another account is not affected.
    assert sign_in(app.test_client(), STAFF["senior"]).status_code == 302


def test_sign_in_attempts_are_rate_limited_per_address(app: Flask, world: World) -> None:
    client = app.test_client()
    statuses = [sign_in(client, f"nobody{i}@example.org", "whatever-123").status_code
                for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


def test_a_form_without_its_csrf_token_is_refused(app: Flask, world: World) -> None:
    client = app.test_client()
    assert client.post("/login", data={"email": STAFF["moderator"],
                                       "password": PASSWORD}).status_code == 400
    sign_in(client, STAFF["moderator"])
    response = client.post("/admin/queue/next", data={})
    assert response.status_code == 400
    with app.app_context():
        from workbench.models import Case

        assert db.session.scalars(select(Case.assignee_id)).all() == [None] * 5


def test_the_session_ends_after_the_idle_time(app: Flask, world: World) -> None:
    from datetime import timedelta

    # Wide margins: the machine running the suite may be busy.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=4)
    client = app.test_client()
    sign_in(client, STAFF["moderator"])
    assert client.get("/admin/queue/").status_code == 200
    time.sleep(1.5)
    assert client.get("/admin/queue/").status_code == 200  # activity keeps it alive
    time.sleep(1.5)
    assert client.get("/admin/queue/").status_code == 200  # 3 s after sign-in: still in
    time.sleep(5)
    response = client.get("/admin/queue/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_deactivated_user_is_signed_out_on_the_next_request(app: Flask,
                                                              world: World) -> None:
    client = app.test_client()
    sign_in(client, STAFF["moderator"])
    with app.app_context():
        db.session.get_one(Moderator, world.staff["moderator"]).active = False
        db.session.commit()
    assert client.get("/admin/queue/").status_code == 302


def test_sign_in_never_redirects_off_site(app: Flask, world: World) -> None:
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data={
        "email": STAFF["moderator"], "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/queue/"


def test_sign_in_goes_straight_to_each_roles_desk(app: Flask, world: World) -> None:
    # One redirect, to the page the role works on: not to /admin/, which redirects again.
    desks = {"moderator": "/admin/queue/", "senior": "/admin/queue/",
             "legal": "/admin/legal/", "admin": "/admin/staff/"}
    for who, desk in desks.items():
        client = app.test_client()
        response = sign_in(client, STAFF[who])
        assert response.status_code == 302 and response.headers["Location"] == desk, who
        assert client.get(desk).status_code == 200, who
        assert client.get("/admin/").headers["Location"] == desk, who  # the home agrees


def test_every_page_carries_the_security_headers(app: Flask, world: World) -> None:
    client = app.test_client()
    for path in ("/login", "/", "/admin/queue/"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_platform_api_needs_no_csrf_token(app: Flask, platforms) -> None:
    response = platforms["calls"].post("/api/v1/accounts", {"accounts": [
        {"id": "u-1", "username": "someone"}]})
    assert response.status_code == 202


def _attempts(client, n: int, forwarded_for: str) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for}
    statuses = []
    for i in range(n):
        token = csrf_token(client)
        statuses.append(client.post("/login", headers=headers, data={
            "email": f"nobody{i}@example.org", "password": "whatever-123",
            "csrf_token": token}).status_code)
    return statuses


def test_behind_a_trusted_balancer_each_client_address_has_its_own_limit(
        app: Flask, tmp_path) -> None:
    from workbench.app import create_app
    from workbench.current import settings as app_settings

    with app.app_context():
        base = app_settings()
    proxied = create_app({"instance_dir": tmp_path / "proxied", "database_url": base.database_url,
                          "redis_url": base.redis_url, "secret_key": base.secret_key,
                          "storage_dir": base.storage_dir, "proxy_hops": 1})
    proxied.config["TESTING"] = True
    # Every request reaches the app from the balancer's address (the test client's).
    assert _attempts(proxied.test_client(), 11, "203.0.113.7") == [401] * 10 + [429]
    assert _attempts(proxied.test_client(), 2, "198.51.100.9") == [401, 401]
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def test_without_trusted_proxies_a_forged_forwarded_address_changes_nothing(
        app: Flask) -> None:
    assert _attempts(app.test_client(), 10, "203.0.113.7") == [401] * 10
    assert _attempts(app.test_client(), 1, "198.51.100.9") == [429]
