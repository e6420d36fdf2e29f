"""Strikes: thresholds apply or propose the next step, strikes expire, appeals remove them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.appeals import decide_appeal
from actions.decisions import CaseDecision, Decision, decide_case, put_to_seniors
from actions.enforcement import ActionRequest
from actions.strikes import StepStatus, strike_summary
from queues.enforce import enqueue_deliveries
from tests.support.enforcement import drain, staff_id
from tests.support.platform_server import PlatformServer
from workbench.cases.triage import claim_next
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, Action, Appeal, AuditEvent, Case, Strike, utcnow
from workbench.rules.strikes import StrikeConfigError, StrikePolicy
from workbench.settings import SettingsError, load_settings
from workbench.staff import create_moderator


def _violation(app: Flask, person: int, kind: ActionType | None = None, days: float | None = None,
               policy: StrikePolicy | None = None, by: str = "mod@example.org") -> CaseDecision:
    """Open a case on the person, decide it as a violation, and deliver what it sent."""
    with app.app_context():
        case = Case(person_id=person, due_at=utcnow(), primary_category="harassment")
        db.session.add(case)
        db.session.flush()
        moderator = staff_id(by)
        action = ActionRequest(
            type=kind, person_id=person, policy_reason="harassment", decided_by_id=moderator,
            case_id=case.id, duration=timedelta(days=days) if days else None,
        ) if kind else None
        result = decide_case(db.session, case.id, moderator_id=moderator,
                             role="senior" if by.startswith("senior") else "moderator",
                             decision=Decision.VIOLATION, category="harassment", action=action,
                             strikes=policy)
        db.session.commit()
        enqueue_deliveries(result.delivery_ids)
    drain(app)
    return result


def _summary(app: Flask, person: int):
    with app.app_context():
        return strike_summary(db.session, person)


def test_the_second_strike_suspends_for_a_day_on_every_platform(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    first = _violation(app, person)
    assert first.strike_id is not None and first.strike_step is None
    summary = _summary(app, person)
    assert len(summary.active) == 1 and summary.current_step is None
    assert summary.next_step is not None and summary.next_step.describe() == "suspend for 1 day"

    second = _violation(app, person, ActionType.WARN)
    step = second.strike_step
    assert step is not None and step.status is StepStatus.APPLIED and step.active_strikes == 2
    assert set(step.delivery_ids) <= set(second.delivery_ids) and len(step.delivery_ids) == 3
    for slug, server in servers.items():
        assert server.state == {f"{slug}-user": "suspended"}, slug
    with app.app_context():
        action = db.session.get_one(Action, step.action_id)
        assert action.decided_by_rule == "strikes" and action.decided_by_id is None
        assert action.type == "suspend" and action.automated
        assert action.ends_at is not None
        assert action.ends_at - action.created_at == timedelta(days=1)
        assert db.session.get_one(Account, db.session.scalars(select(Account.id)).first()
                              ).status == "suspended"
    assert _summary(app, person).next_step.describe() == "suspend for 7 days"


def test_a_violation_without_an_action_ties_its_strike_to_the_step(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    _violation(app, person)
    second = _violation(app, person)
    assert second.action_id is None and second.strike_step is not None
    with app.app_context():
        # Overturning the step's suspension on appeal must be able to remove this strike.
        assert (db.session.get_one(Strike, second.strike_id).action_id
                == second.strike_step.action_id)


def test_a_step_already_in_force_is_not_applied_again(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    _violation(app, person)
    second = _violation(app, person, ActionType.SUSPEND, days=7)
    assert second.strike_step is not None and second.strike_step.status is StepStatus.COVERED
    assert second.strike_step.action_id == second.action_id
    with app.app_context():
        assert db.session.scalars(select(Action.type)).all() == ["suspend"]


def test_the_fifth_strike_proposes_a_ban_to_a_senior(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    with app.app_context():
        for _ in range(4):  # earlier strikes, their steps long over
            db.session.add(Strike(person_id=person, category="spam_scam",
                                  expires_at=utcnow() + timedelta(days=30)))
        db.session.commit()
    fifth = _violation(app, person)
    step = fifth.strike_step
    assert step is not None and step.status is StepStatus.PROPOSED
    assert step.threshold.action is ActionType.BAN and step.action_id is None
    assert step.describe() == "ban (proposed to a senior)"
    assert all(server.state == {} for server in servers.values())
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []
        proposed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.verb == "strikes.proposed")).one()
        assert proposed.data is not None
        assert proposed.object_id == str(person) and proposed.data["action"] == "ban"
        # The proposal waits in the seniors' lane as an escalated case about the person.
        waiting = db.session.get(Case, fifth.proposal_case_id)
        assert waiting is not None and waiting.person_id == person
        assert waiting.status == "escalated" and waiting.id != fifth.case_id
        assert waiting.escalation_reason == ("strikes: 5 in force; the thresholds propose: ban")
        queues = ["general", "urgent-safety", "hindi"]
        assert claim_next(db.session, staff_id("mod@example.org"), "moderator",
                          queues=queues, claim_lock=timedelta(minutes=10)) is None
        assert claim_next(db.session, staff_id("senior@example.org"), "senior",
                          queues=queues, claim_lock=timedelta(minutes=10)) == waiting.id


def test_a_proposal_escalates_the_case_reports_opened_meanwhile(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    with app.app_context():
        for _ in range(4):
            db.session.add(Strike(person_id=person, category="spam_scam",
                                  expires_at=utcnow() + timedelta(days=30)))
        decided = Case(person_id=person, due_at=utcnow(), primary_category="harassment",
                       status="actioned")
        newer = Case(person_id=person, due_at=utcnow(), primary_category="spam_scam")
        db.session.add_all([decided, newer])
        db.session.flush()
        assert put_to_seniors(db.session, decided, "strikes: 5 in force") == newer.id
        db.session.commit()
        assert (newer.status, newer.escalation_reason) == ("escalated", "strikes: 5 in force")
        assert db.session.scalars(select(Case.id).where(Case.person_id == person,
                                                        Case.status == "escalated")).all() \
            == [newer.id]


def test_an_apply_threshold_bans_when_configured(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    policy = StrikePolicy.from_config([{"strikes": 2, "action": "ban", "mode": "apply"}])
    _violation(app, person, policy=policy)
    second = _violation(app, person, policy=policy)
    assert second.strike_step is not None and second.strike_step.status is StepStatus.APPLIED
    for slug, server in servers.items():
        assert server.state == {f"{slug}-user": "banned"}, slug


def test_expired_strikes_no_longer_count(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    _violation(app, person)
    with app.app_context():
        db.session.execute(update(Strike).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    second = _violation(app, person)
    assert second.strike_step is None  # one strike in force, not two
    summary = _summary(app, person)
    assert [s.state for s in summary.active] == ["active"]
    assert [s.state for s in summary.past] == ["expired"]
    assert summary.next_step.describe() == "suspend for 1 day"


def test_an_overturned_appeal_removes_the_strike_and_the_next_step_falls_back(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    _violation(app, person, ActionType.WARN)
    second = _violation(app, person, ActionType.MUTE, days=1)
    assert second.strike_step is not None
    assert _summary(app, person).next_step.describe() == "suspend for 7 days"
    with app.app_context():
        create_moderator(db.session, "lead@example.org", "lantern-kiwi-9", "senior")
        account = db.session.scalars(select(Account)).first()
        assert account is not None
        appeal = Appeal(platform_id=account.platform_id, platform_appeal_id="ap-1",
                        action_id=second.action_id, account_id=account.id, text="not me",
                        created_at=utcnow(), received_at=utcnow())
        db.session.add(appeal)
        db.session.flush()
        decide_appeal(db.session, appeal.id, moderator_id=staff_id("lead@example.org"),
                      role="senior", overturn=True, note="shared phone")
        db.session.commit()
    summary = _summary(app, person)
    assert len(summary.active) == 1 and [s.state for s in summary.past] == ["removed"]
    assert summary.current_step is None
    assert summary.next_step.describe() == "suspend for 1 day"


@pytest.mark.parametrize(("raw", "words"), [
    ([{"strikes": 2, "action": "suspend"}], "needs 'days'"),
    ([{"strikes": 0, "action": "warn"}], "at least 1"),
    ([{"strikes": 2, "action": "end_call"}], "cannot end_call"),
    ([{"strikes": 2, "action": "ban", "mode": "sometimes"}], "sometimes"),
    ([{"strikes": 2, "action": "warn"}, {"strikes": 2, "action": "mute"}], "same number"),
    (["ban"], "expected an object"),
])
def test_bad_thresholds_are_refused(raw: list[object], words: str) -> None:
    with pytest.raises(StrikeConfigError, match=words):
        StrikePolicy.from_config(raw)


def test_a_bad_thresholds_setting_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path),
                               "WORKBENCH_STRIKE_THRESHOLDS": '[{"strikes": 2}]'})
    assert str(err.value).startswith("WORKBENCH_STRIKE_THRESHOLDS:")


def test_the_default_ladder_is_documented() -> None:
    steps = StrikePolicy.from_config(None).thresholds
    assert [(t.strikes, t.describe(), t.mode.value) for t in steps] == [
        (2, "suspend for 1 day", "apply"), (3, "suspend for 7 days", "apply"),
        (4, "suspend for 30 days", "apply"), (5, "ban", "propose")]
