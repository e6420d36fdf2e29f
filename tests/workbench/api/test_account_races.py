"""Accounts sent by two requests at once (found by the soak, on PostgreSQL).

Each test holds one transaction open in the test's thread while a second request runs in
another thread, then commits the first, as two web processes would interleave. SQLite
runs one writer at a time, so the races cannot happen there and the tests need PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.support.app import TEST_SECRET_KEY
from workbench.api.schemas import AccountIn
from workbench.api.store import AccountsStored, resolve_accounts, upsert_accounts
from workbench.extensions import db
from workbench.models import Account, Platform
from workbench.platforms import register_platform


@pytest.fixture
def platform_ids(app: Flask, database_url: str) -> list[int]:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    with app.app_context():
        for slug in ("calls", "web"):
            register_platform(db.session, TEST_SECRET_KEY, slug)
        db.session.commit()
        return list(db.session.scalars(select(Platform.id).order_by(Platform.id)))


def _in_thread(app: Flask,
               work: Callable[[Session], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``work`` in its own session and thread, committing it; the outcome lands in the
    returned dict (``result`` or ``error``)."""
    out: dict[str, Any] = {}

    def run() -> None:
        with app.app_context(), Session(db.engine) as session:
            try:
                out["result"] = work(session)
                session.commit()
            except Exception as exc:  # noqa: BLE001 - the test asserts on it
                out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_an_account_named_meanwhile_by_a_message_is_updated_not_refused(
        app: Flask, platform_ids: list[int]) -> None:
    calls = platform_ids[0]
    with app.app_context(), Session(db.engine) as first:
        # A message batch names the user first: a stub account, not yet committed.
        resolve_accounts(first, calls, ["u1"])
        first.flush()
        thread, out = _in_thread(app, lambda s: upsert_accounts(
            s, calls, [AccountIn(id="u1", username="Asha", phone_hash="f" * 64)]))
        thread.join(timeout=1.0)
        assert thread.is_alive()  # the account upsert waits for the stub's transaction
        first.commit()
    thread.join(timeout=30)

    assert "error" not in out, out.get("error")
    assert out["result"] == AccountsStored(created=0, updated=1, batch_id=out["result"].batch_id)
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.platform_user_id == "u1")).one()
        assert (account.username, account.phone_hash, account.is_stub) == ("Asha", "f" * 64,
                                                                           False)


def test_accounts_sharing_a_phone_sent_at_once_are_one_person(
        app: Flask, platform_ids: list[int]) -> None:
    calls, web = platform_ids
    phone = "a" * 64
    with app.app_context(), Session(db.engine) as first:
        upsert_accounts(first, calls, [AccountIn(id="calls-1", username="A", phone_hash=phone)])
        thread, out = _in_thread(app, lambda s: upsert_accounts(
            s, web, [AccountIn(id="web-1", username="A", phone_hash=phone)]))
        thread.join(timeout=1.0)
        first.commit()
    thread.join(timeout=30)

    assert "error" not in out, out.get("error")
    with app.app_context():
        people = set(db.session.scalars(select(Account.person_id)))
    assert len(people) == 1


def test_a_batch_of_accounts_takes_its_users_in_the_order_stub_accounts_do(
        app: Flask, platform_ids: list[int]) -> None:
    """Stub accounts (from messages and reports) are inserted in user id order; an account
    batch must insert in that order too, or the two deadlock on each other's rows."""
    calls = platform_ids[0]
    with app.app_context(), Session(db.engine) as first, Session(db.engine) as message:
        resolve_accounts(first, calls, ["a"])  # holds the new row of "a"
        first.flush()
        thread, out = _in_thread(app, lambda s: upsert_accounts(
            s, calls, [AccountIn(id="b", username="B"), AccountIn(id="a", username="A")]))
        thread.join(timeout=1.0)  # the batch now waits for "a", and must not hold "b"
        message.execute(text("SET LOCAL lock_timeout = '2s'"))
        resolve_accounts(message, calls, ["b"])
        message.commit()
        first.commit()
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    assert (out["result"].created, out["result"].updated) == (0, 2)
