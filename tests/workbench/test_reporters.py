"""Reporters: accuracy, and marks that make an abusive reporter's reports sink."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from actions.decisions import Decision, decide_case
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from tests.support.present import present
from workbench.cases.policy import case_policy
from workbench.cases.reporters import (
    ReporterAuthorityError,
    ReporterError,
    accuracy,
    current_marks,
    mark_reporter,
    reporter_profile,
    unmark_reporter,
)
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Account, AuditEvent, Case, Moderator, Report
from workbench.staff import create_moderator


def _report(api: PlatformApi, report_id: str, reporter: str, user: str, category: str) -> None:
    r = api.post("/api/v1/reports", {"reports": [{
        "id": report_id, "reporter_id": reporter, "reported_user_id": user,
        "category": category, "created_at": datetime.now(UTC).isoformat()}]})
    assert r.status_code == 202, r.json


@pytest.fixture
def staff(app: Flask) -> dict[str, int]:
    with app.app_context():
        out = {role: create_moderator(db.session, f"{role}@example.org", "lantern-kiwi-9",
                                      role).id for role in ("moderator", "senior")}
        db.session.commit()
        return out


def _account(user: str) -> int:
    return db.session.scalars(select(Account.id).where(Account.platform_user_id == user)).one()


def _priority(user: str) -> float:
    priority = db.session.scalars(select(Case.priority).join(Report, Report.case_id == Case.id)
                              .join(Account, Account.id == Report.reported_account_id)
                              .where(Account.platform_user_id == user)).first()
    assert priority is not None
    return priority


def _mark(staff: dict[str, int], user: str, role: str = "senior", reason: str = "spam reports"):
    return mark_reporter(db.session, _account(user), moderator_id=staff[role], role=role,
                         reason=reason, policy=case_policy(settings()))


def test_a_marked_reporters_reports_add_nothing_and_a_case_of_only_theirs_sinks(
    app: Flask, platforms: dict[str, PlatformApi], staff: dict[str, int]
) -> None:
    web = platforms["web"]
    _report(web, "r1", "troll", "alice", "violent_threat")  # only the troll
    _report(web, "r2", "honest", "spammer", "spam_scam")  # a mild case, honestly reported
    _report(web, "r3", "honest", "bully", "harassment")  # two reporters, one a troll
    _report(web, "r4", "troll", "bully", "child_safety")
    _report(web, "r5", "fair", "other-bully", "harassment")  # the same, without the troll
    run_jobs(app)
    with app.app_context():
        assert _priority("alice") > _priority("spammer")
        assert _priority("bully") > _priority("other-bully")
        _mark(staff, "troll")
        db.session.commit()
        assert _priority("alice") < _priority("spammer")
        assert _priority("alice") < 0  # below any case with a report that counts
        assert _priority("bully") == _priority("other-bully")
    # Reports arriving after the mark sink as well.
    _report(web, "r6", "troll", "carol", "self_harm")
    run_jobs(app)
    with app.app_context():
        assert _priority("carol") < _priority("spammer")
        unmark_reporter(db.session, _account("troll"), moderator_id=staff["senior"],
                        role="senior", reason="appealed; reports were genuine",
                        policy=case_policy(settings()))
        db.session.commit()
        assert _priority("alice") > _priority("spammer")
        assert _priority("carol") > _priority("spammer")


def test_marking_is_for_seniors_needs_a_reason_and_is_audited(
    app: Flask, platforms: dict[str, PlatformApi], staff: dict[str, int]
) -> None:
    _report(platforms["web"], "r1", "troll", "alice", "harassment")
    run_jobs(app)
    with app.app_context():
        with pytest.raises(ReporterAuthorityError):
            _mark(staff, "troll", role="moderator")
        with pytest.raises(ReporterError) as err:
            _mark(staff, "troll", reason="  ")
        assert err.value.field == "reason"
        mark = _mark(staff, "troll")
        with pytest.raises(ReporterError, match="already marked"):
            _mark(staff, "troll")
        db.session.commit()
        assert [m.id for m in current_marks(db.session)] == [mark.id]
        unmark_reporter(db.session, _account("troll"), moderator_id=staff["senior"],
                        role="senior", reason="mistake", policy=case_policy(settings()))
        db.session.commit()
        profile = reporter_profile(db.session, _account("troll"))
        assert profile.mark is None and len(profile.history) == 1
        assert profile.history[0].clear_reason == "mistake"
        assert current_marks(db.session) == []
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb.in_(("reporter.marked", "reporter.unmarked")))
            .order_by(AuditEvent.id)).all()
        assert [(e.verb, e.actor_id, present(e.data)["reason"]) for e in events] == [
            ("reporter.marked", str(staff["senior"]), "spam reports"),
            ("reporter.unmarked", str(staff["senior"]), "mistake")]
        # Marked again later: a new mark, the old one kept.
        _mark(staff, "troll", reason="again")
        db.session.commit()
        assert len(reporter_profile(db.session, _account("troll")).history) == 2
        with pytest.raises(ReporterError) as err:
            reporter_profile(db.session, 999_999)
        assert err.value.field == "account_id"


def test_accuracy_counts_upheld_dismissed_and_pending_reports(
    app: Flask, platforms: dict[str, PlatformApi], staff: dict[str, int]
) -> None:
    web = platforms["web"]
    for n, user in enumerate(("u1", "u2", "u3", "u4")):
        _report(web, f"r{n}", "rep", user, "harassment")
    run_jobs(app)
    with app.app_context():
        moderator = db.session.get_one(Moderator, staff["moderator"])
        cases = dict(db.session.execute(
            select(Account.platform_user_id, Report.case_id)
            .join(Report, Report.reported_account_id == Account.id)).all())
        for user, decision in (("u1", Decision.VIOLATION), ("u2", Decision.VIOLATION),
                               ("u3", Decision.DISMISSED)):
            decide_case(db.session, present(cases[user]), moderator_id=moderator.id,
                        role="moderator", decision=decision)
        db.session.commit()
        rep = _account("rep")
        figures = accuracy(db.session, [rep])[rep]
        assert (figures.upheld, figures.dismissed, figures.pending) == (2, 1, 1)
        assert figures.accuracy == pytest.approx(2 / 3)
        assert accuracy(db.session, [_account("u1")])[_account("u1")].accuracy is None
