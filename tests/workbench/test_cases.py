"""Case grouping, priority order and due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from tests.support.statements import recorded
from workbench.cases.filing import PriorityInputs, priority
from workbench.cases.policy import DEFAULT_DEADLINE_HOURS
from workbench.extensions import db
from workbench.models import Case, Message

BASE = PriorityInputs(severity=5, classifier_score=0.0, distinct_reporters=1,
                      reporter_standing=0.5, prior_actions=0, fraud_signals=0, fraud_score=0.0,
                      live=False)


def test_priority_orders_cases_as_documented() -> None:
    from dataclasses import replace

    spam = replace(BASE, severity=2)
    harassment = BASE
    harassment_many = replace(BASE, distinct_reporters=7)
    harassment_flagged = replace(BASE, classifier_score=0.98)
    self_harm = replace(BASE, severity=9)
    repeat_offender = replace(BASE, prior_actions=3)
    live_spam = replace(BASE, severity=2, live=True)
    ranked = sorted(
        [("spam", spam), ("harassment", harassment), ("many", harassment_many),
         ("flagged", harassment_flagged), ("self_harm", self_harm),
         ("repeat", repeat_offender), ("live", live_spam)],
        key=lambda kv: priority(kv[1]), reverse=True,
    )
    assert [name for name, _ in ranked] == [
        "live", "self_harm", "flagged", "repeat", "many", "harassment", "spam"]


def test_trusted_reporters_raise_priority_and_unreliable_ones_lower_it() -> None:
    from dataclasses import replace

    trusted = priority(replace(BASE, reporter_standing=0.9))
    unknown = priority(BASE)
    unreliable = priority(replace(BASE, reporter_standing=0.1))
    assert trusted > unknown > unreliable


def _report(i: int, user: str, category: str, created: datetime,
            **extra: object) -> dict[str, object]:
    return {"id": f"r{i}", "reporter_id": f"rep{i}", "reported_user_id": user,
            "category": category, "created_at": created.isoformat(), **extra}


def test_reports_gather_per_person_and_the_queue_lists_by_priority(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    reports = [
        _report(1, "spammer", "spam_scam", now),
        _report(2, "bully", "harassment", now),
        _report(3, "bully", "harassment", now - timedelta(hours=1)),
        _report(4, "bully", "hate", now),
        _report(5, "at-risk", "self_harm", now),
        _report(6, "caller", "sexual_content", now, call_id="call-1", call_in_progress=True),
    ]
    platforms["calls"].post("/api/v1/reports", {"reports": reports})
    # The same person on another platform (linked by phone) joins the same case.
    for slug, user in (("calls", "bully"), ("web", "bully-web")):
        platforms[slug].post("/api/v1/accounts", {"accounts": [
            {"id": user, "username": user, "phone_hash": "b" * 64}]})
    platforms["web"].post("/api/v1/reports", {"reports": [_report(7, "bully-web", "harassment",
                                                                  now)]})
    run_jobs(app)
    with app.app_context():
        cases = db.session.scalars(
            select(Case).order_by(Case.priority.desc(), Case.due_at)).all()
        by_category = [c.primary_category for c in cases]
        assert by_category == ["sexual_content", "self_harm", "hate", "spam_scam"]
        live, self_harm, bully, spam = cases
        assert live.live and live.queue == "live"
        assert self_harm.queue == "urgent-safety"
        assert bully.report_count == 4 and bully.categories == {"harassment": 3, "hate": 1}
        # Due at the earliest deadline of its reports: the hour-old harassment report.
        assert bully.due_at == now - timedelta(hours=1) + timedelta(
            hours=DEFAULT_DEADLINE_HOURS["harassment"])
        assert self_harm.due_at == now + timedelta(hours=DEFAULT_DEADLINE_HOURS["self_harm"])


def test_a_new_report_rescores_its_case(app: Flask, platforms: dict[str, PlatformApi]) -> None:
    now = datetime.now(UTC)
    api = platforms["calls"]
    api.post("/api/v1/reports", {"reports": [_report(1, "u", "spam_scam", now)]})
    run_jobs(app)
    with app.app_context():
        before = db.session.scalars(select(Case)).one().priority
    api.post("/api/v1/reports", {"reports": [_report(2, "u", "violent_threat", now)]})
    run_jobs(app)
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        assert case.priority > before and case.primary_category == "violent_threat"
        assert case.queue == "urgent-safety"


def test_a_hinglish_report_takes_its_case_to_the_hindi_queue(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    texts = {
        "m-en": "you are so annoying",
        "m-hinglish": "yaar kal se mujhe baar baar message kyun kar raha hai, main tujhe "
                      "block kar dungi aur sabko bata dungi, pagal hai kya tu",
        "m-french": "Bonjour tout le monde, comment ça va aujourd'hui mes amis",
    }
    r = api.post("/api/v1/messages", {"messages": [
        {"id": mid, "conversation_id": "c1", "sender_id": "bully", "recipient_id": "victim",
         "text": text, "sent_at": "2026-11-20T10:00:00Z", **({"language": "fr"}
                                                              if mid == "m-french" else {})}
        for mid, text in texts.items()]})
    assert r.status_code == 202
    run_jobs(app)
    now = datetime.now(UTC).replace(microsecond=0)
    r = api.post("/api/v1/reports", {"reports": [
        _report(1, "bully", "harassment", now, message_id="m-en")]})
    assert r.status_code == 202
    run_jobs(app)
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        assert (case.language, case.queue) == ("en", "general")
    r = api.post("/api/v1/reports", {"reports": [
        _report(2, "bully", "harassment", now, message_id="m-hinglish"),
        _report(3, "bully", "harassment", now, message_id="m-french")]})
    assert r.status_code == 202
    run_jobs(app)
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        assert case.report_count == 3
        # The longest reported content is Hinglish; the platform's "fr" hint is not kept.
        assert (case.language, case.queue) == ("hi-Latn", "hindi")
        languages = set(db.session.scalars(select(Message.language)))
        assert languages <= {"en", "hi", "hi-Latn", "und"}


def test_a_persons_own_language_is_used_only_when_it_is_a_configured_one(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    r = api.post("/api/v1/accounts", {"accounts": [
        {"id": "fr-user", "username": "amelie", "languages": ["fr"]},
        {"id": "hi-user", "username": "priya", "languages": ["hi", "en"]}]})
    assert r.status_code == 202, r.get_data(as_text=True)
    now = datetime.now(UTC).replace(microsecond=0)
    r = api.post("/api/v1/reports", {"reports": [
        _report(1, "fr-user", "harassment", now), _report(2, "hi-user", "harassment", now)]})
    assert r.status_code == 202
    run_jobs(app)
    with app.app_context():
        cases = {c.queue: c.language for c in db.session.scalars(select(Case))}
        assert cases == {"general": None, "hindi": "hi"}


def test_filing_a_plain_report_asks_nothing_about_content_it_does_not_have(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    """A platform that sends each report alone costs a job per report: filing one that
    names no message, recording or call reads no message or call, and does not look up
    again the case it has just opened."""
    now = datetime.now(UTC)
    platforms["calls"].post("/api/v1/reports", {"reports": [_report(1, "u", "harassment", now)]})
    with app.app_context(), recorded(db.engine) as seen:
        run_jobs(app)
    with app.app_context():
        assert db.session.scalars(select(Case.report_count)).one() == 1
    reads = [sql for sql, _ in seen if sql.lstrip().startswith("SELECT")]
    for table in ("message", "call"):
        assert not [sql for sql in reads if f"FROM {table}" in sql], table
    # The open case of the person, asked for once: the insert returned the one it opened.
    assert len([sql for sql in reads if 'FROM "case"' in sql and '"case".status IN' in sql]) == 1
