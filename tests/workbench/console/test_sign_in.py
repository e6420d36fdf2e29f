"""Signing in: one answer for every refusal, lockout per address, a limit that holds
without Redis, and passwords that are hard to guess wherever they are set."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.support.console_forms import csrf_token, post_form, sign_in
from tests.support.console_world import PASSWORD, STAFF, World
from workbench.console.auth import SIGN_IN_REFUSED
from workbench.extensions import db
from workbench.models import AuditEvent, Moderator, utcnow
from workbench.staff import create_moderator

STRANGER, OWNER, ELSEWHERE = "203.0.113.5", "198.51.100.7", "192.0.2.44"
# The CSRF token differs on every response; the form repeats the email typed.
VARYING = re.compile(r'value="[^"]{20,}"|value="[^"]*@[^"]*"')


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _page(response) -> str:
    """The page without what differs by design: the CSRF token, the email typed."""
    return VARYING.sub('value=""', response.get_data(as_text=True))


def _fail(client: FlaskClient, email: str, times: int) -> list[int]:
    return [sign_in(client, email, "wrong-guess-0123").status_code for _ in range(times)]


def test_unknown_emails_wrong_passwords_and_locked_accounts_get_one_answer(
        app: Flask, world: World) -> None:
    unknown = sign_in(_from(app, STRANGER), "nobody@example.org", "wrong-guess-0123")
    wrong = sign_in(_from(app, STRANGER), STAFF["moderator"], "wrong-guess-0123")
    assert unknown.status_code == wrong.status_code == 401
    assert SIGN_IN_REFUSED in unknown.get_data(as_text=True)
    assert _page(unknown) == _page(wrong)
    # Five more failures: the account is now locked for this address, and the answer,
    # even to the right password, reads exactly as it does for an email that does not exist.
    owner, other = _from(app, OWNER), _from(app, ELSEWHERE)
    _fail(owner, STAFF["moderator"], 5)
    _fail(other, "nobody@example.org", 5)
    locked = sign_in(owner, STAFF["moderator"])
    unknown_again = sign_in(other, "nobody@example.org", PASSWORD)
    assert locked.status_code == unknown_again.status_code == 401
    assert _page(locked) == _page(unknown_again)
    assert "locked" not in _page(locked)


def test_a_stranger_cannot_lock_the_owner_out(app: Flask, world: World) -> None:
    stranger = _from(app, STRANGER)
    assert _fail(stranger, STAFF["moderator"], 8) == [401] * 8
    # The stranger's address is locked out of the account, even with the right password...
    assert sign_in(stranger, STAFF["moderator"]).status_code == 401
    # ...but the owner, from their own address, signs in.
    owner = _from(app, OWNER)
    assert sign_in(owner, STAFF["moderator"]).status_code == 302
    assert owner.get("/admin/queue/").status_code == 200
    with app.app_context():
        events = db.session.execute(select(AuditEvent.verb, AuditEvent.data).where(
            AuditEvent.verb == "login.locked")).all()
    assert [(v, d["scope"], d["address"]) for v, d in events] == [
        ("login.locked", "address", STRANGER)]


def test_failures_older_than_the_lockout_time_are_forgotten(app: Flask, world: World) -> None:
    from workbench.models import SignInThrottle

    client = _from(app, STRANGER)
    _fail(client, STAFF["moderator"], 4)
    with app.app_context():
        throttle = db.session.scalars(select(SignInThrottle)).one()
        assert throttle.failures == 4
        throttle.last_failed_at = utcnow() - timedelta(minutes=16)  # lockout is 15 minutes
        db.session.commit()
    _fail(client, STAFF["moderator"], 1)  # counts as the first, not the fifth
    assert sign_in(client, STAFF["moderator"]).status_code == 302


@pytest.fixture
def strict_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with an account-wide limit of 4 failures (per address: 5)."""
    from workbench.app import create_app
    from workbench.current import settings as app_settings

    with app.app_context():
        base = app_settings()
    strict = create_app({"instance_dir": tmp_path / "strict", "database_url": base.database_url,
                         "redis_url": base.redis_url, "secret_key": base.secret_key,
                         "storage_dir": base.storage_dir, "login_account_max_failures": 4})
    strict.config["TESTING"] = True
    with strict.app_context():
        create_moderator(db.session, STAFF["moderator"], PASSWORD, "moderator")
        db.session.commit()
    yield strict
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def _locked_until(app: Flask) -> object:
    with app.app_context():
        return db.session.scalars(select(Moderator.locked_until)).one()


