"""Accepted items are stored once, unknown users become stubs, and reports become cases."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.extensions import db
from workbench.models import Account, Base, Case, Conversation, Message, OutboxBatch, Report

NOW = "2026-11-20T10:00:00Z"


def _messages(*ids: str) -> dict[str, object]:
    return {"messages": [
        {"id": i, "conversation_id": "c1", "sender_id": "u1", "recipient_id": "u2",
         "text": f"message {i}", "sent_at": NOW} for i in ids]}


def _count(app: Flask, model: type[Base]) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_sending_the_same_ids_again_counts_duplicates_and_stores_nothing_twice(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    first = api.post("/api/v1/messages", _messages("m1", "m2", "m3"))
    assert first.status_code == 202 and first.json == {"accepted": 3, "duplicate": 0}
    again = api.post("/api/v1/messages", _messages("m2", "m3", "m4", "m4"))
    assert again.json == {"accepted": 1, "duplicate": 3}
    assert _count(app, Message) == 4
    assert _count(app, Conversation) == 1


def test_the_same_id_from_another_platform_is_a_different_item(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    platforms["calls"].post("/api/v1/messages", _messages("m1"))
    r = platforms["web"].post("/api/v1/messages", _messages("m1"))
    assert r.json == {"accepted": 1, "duplicate": 0}
    assert _count(app, Message) == 2


def test_unknown_users_become_stub_accounts(app: Flask, platforms: dict[str, PlatformApi]) -> None:
    platforms["calls"].post("/api/v1/reports", {"reports": [
        {"id": "r1", "reporter_id": "reporter-9", "reported_user_id": "stranger-1",
         "category": "harassment", "created_at": NOW}]})
    with app.app_context():
        accounts = db.session.scalars(select(Account).order_by(Account.platform_user_id)).all()
        assert [(a.platform_user_id, a.is_stub) for a in accounts] == [
            ("reporter-9", True), ("stranger-1", True)]
        assert accounts[0].person_id != accounts[1].person_id


def test_account_upsert_fills_in_a_stub_and_links_by_phone(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    platforms["calls"].post("/api/v1/messages", _messages("m1"))
    r = platforms["calls"].post("/api/v1/accounts", {"accounts": [
        {"id": "u1", "username": "asha", "phone_hash": "p" * 64, "device_ids": ["d1"]}]})
    assert r.json == {"created": 0, "updated": 1}
    r = platforms["web"].post("/api/v1/accounts", {"accounts": [
        {"id": "w-77", "username": "asha_web", "phone_hash": "p" * 64}]})
    assert r.json == {"created": 1, "updated": 0}
    with app.app_context():
        calls = db.session.scalars(select(Account).where(Account.platform_user_id == "u1")).one()
        web = db.session.scalars(select(Account).where(Account.platform_user_id == "w-77")).one()
        assert not calls.is_stub and calls.username == "asha"
        assert calls.person_id == web.person_id


def test_every_accepted_report_ends_up_in_a_case(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    reports = [
        {"id": f"r{i}", "reporter_id": f"reporter-{i}", "reported_user_id": f"user-{i % 7}",
         "category": "harassment" if i % 2 else "spam_scam", "created_at": NOW}
        for i in range(50)
    ]
    assert platforms["calls"].post("/api/v1/reports", {"reports": reports}).status_code == 202
    run_jobs(app)
    with app.app_context():
        assert db.session.execute(
            select(func.count()).where(Report.case_id.is_(None))).scalar_one() == 0
        cases = db.session.scalars(select(Case)).all()
        assert len(cases) == 7
        assert sum(c.report_count for c in cases) == 50
        assert all(b.processed_at for b in db.session.scalars(select(OutboxBatch)))


def test_processing_a_batch_twice_changes_nothing(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    from queues.jobs import process_batch

    platforms["calls"].post("/api/v1/reports", {"reports": [
        {"id": "r1", "reporter_id": "a", "reported_user_id": "b", "category": "hate",
         "created_at": NOW}]})
    run_jobs(app)
    with app.app_context():
        batch_id = db.session.scalars(select(OutboxBatch.id)).one()
        before = [(c.id, c.priority, c.report_count) for c in db.session.scalars(select(Case))]
        assert process_batch(batch_id)["skipped"] == "already processed"
        after = [(c.id, c.priority, c.report_count) for c in db.session.scalars(select(Case))]
    assert before == after and len(before) == 1


def test_a_report_about_a_message_links_to_it_and_keeps_unknown_refs(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    api.post("/api/v1/messages", _messages("m1"))
    api.post("/api/v1/reports", {"reports": [
        {"id": "r1", "reporter_id": "u2", "reported_user_id": "u1", "category": "harassment",
         "message_id": "m1", "created_at": NOW},
        {"id": "r2", "reporter_id": "u2", "reported_user_id": "u1", "category": "harassment",
         "message_id": "not-yet-sent", "created_at": NOW}]})
    with app.app_context():
        r1, r2 = db.session.scalars(select(Report).order_by(Report.platform_report_id)).all()
        assert r1.message_id is not None
        assert r2.message_id is None and r2.content_ref == {"message_id": "not-yet-sent"}


def test_status_answers_active_for_a_user_without_actions(
    platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    api.post("/api/v1/messages", _messages("m1"))
    r = api.get("/api/v1/users/u1/status")
    assert r.status_code == 200
    assert r.json == {"user_id": "u1", "status": "active", "actions": []}
    missing = api.get("/api/v1/users/nobody/status")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "unknown_user"
