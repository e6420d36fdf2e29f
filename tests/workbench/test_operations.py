"""Operations: queue depths, failed jobs and their retry on a real Redis, deliveries per
platform with dead letters retried to a real platform server, and the audit log."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.enforcement import ActionRequest, apply_action
from queues.enforce import deliver_due, enqueue_deliveries
from queues.names import QueueName
from queues.runtime import queue
from tests.support.app import TEST_SECRET_KEY
from tests.support.jobs import run_jobs
from tests.support.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.current import redis_connection
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, AuditEvent, EnforcementDelivery, Platform, utcnow
from workbench.models.audit import record
from workbench.platforms import register_platform
from workbench.reporting.operations import (
    AuditFilter,
    OperationsAuthorityError,
    OperationsError,
    audit_log,
    dead_letters,
    delivery_overview,
    failed_jobs,
    queue_depths,
    retry_dead_deliveries,
    retry_failed_job,
    retry_failed_jobs,
)


def test_a_failed_job_is_listed_with_its_error_and_retried(app: Flask, tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    with app.app_context():
        connection = redis_connection()
        job = queue(QueueName.MAINTENANCE).enqueue(os.remove, str(missing))
        assert {d.name: d.queued for d in queue_depths(connection)}["maintenance"] == 1
    run_jobs(app)
    with app.app_context():
        depths = {d.name: d for d in queue_depths(connection)}
        assert depths["maintenance"].queued == 0 and depths["maintenance"].failed == 1
        [failed] = failed_jobs(connection)
        assert failed.id == job.id and failed.queue == "maintenance"
        assert failed.function == "posix.remove"
        assert failed.error is not None and failed.error.startswith("FileNotFoundError")
        assert failed.failed_at is not None and utcnow() - failed.failed_at < timedelta(minutes=1)
        with pytest.raises(OperationsAuthorityError):
            retry_failed_job(db.session, connection, job.id, moderator_id=1, role="moderator")
        missing.write_text("now it exists")  # what the job needed is there now
        retry_failed_job(db.session, connection, job.id, moderator_id=7, role="admin")
        db.session.commit()
        assert {d.name: d.queued for d in queue_depths(connection)}["maintenance"] == 1
        with pytest.raises(OperationsError) as err:
            retry_failed_job(db.session, connection, job.id, moderator_id=7, role="admin")
        assert err.value.field == "job_id"
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "job.retried")).one()
        assert event.object_id == job.id and event.actor_id == "7"
    run_jobs(app)
    assert not missing.exists()
    with app.app_context():
        assert failed_jobs(connection) == []


def test_every_failed_job_of_a_queue_can_be_retried_at_once(app: Flask, tmp_path: Path) -> None:
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    with app.app_context():
        ids = [queue(QueueName.EXPORT).enqueue(os.remove, str(tmp_path / f"f{n}")).id
               for n in range(3)]
    run_jobs(app)
    with app.app_context():
        connection = redis_connection()
        assert sorted(j.id for j in failed_jobs(connection, "export")) == sorted(ids)
        with pytest.raises(OperationsError) as err:
            failed_jobs(connection, "no-such-queue")
        assert err.value.field == "queue"
        for n in range(3):
            (tmp_path / f"f{n}").write_text("x")
        retried = retry_failed_jobs(db.session, connection, moderator_id=7, role="senior",
                                    queue="export")
        db.session.commit()
        assert sorted(retried) == sorted(ids)
    run_jobs(app)
    with app.app_context():
        assert failed_jobs(redis_connection()) == []
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def web(app: Flask) -> Iterator[PlatformServer]:
    """A real platform server (web) and a platform with no server at all (calls)."""
    server = PlatformServer("web", "secret-web-0123456789")
    server.start()
    with app.app_context():
        for slug, url in (("web", server.url), ("calls", "http://127.0.0.1:9/calls")):
            register_platform(db.session, TEST_SECRET_KEY, slug, secret=f"secret-{slug}-0123456789",
                              webhook_url=url)
            platform_id = db.session.scalars(select(Platform.id).where(Platform.slug == slug)).one()
            upsert_accounts(db.session, platform_id, [AccountIn(id=f"{slug}-user", username="u",
                                                                phone_hash="e" * 64)])
        db.session.commit()
    yield server
    server.stop()


def test_deliveries_per_platform_and_dead_letters_retried(app: Flask, web: PlatformServer) -> None:
    web.fail_next = 100  # the web platform is down for now
    with app.app_context():
        person = db.session.scalars(select(Account.person_id)).first()
        assert person is not None
        action = apply_action(db.session, ActionRequest(
            type=ActionType.BAN, person_id=person, policy_reason="fraud", decided_by_rule="test"))
        ids = [d.id for d in action.deliveries]
        db.session.commit()
        enqueue_deliveries(ids)
    run_jobs(app)
    with app.app_context():
        overview = {p.platform: p for p in delivery_overview(db.session)}
        assert (overview["web"].pending, overview["calls"].pending) == (1, 1)
        assert overview["web"].oldest_pending_at is not None
        # A day later, the retries have run out.
        db.session.execute(update(EnforcementDelivery).values(
            created_at=utcnow() - timedelta(hours=25), next_attempt_at=utcnow()))
        db.session.commit()
        deliver_due()
        overview = {p.platform: p for p in delivery_overview(db.session)}
        assert (overview["web"].dead, overview["calls"].dead) == (1, 1)
        assert overview["web"].oldest_pending_at is None
        first = dead_letters(db.session, limit=1)
        assert len(first.rows) == 1 and first.next_before_id is not None
        second = dead_letters(db.session, limit=1, before_id=first.next_before_id)
        assert len(second.rows) == 1 and second.next_before_id is None
        assert {first.rows[0].platform, second.rows[0].platform} == {"web", "calls"}
        [dead_web] = [r for r in first.rows + second.rows if r.platform == "web"]
        assert dead_web.last_status_code == 500 and dead_web.attempts >= 1
        with pytest.raises(OperationsAuthorityError):
            retry_dead_deliveries(db.session, [dead_web.id], moderator_id=1, role="moderator")
        web.fail_next = 0  # the platform is back
        retried = retry_dead_deliveries(db.session, [dead_web.id], moderator_id=7, role="senior")
        db.session.commit()
        enqueue_deliveries(retried)
    run_jobs(app)
    assert web.state == {"web-user": "banned"}
    with app.app_context():
        overview = {p.platform: p for p in delivery_overview(db.session)}
        assert (overview["web"].delivered, overview["web"].dead) == (1, 0)
        with pytest.raises(OperationsError) as err:
            retry_dead_deliveries(db.session, [dead_web.id], moderator_id=7, role="senior")
        assert err.value.field == "delivery_ids"


def test_the_audit_log_filters_and_pages_newest_first(app: Flask) -> None:
    with app.app_context():
        for n in range(5):
            record(db.session, "case.decided", "case", n, actor_type="moderator", actor_id="3")
        record(db.session, "case.escalated", "case", 9, actor_type="moderator", actor_id="4")
        record(db.session, "reporter.marked", "account", 1, actor_type="moderator", actor_id="4")
        record(db.session, "casework.other", "case", 1)
        db.session.commit()
        everything = audit_log(db.session)
        assert [e.verb for e in everything.rows][:2] == ["casework.other", "reporter.marked"]
        assert everything.next_before_id is None and len(everything.rows) == 8
        prefix = audit_log(db.session, AuditFilter(verb="case."))
        assert {e.verb for e in prefix.rows} == {"case.decided", "case.escalated"}
        by_actor = audit_log(db.session, AuditFilter(actor_type="moderator", actor_id="4"))
        assert [e.verb for e in by_actor.rows] == ["reporter.marked", "case.escalated"]
        on_object = audit_log(db.session, AuditFilter(object_type="case", object_id="9"))
        assert [e.verb for e in on_object.rows] == ["case.escalated"]
        pages, before = [], None
        while True:
            page = audit_log(db.session, AuditFilter(verb="case.decided"), limit=2,
                             before_id=before)
            pages.append([e.object_id for e in page.rows])
            if page.next_before_id is None:
                break
            before = page.next_before_id
        assert pages == [["4", "3"], ["2", "1"], ["0"]]
        now = utcnow()
        assert audit_log(db.session, AuditFilter(since=now + timedelta(minutes=1))).rows == []
        assert len(audit_log(db.session, AuditFilter(until=now + timedelta(minutes=1))).rows) == 8
        for kwargs, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"),
                              ({"filters": AuditFilter(since=now, until=now - timedelta(1))},
                               "until")):
            with pytest.raises(OperationsError) as err:
                audit_log(db.session, **kwargs)
            assert err.value.field == field