def test_failures_from_many_addresses_lock_the_account_for_a_fixed_time(
        strict_app: Flask) -> None:
    _fail(_from(strict_app, STRANGER), STAFF["moderator"], 2)
    _fail(_from(strict_app, "203.0.113.6"), STAFF["moderator"], 2)
    until = _locked_until(strict_app)
    assert until is not None
    owner = _from(strict_app, OWNER)
    assert sign_in(owner, STAFF["moderator"]).status_code == 401
    # Attempts during the lock do not extend it: a stranger cannot keep it locked.
    _fail(_from(strict_app, ELSEWHERE), STAFF["moderator"], 3)
    assert _locked_until(strict_app) == until
    with strict_app.app_context():
        moderator = db.session.scalars(select(Moderator)).one()
        moderator.locked_until = utcnow() - timedelta(seconds=1)  # the lock's time is up
        db.session.commit()
    assert sign_in(owner, STAFF["moderator"]).status_code == 302


def test_the_sign_in_limit_holds_while_redis_is_down(
        app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from workbench.app import create_app
    from workbench.current import settings as app_settings

    with app.app_context():
        base = app_settings()
    # Nothing listens on port 1: every Redis call is refused at once.
    cut_off = create_app({"instance_dir": tmp_path / "cut-off",
                          "database_url": base.database_url,
                          "redis_url": "redis://127.0.0.1:1/4", "secret_key": base.secret_key,
                          "storage_dir": base.storage_dir})
    cut_off.config["TESTING"] = True
    client = cut_off.test_client()
    with caplog.at_level(logging.WARNING):
        statuses = [sign_in(client, f"nobody{i}@example.org", "wrong-guess-0123").status_code
                    for i in range(12)]
    assert statuses == [401] * 10 + [429, 429]
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
    with cut_off.app_context():
        db.session.remove()
        db.engine.dispose()


def _users(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Moderator).where(
            Moderator.email == email)) or 0


@pytest.mark.parametrize(("password", "role", "says"), [
    ("aaaaaaaaaaaa", "admin", "too easy to guess"),
    ("password-0123456789", "admin", "needs 4"),  # good enough for others, not an admin
    (" " * 10, "moderator", "cannot be only spaces"),
    ("x" * 100_000, "moderator", "at most 1,024 characters"),
    ("short-1", "moderator", "at least 12 characters"),
])
def test_the_admin_form_refuses_weak_passwords_and_says_why(
        app: Flask, world: World, signed_in, password: str, role: str, says: str) -> None:
    admin = signed_in("admin")
    response = post_form(admin, "/admin/staff/create", {
        "email": "new@example.org", "password": password, "role": role}, page="/admin/staff/")
    assert response.status_code == 302
    assert says in admin.get("/admin/staff/").get_data(as_text=True)
    assert _users(app, "new@example.org") == 0


def test_the_admin_form_accepts_a_strong_password(app: Flask, world: World,
                                                  signed_in) -> None:
    admin = signed_in("admin")
    post_form(admin, "/admin/staff/create", {
        "email": "new@example.org", "password": "password-0123456789", "role": "moderator"},
        page="/admin/staff/")
    assert _users(app, "new@example.org") == 1


