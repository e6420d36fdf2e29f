"""Deciding a case closes it, strikes the person, and tells the reporters' platforms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from actions.decisions import Decision, DecisionError, decide_case, escalate_case
from actions.enforcement import ActionRequest, AuthorityError
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Case, EnforcementDelivery, Strike
from workbench.staff import create_moderator


@pytest.fixture
def case_id(app: Flask, platforms: dict[str, PlatformApi]) -> int:
    now = datetime.now(UTC).isoformat()
    for slug in ("calls", "web"):
        platforms[slug].post("/api/v1/reports", {"reports": [
            {"id": f"{slug}-r1", "reporter_id": f"{slug}-reporter", "reported_user_id": "bully",
             "category": "harassment", "created_at": now}]})
    # The two "bully" accounts are one person (same phone on both platforms).
    for slug in ("calls", "web"):
        platforms[slug].post("/api/v1/accounts", {"accounts": [
            {"id": "bully", "username": "b", "phone_hash": "9" * 64}]})
    run_jobs(app)
    with app.app_context():
        create_moderator(db.session, "mod@example.org", "lantern-kiwi-9", "moderator")
        db.session.commit()
        return db.session.scalars(select(Case.id).where(Case.status == "open")).one()


def _claim(case_id: int) -> None:
    from workbench.cases.triage import try_claim

    assert try_claim(db.session, case_id, _mod(), "moderator", timedelta(minutes=10))


def _mod() -> int:
    from workbench.models import Moderator

    return db.session.scalars(select(Moderator.id)).one()


def test_a_violation_applies_the_action_strikes_and_notifies_each_reporting_platform(
    app: Flask, case_id: int
) -> None:
    with app.app_context():
        case = db.session.get_one(Case, case_id)
        result = decide_case(
            db.session, case_id, moderator_id=_mod(), role="moderator",
            decision=Decision.VIOLATION, category="harassment",
            action=ActionRequest(type=ActionType.SUSPEND, person_id=case.person_id,
                                 policy_reason="harassment", decided_by_id=_mod(),
                                 duration=timedelta(days=7), case_id=case_id))
        db.session.commit()
        case = db.session.get_one(Case, case_id)
        assert case.status == "actioned" and case.decision == "violation"
        strike = db.session.scalars(select(Strike)).one()
        assert strike.action_id == result.action_id and strike.category == "harassment"
        deliveries = db.session.scalars(
            select(EnforcementDelivery).where(EnforcementDelivery.id.in_(result.delivery_ids))
        ).all()
        outcomes = [d for d in deliveries if d.event == "outcome"]
        assert len([d for d in deliveries if d.event == "action"]) == 2
        assert sorted(d.payload["report_ids"][0] for d in outcomes) == ["calls-r1", "web-r1"]
        assert all(d.payload["outcome"] == "action_taken" for d in outcomes)
        # The reporters hear the outcome, nothing about the other person.
        assert all("user_ids" not in d.payload and "type" not in d.payload for d in outcomes)


def test_a_dismissal_takes_no_action_and_gives_no_strike(app: Flask, case_id: int) -> None:
    with app.app_context():
        decide_case(db.session, case_id, moderator_id=_mod(), role="moderator",
                    decision=Decision.DISMISSED)
        db.session.commit()
        assert db.session.get_one(Case, case_id).status == "dismissed"
        assert db.session.scalars(select(Strike)).all() == []
        payloads = [d.payload for d in db.session.scalars(select(EnforcementDelivery))]
        assert {p["outcome"] for p in payloads} == {"no_violation_found"}
        with pytest.raises(DecisionError):
            decide_case(db.session, case_id, moderator_id=_mod(), role="moderator",
                        decision=Decision.DISMISSED)


def test_a_moderator_cannot_ban_through_a_decision(app: Flask, case_id: int) -> None:
    with app.app_context():
        case = db.session.get_one(Case, case_id)
        with pytest.raises(AuthorityError):
            decide_case(db.session, case_id, moderator_id=_mod(), role="moderator",
                        decision=Decision.VIOLATION,
                        action=ActionRequest(type=ActionType.BAN, person_id=case.person_id,
                                             policy_reason="harassment", decided_by_id=_mod()))
        db.session.rollback()
        assert db.session.get_one(Case, case_id).status == "open"


def test_escalation_needs_a_reason_and_releases_the_case(app: Flask, case_id: int) -> None:
    with app.app_context():
        with pytest.raises(DecisionError):
            escalate_case(db.session, case_id, moderator_id=_mod(), role="moderator",
                          reason="  ")
        _claim(case_id)
        escalate_case(db.session, case_id, moderator_id=_mod(), role="moderator",
                      reason="possible minor")
        db.session.commit()
        case = db.session.get_one(Case, case_id)
        assert case.status == "escalated" and case.escalation_reason == "possible minor"
