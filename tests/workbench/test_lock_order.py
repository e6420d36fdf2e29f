"""Transactions that touch the same rows take their locks so they cannot deadlock.

Found by the soak on PostgreSQL (its log named each deadlock): a moderator's decision
against reports being filed into the same case, an action against rows inserted for the
same person, two jobs opening cases for the same people, and a classify job holding the
audit chain while changing a case a moderator held. Each test sets up the other
transaction by hand, holds it open, and checks the second one neither waits for it
(``lock_timeout``) nor deadlocks with it. SQLite has one writer at a time: PostgreSQL only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from actions.decisions import Decision, decide_case
from actions.enforcement import ActionRequest, apply_action
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.current import settings
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, Action, AuditEvent, Case, OutboxBatch, Report, utcnow
from workbench.models.audit import record, verify_chain
from workbench.staff import create_moderator

NOW = "2026-11-20T10:00:00Z"
SPAM = ("WINNER!! As a valued network customer you have been selected to receive a £900 "
        "prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.")


@pytest.fixture
def pg(app: Flask, database_url: str) -> Flask:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks between concurrent writers need PostgreSQL")
    return app


def _report(api: PlatformApi, rid: str, user: str) -> None:
    r = api.post("/api/v1/reports", {"reports": [
        {"id": rid, "reporter_id": f"by-{rid}", "reported_user_id": user,
         "category": "harassment", "created_at": NOW}]})
    assert r.status_code == 202, r.json


def _case_and_person(app: Flask, user: str) -> tuple[int, int]:
    with app.app_context():
        person = db.session.scalars(select(Account.person_id)
                                    .where(Account.platform_user_id == user)).one()
        case = db.session.scalars(select(Case.id).where(Case.person_id == person)).one()
        return case, person


def _moderator(app: Flask) -> int:
    with app.app_context():
        mod = create_moderator(db.session, "mod@example.org", "lantern-kiwi-9", "senior")
        db.session.commit()
        return mod.id


def _waiting_at_most(session: Session, seconds: int) -> Session:
    session.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))
    return session


def _until_someone_waits(timeout: float = 60.0) -> None:
    """Until a transaction of this database waits on a lock (the one the test set up)."""
    deadline = time.monotonic() + timeout
    with Session(db.engine) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))
            watcher.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("nothing came to wait on the lock the test holds")


def _in_thread(app: Flask, work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        with app.app_context():
            try:
                out["result"] = work()
            except Exception as exc:  # noqa: BLE001 - the test asserts on it
                out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_decision_does_not_wait_for_a_report_being_filed_into_the_case(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    _report(platforms["calls"], "r1", "u1")
    run_jobs(pg)
    case_id, _ = _case_and_person(pg, "u1")
    moderator = _moderator(pg)
    with pg.app_context(), Session(db.engine) as filing, Session(db.engine) as deciding:
        report = filing.scalars(select(Report)).one()
        # A worker files a new report into the case: its foreign key locks the case row
        # (FOR KEY SHARE) until that job commits.
        filing.add(Report(platform_id=report.platform_id, platform_report_id="r2",
                          reported_account_id=report.reported_account_id, category="hate",
                          created_at=utcnow(), received_at=utcnow(), status="cased",
                          case_id=case_id, source="user"))
        filing.flush()
        decided = decide_case(_waiting_at_most(deciding, 2), case_id, moderator_id=moderator,
                              role="senior", decision=Decision.DISMISSED)
        assert decided.case_id == case_id
        deciding.rollback()
        filing.rollback()


def test_an_action_does_not_wait_for_a_row_inserted_for_the_person(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    _report(platforms["calls"], "r1", "u1")
    run_jobs(pg)
    _, person_id = _case_and_person(pg, "u1")
    moderator = _moderator(pg)
    with pg.app_context(), Session(db.engine) as intake, Session(db.engine) as acting:
        account = intake.scalars(select(Account).where(Account.platform_user_id == "u1")).one()
        # Another request links a new account to the person (its foreign key locks the
        # person row FOR KEY SHARE until it commits).
        intake.add(Account(platform_id=account.platform_id, platform_user_id="u1-second",
                           person_id=person_id, status="active"))
        intake.flush()
        action = apply_action(_waiting_at_most(acting, 2), ActionRequest(
            type=ActionType.WARN, person_id=person_id, policy_reason="harassment",
            decided_by_id=moderator))
        assert action.person_id == person_id
        acting.rollback()
        intake.rollback()


def test_two_jobs_opening_cases_for_the_same_people_do_not_deadlock(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    api = platforms["calls"]
    # Reports about "second" first (lower report id), then about "first": the job below
    # meets the people in the opposite order of their ids.
    _report(api, "r-first-person", "first")
    for rid, user in (("a", "second"), ("b", "first"), ("c", "first"), ("d", "second")):
        _report(api, rid, user)
    with pg.app_context():
        run_jobs(pg)  # files everything; the cases are then closed to open new ones below
        db.session.execute(update(Case).values(status="dismissed"))
        db.session.execute(update(Report).values(status="pending", case_id=None))
        db.session.commit()
        ids = dict(db.session.execute(select(Report.platform_report_id, Report.id)).all())
        policy = case_policy(settings(), db.session)
    with pg.app_context(), Session(db.engine) as other:
        file_reports(other, [ids["b"]], policy)  # holds the new case of "first"
        thread, out = _in_thread(pg, lambda: _file_and_commit(pg, [ids["a"], ids["c"]], policy))
        _until_someone_waits()  # the job waits on "first"'s case; it must hold nothing else
        file_reports(_waiting_at_most(other, 5), [ids["d"]], policy)  # then "second"'s
        other.commit()
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    with pg.app_context():
        open_cases = db.session.scalars(select(Case.person_id).where(Case.status == "open"))
        assert len(list(open_cases)) == 2


def _file_and_commit(app: Flask, report_ids: list[int], policy: Any) -> list[int]:
    with Session(db.engine) as session:
        touched = file_reports(session, report_ids, policy)
        session.commit()
        return touched


def test_a_classify_job_changes_cases_before_it_takes_the_audit_chain(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    from queues.jobs import process_batch

    api = platforms["calls"]
    _report(api, "r1", "spammer")
    run_jobs(pg)
    case_id, _ = _case_and_person(pg, "spammer")
    r = api.post("/api/v1/messages", {"messages": [
        {"id": "m1", "conversation_id": "c1", "sender_id": "spammer", "recipient_id": "u2",
         "text": SPAM, "sent_at": NOW}]})
    assert r.status_code == 202
    with pg.app_context():
        batch_id = db.session.scalars(select(OutboxBatch.id).where(
            OutboxBatch.kind == "messages")).one()
    with pg.app_context(), Session(db.engine) as moderator:
        # A moderator holds the case (the case page keeps the claim alive)...
        moderator.execute(update(Case).where(Case.id == case_id)
                          .values(last_activity_at=utcnow()))
        thread, out = _in_thread(pg, lambda: process_batch(batch_id))
        _until_someone_waits()  # the job reaches the case and waits for the moderator
        # ... and appends to the audit chain, which the job must not be holding.
        record(_waiting_at_most(moderator, 5), "case.viewed", "case", case_id)
        moderator.commit()
    thread.join(timeout=60)
    assert "error" not in out, out.get("error")
    with pg.app_context():
        muted = db.session.scalars(select(Action).where(Action.automated)).one()
        assert muted.type == "mute"


def test_a_report_filed_while_its_case_is_decided_is_not_slipped_into_the_closed_case(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    _report(platforms["calls"], "r1", "u1")
    run_jobs(pg)
    case_id, _ = _case_and_person(pg, "u1")
    moderator = _moderator(pg)
    _report(platforms["calls"], "r3", "u1")  # the same person: waits for its batch job
    with pg.app_context():
        late = db.session.scalars(select(Report.id).where(
            Report.platform_report_id == "r3")).one()
        policy = case_policy(settings(), db.session)
    with pg.app_context(), Session(db.engine) as deciding:
        decide_case(deciding, case_id, moderator_id=moderator, role="senior",
                    decision=Decision.DISMISSED)  # decided, told "calls", not committed
        thread, out = _in_thread(pg, lambda: _file_and_commit(pg, [late], policy))
        thread.join(timeout=2.0)
        deciding.commit()
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    with pg.app_context():
        report = db.session.get_one(Report, late)
        assert report.case_id != case_id  # it opened a new case instead
        assert db.session.get_one(Case, report.case_id).status == "open"


def test_a_claim_that_records_then_releases_does_not_deadlock_with_a_writer_of_that_case(
        pg: Flask, platforms: dict[str, PlatformApi]) -> None:
    """The soak's "next" 503: claiming records "case.claimed" and then releases an older
    claim (an UPDATE of that case) while a job, which has already changed that case, is
    about to record its own event. Recording took the chain's lock at once, so each
    waited for the other. Now the chain is extended at commit, after every row lock."""
    _report(platforms["calls"], "r1", "u1")
    _report(platforms["calls"], "r2", "u2")
    run_jobs(pg)
    held, _ = _case_and_person(pg, "u1")
    claimed, _ = _case_and_person(pg, "u2")
    with pg.app_context(), Session(db.engine) as job:
        job.execute(update(Case).where(Case.id == held).values(last_activity_at=utcnow()))

        def claim_then_release() -> None:
            with Session(db.engine) as claiming:
                record(claiming, "case.claimed", "case", claimed)
                claiming.execute(update(Case).where(Case.id == held)
                                 .values(assignee_id=None, claimed_at=None))
                claiming.commit()

        thread, out = _in_thread(pg, claim_then_release)
        _until_someone_waits()  # the claim has recorded and waits for the job's row
        record(_waiting_at_most(job, 5), "case.refiled", "case", held)
        job.commit()
    thread.join(timeout=60)
    assert not thread.is_alive() and "error" not in out, out.get("error")
    with pg.app_context():
        verbs = db.session.scalars(select(AuditEvent.verb).order_by(AuditEvent.id)).all()
        assert verbs[-2:] == ["case.refiled", "case.claimed"]
        assert verify_chain(db.session).ok