def test_a_password_change_to_a_weak_password_is_refused(app: Flask, world: World,
                                                         signed_in) -> None:
    me = signed_in("moderator")
    weak = "aaaaaaaaaaaa"
    post_form(me, "/admin/account/password", {
        "current_password": PASSWORD, "new_password": weak, "repeat_password": weak},
        page="/admin/account/")
    assert "too easy to guess" in me.get("/admin/account/").get_data(as_text=True)
    assert sign_in(app.test_client(), STAFF["moderator"], weak).status_code == 401
    assert sign_in(app.test_client(), STAFF["moderator"]).status_code == 302


def test_a_huge_password_at_sign_in_is_refused_without_a_server_error(
        app: Flask, world: World) -> None:
    client = app.test_client()
    response = client.post("/login", data={"email": STAFF["moderator"],
                                           "password": "x" * 100_000,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400


@pytest.mark.parametrize(("passes", "kib"), [(0, 64 * 1024), (1, 19 * 1024), (1, 46 * 1024 - 1),
                                           (2, 8 * 1024), (2, 19 * 1024 - 1), (3, 12 * 1024 - 1),
                                           (4, 9 * 1024 - 1), (5, 7 * 1024 - 1),
                                           (9, 7 * 1024 - 1)])
def test_a_password_hash_cost_below_owasps_profiles_is_refused(
        tmp_path: Path, passes: int, kib: int) -> None:
    from workbench.settings import SettingsError, load_settings

    environ = {"WORKBENCH_INSTANCE_DIR": str(tmp_path), "WORKBENCH_SECRET_KEY": "k" * 32,
               "WORKBENCH_PASSWORD_HASH_TIME_COST": str(passes),
               "WORKBENCH_PASSWORD_HASH_MEMORY_KIB": str(kib)}
    with pytest.raises(SettingsError, match="WORKBENCH_PASSWORD_HASH_"):
        load_settings(environ=environ)


@pytest.mark.parametrize(("passes", "kib"), [(1, 46 * 1024), (2, 19 * 1024), (3, 12 * 1024),
                                           (4, 9 * 1024), (5, 7 * 1024), (8, 7 * 1024),
                                           (3, 64 * 1024)])
def test_each_of_owasps_argon2id_profiles_is_accepted(
        tmp_path: Path, passes: int, kib: int) -> None:
    from workbench.settings import load_settings

    environ = {"WORKBENCH_INSTANCE_DIR": str(tmp_path), "WORKBENCH_SECRET_KEY": "k" * 32,
               "WORKBENCH_PASSWORD_HASH_TIME_COST": str(passes),
               "WORKBENCH_PASSWORD_HASH_MEMORY_KIB": str(kib)}
    loaded = load_settings(environ=environ)
    assert (loaded.password_hash_time_cost, loaded.password_hash_memory_kib) == (passes, kib)


def test_a_hash_made_at_another_cost_is_renewed_at_the_next_sign_in(
        app: Flask, world: World) -> None:
    from argon2 import PasswordHasher

    with app.app_context():
        moderator = db.session.get_one(Moderator, world.staff["moderator"])
        moderator.password_hash = PasswordHasher(time_cost=3, memory_cost=65536,
                                                 parallelism=4).hash(PASSWORD)
        db.session.commit()
    assert sign_in(app.test_client(), STAFF["moderator"]).status_code == 302
    with app.app_context():
        stored = db.session.get_one(Moderator, world.staff["moderator"]).password_hash
    # The test app's cost (tests/conftest.py, the default): 2 passes over 19 MiB, 1 lane.
    assert "$m=19456,t=2,p=1$" in stored
    assert sign_in(app.test_client(), STAFF["moderator"]).status_code == 302


def test_a_wrong_password_leaves_a_hash_made_at_another_cost_as_it_was(
        app: Flask, world: World) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    with app.app_context():
        db.session.get_one(Moderator, world.staff["moderator"]).password_hash = old
        db.session.commit()
    assert sign_in(app.test_client(), STAFF["moderator"], "wrong " + PASSWORD).status_code == 401
    with app.app_context():
        assert db.session.get_one(Moderator, world.staff["moderator"]).password_hash == old
