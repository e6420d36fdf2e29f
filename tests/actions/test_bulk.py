"""Bulk decisions: one decision on a spam wave, a record per case, and an undo in the window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.bulk import (
    DEFAULT_UNDO_WINDOW,
    ActionTemplate,
    BulkAuthorityError,
    BulkError,
    bulk_decide,
    undo_bulk,
)
from actions.decisions import Decision, decide_case
from queues.enforce import enqueue_deliveries
from tests.support.enforcement import drain, staff_id
from tests.support.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    BulkOperation,
    BulkOperationItem,
    Case,
    EnforcementDelivery,
    Platform,
    Report,
    Strike,
    utcnow,
)
from workbench.staff import create_moderator

WAVE = 3
BAN = ActionTemplate(ActionType.BAN, "spam_scam")


@pytest.fixture
def wave(app: Flask, servers: dict[str, PlatformServer]) -> list[int]:
    """Three spammers, each on every platform, each with an open case and one report."""
    with app.app_context():
        platforms = dict(db.session.execute(select(Platform.slug, Platform.id)).all())
        for slug, platform_id in platforms.items():
            upsert_accounts(db.session, platform_id, [
                AccountIn(id=f"{slug}-spammer{i}", username=f"s{i}", phone_hash=str(i) * 64)
                for i in range(WAVE)] + [AccountIn(id=f"{slug}-reporter", username="r")])
        create_moderator(db.session, "senior@example.org", "lantern-kiwi-9", "senior")
        create_moderator(db.session, "mod@example.org", "lantern-kiwi-9", "moderator")
        db.session.flush()
        reporter = db.session.scalars(select(Account.id).where(
            Account.platform_user_id == "web-reporter")).one()
        case_ids = []
        for i in range(WAVE):
            account = db.session.scalars(select(Account).where(
                Account.platform_user_id == f"web-spammer{i}")).one()
            case = Case(person_id=account.person_id, due_at=utcnow(),
                        primary_category="spam_scam")
            db.session.add(case)
            db.session.flush()
            db.session.add(_report(f"rep-{i}", account, reporter, case.id))
            case_ids.append(case.id)
        db.session.commit()
        return case_ids


def _report(report_id: str, account: Account, reporter: int, case_id: int) -> Report:
    return Report(platform_id=account.platform_id, platform_report_id=report_id,
                  reporter_account_id=reporter, reported_account_id=account.id,
                  category="spam_scam", created_at=utcnow(), received_at=utcnow(),
                  status="cased", case_id=case_id)


def _bulk(app: Flask, case_ids: list[int], template: ActionTemplate | None = BAN,
          role: str = "senior"):
    with app.app_context():
        result = bulk_decide(db.session, case_ids, moderator_id=staff_id("senior@example.org"),
                             role=role, decision=Decision.VIOLATION, action_template=template,
                             reason="spam wave from one script")
        db.session.commit()
        enqueue_deliveries(result.delivery_ids)
    drain(app)
    return result


def _undo(app: Flask, bulk_id: int, window: timedelta = DEFAULT_UNDO_WINDOW):
    with app.app_context():
        undone = undo_bulk(db.session, bulk_id, moderator_id=staff_id("senior@example.org"),
                           role="senior", window=window)
        db.session.commit()
        enqueue_deliveries(undone.delivery_ids)
    drain(app)
    return undone


def _states(servers: dict[str, PlatformServer]) -> set[str]:
    return {state for s in servers.values() for user, state in s.state.items()
            if "spammer" in user}


def test_bulk_ban_then_undo_reverses_everything_everywhere(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    result = _bulk(app, wave)
    assert result.decided == WAVE and result.failed == []
    assert all(len(server.state) == WAVE for server in servers.values())
    assert _states(servers) == {"banned"}
    with app.app_context():
        op = db.session.get_one(BulkOperation, result.bulk_id)
        assert op.action_template is not None
        assert op.decided_count == WAVE and op.action_template["type"] == "ban"
        items = op.items
        assert [i.case_id for i in items] == wave and all(i.outcome == "decided" for i in items)
        assert all(i.action_id and i.strike_id and i.delivery_ids for i in items)
        assert {c.status for c in db.session.scalars(select(Case))} == {"actioned"}

    undone = _undo(app, result.bulk_id)
    assert sorted(undone.reopened_case_ids) == sorted(wave)
    assert _states(servers) == {"active"}  # the unbans reached every platform
    with app.app_context():
        assert {a.status for a in db.session.scalars(select(Action).where(
            Action.type == "ban"))} == {"reversed"}
        assert all(s.removed_at is not None for s in db.session.scalars(select(Strike)))
        cases = db.session.scalars(select(Case)).all()
        assert {(c.status, c.decision, c.decided_at) for c in cases} == {("open", None, None)}
        assert db.session.get_one(BulkOperation, result.bulk_id).undone_at is not None
        assert {i.outcome for i in db.session.scalars(select(BulkOperationItem))} == {"undone"}
        # Decided again, each case tells its reporters the new outcome.
        decide_case(db.session, wave[0], moderator_id=staff_id("mod@example.org"),
                    role="moderator", decision=Decision.DISMISSED)
        db.session.commit()
        outcomes = db.session.scalars(select(EnforcementDelivery.payload).where(
            EnforcementDelivery.event == "outcome").order_by(EnforcementDelivery.id)).all()
        assert [o["outcome"] for o in outcomes][-1] == "no_violation_found"


def test_undo_also_lifts_the_step_the_strikes_applied(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    with app.app_context():
        first = db.session.get_one(Case, wave[0])
        db.session.add(Strike(person_id=first.person_id, category="spam_scam",
                              expires_at=utcnow() + timedelta(days=30)))
        db.session.commit()
    result = _bulk(app, wave, ActionTemplate(ActionType.MUTE, "spam_scam", timedelta(days=1)))
    stepped = [i for i in result.items if i.step_action_id]
    assert [i.case_id for i in stepped] == [wave[0]]
    assert servers["web"].state["web-spammer0"] == "suspended"
    assert servers["web"].state["web-spammer1"] == "muted"
    undone = _undo(app, result.bulk_id)
    assert stepped[0].step_action_id in undone.lifted_action_ids
    assert _states(servers) == {"active"}
    with app.app_context():
        assert db.session.get_one(Action, stepped[0].step_action_id).status == "reversed"
        assert db.session.get_one(Account, db.session.scalars(select(Account.id).where(
            Account.platform_user_id == "web-spammer0")).one()).status == "active"


def test_undo_is_refused_once_the_window_has_closed(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    result = _bulk(app, wave)
    with app.app_context():
        db.session.execute(update(BulkOperation).values(
            created_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
        with pytest.raises(BulkError, match="10-minute window has closed"):
            undo_bulk(db.session, result.bulk_id, moderator_id=staff_id("senior@example.org"),
                      role="senior")
        db.session.rollback()
    assert _states(servers) == {"banned"}
    # A longer configured window still allows it.
    _undo(app, result.bulk_id, window=timedelta(minutes=30))
    assert _states(servers) == {"active"}
    with app.app_context(), pytest.raises(BulkError, match="already undone"):
        undo_bulk(db.session, result.bulk_id, moderator_id=staff_id("senior@example.org"),
                  role="senior", window=timedelta(minutes=30))


def test_a_moderator_may_neither_decide_in_bulk_nor_undo(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    with pytest.raises(BulkAuthorityError):
        _bulk(app, wave, role="moderator")
    result = _bulk(app, wave)
    with app.app_context():
        with pytest.raises(BulkAuthorityError):
            undo_bulk(db.session, result.bulk_id, moderator_id=staff_id("mod@example.org"),
                      role="moderator")
        db.session.rollback()
        assert db.session.scalars(select(BulkOperation.id)).all() == [result.bulk_id]
    assert _states(servers) == {"banned"}


def test_cases_that_cannot_be_decided_are_reported_and_the_rest_go_through(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == wave[1]).values(
            status="claimed", assignee_id=staff_id("mod@example.org")))
        db.session.commit()
    result = _bulk(app, [wave[0], wave[1], wave[2], wave[0]])
    assert [i.case_id for i in result.items] == wave
    assert [i.decided for i in result.items] == [True, False, True]
    assert "claimed by another moderator" in (result.items[1].error or "")
    assert servers["web"].state == {"web-spammer0": "banned", "web-spammer2": "banned"}
    with app.app_context():
        assert db.session.get_one(Case, wave[1]).status == "claimed"
        assert db.session.scalars(select(Strike.case_id).order_by(Strike.case_id)).all() == [
            wave[0], wave[2]]
    _undo(app, result.bulk_id)
    with app.app_context():
        assert db.session.get_one(Case, wave[1]).status == "claimed"  # untouched by the undo
        assert db.session.get_one(Case, wave[0]).status == "open"


def test_undo_folds_a_case_opened_meanwhile_into_the_reopened_one(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int]
) -> None:
    result = _bulk(app, wave)
    with app.app_context():
        old = db.session.get_one(Case, wave[0])
        account = db.session.scalars(select(Account).where(
            Account.platform_user_id == "web-spammer0")).one()
        newer = Case(person_id=old.person_id, due_at=utcnow(), primary_category="spam_scam")
        db.session.add(newer)
        db.session.flush()
        db.session.add(_report("rep-late", account, account.id, newer.id))
        db.session.commit()
        newer_id = newer.id
    _undo(app, result.bulk_id)
    with app.app_context():
        assert db.session.get_one(Case, wave[0]).status == "open"
        assert db.session.get_one(Case, newer_id).status == "dismissed"
        assert sorted(db.session.scalars(select(Report.platform_report_id).where(
            Report.case_id == wave[0]))) == ["rep-0", "rep-late"]


@pytest.mark.parametrize(("decision", "template", "reason", "field"), [
    (Decision.VIOLATION, ActionTemplate(ActionType.WARN, "spam_scam"), "wave", "action_template"),
    (Decision.VIOLATION, ActionTemplate(ActionType.REMOVE_CONTENT, "spam_scam"), "wave",
     "action_template"),
    (Decision.DISMISSED, BAN, "wave", "action_template"),
    (Decision.VIOLATION, BAN, "   ", "reason"),
])
def test_requests_bulk_cannot_carry_out_are_refused_whole(
    app: Flask, servers: dict[str, PlatformServer], wave: list[int], decision: Decision,
    template: ActionTemplate, reason: str, field: str
) -> None:
    with app.app_context():
        with pytest.raises(BulkError) as err:
            bulk_decide(db.session, wave, moderator_id=staff_id("senior@example.org"),
                        role="senior", decision=decision, action_template=template,
                        reason=reason)
        assert err.value.field == field
        for case_ids in ([], [wave[0], 999_999]):
            with pytest.raises(BulkError) as err:
                bulk_decide(db.session, case_ids, moderator_id=staff_id("senior@example.org"),
                            role="senior", decision=decision, action_template=None,
                            reason="x")
            assert err.value.field == "case_ids"
        db.session.rollback()
        assert db.session.scalars(select(BulkOperation)).all() == []
