"""Retention: the policy from configuration, and a purge of exactly what has expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from actions.retention import purge_audit_events, run_retention
from tests.support.jobs import run_jobs
from tests.support.legal_data import World, build_world
from workbench.current import settings
from workbench.extensions import db
from workbench.models import (
    AuditEvent,
    Case,
    ClassifierScore,
    Message,
    Recording,
    Report,
    utcnow,
)
from workbench.models.audit import event_hash, verify_chain
from workbench.rules.retention import (
    DEFAULT_RETENTION_DAYS,
    RetentionError,
    RetentionPolicy,
    retention_policy,
)
from workbench.settings import SETTINGS_KEY, SettingsError, load_settings
from workbench.storage import blob_store


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def test_the_defaults_follow_the_it_rules_and_keep_the_audit_log() -> None:
    assert retention_policy() == RetentionPolicy(messages=180, recordings=180, images=180,
                                                 removed_content=180, deleted_accounts=180,
                                                 audit_events=None)
    assert retention_policy({"messages": 90, "audit_events": 400}).messages == 90
    assert set(DEFAULT_RETENTION_DAYS) == {"messages", "recordings", "images",
                                           "removed_content", "deleted_accounts",
                                           "audit_events"}


@pytest.mark.parametrize("override, message", [
    ({"audit_events": 364}, "at least 365"),
    ({"messages": -1}, "whole number"),
    ({"messages": "180"}, "whole number"),
    ({"emails": 3}, "unknown data type 'emails'"),
])
def test_a_bad_retention_setting_stops_start_up_naming_it(override: dict[str, object],
                                                          message: str) -> None:
    with pytest.raises(RetentionError, match=message):
        retention_policy(override)
    with pytest.raises(SettingsError, match="WORKBENCH_RETENTION_DAYS: .*" + message):
        load_settings({"secret_key": "k" * 20}, environ={
            "WORKBENCH_RETENTION_DAYS": __import__("json").dumps(override)})


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_retention_purges_exactly_what_has_expired_and_audits_the_counts(
        app: Flask, world: World) -> None:
    with app.app_context():
        store = blob_store(settings())
        policy = RetentionPolicy()
        total = len(world.messages) + len(world.room_messages)
        early = run_retention(db.session, store, policy, now=utcnow() + timedelta(days=179))
        assert not early.purged and _count(Message) == total

        counts = run_retention(db.session, store, policy, now=utcnow() + timedelta(days=181))
        # The reported message is in an open case: kept until the case is decided.
        assert counts.as_dict()["purged"] == {"messages": total - 1, "recordings": 1,
                                              "recording_blobs": 1, "classifier_scores": 1}
        assert counts.as_dict()["kept_under_review"] == {"messages": 1}
        assert list(db.session.scalars(select(Message.id))) == [world.reported_message]
        assert _count(Recording) == 0 and not store.exists(world.recording_sha)
        # The message's score stays with it; the recording's went with the recording.
        assert list(db.session.scalars(select(ClassifierScore.content_type))) == ["message"]
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "retention.purged")).one()
        assert event.data is not None
        assert event.data["purged"] == counts.as_dict()["purged"]
        assert event.data["kept_under_review"] == {"messages": 1}
        assert event.data["policy"]["messages"] == 180

        db.session.execute(update(Case).values(status="actioned"))
        db.session.commit()
        run_retention(db.session, store, policy, now=utcnow() + timedelta(days=181))
        assert _count(Message) == 0
        report = db.session.get_one(Report, world.report_id)
        assert report.message_id is None and report.content_ref == {"message_id": "m3"}


def test_removed_content_is_kept_for_the_period_after_its_removal(app: Flask,
                                                                  world: World) -> None:
    with app.app_context():
        removed_at = utcnow() + timedelta(days=100)  # removed long after it arrived
        db.session.execute(update(Message).where(Message.id == world.messages[0])
                           .values(status="removed", removed_at=removed_at))
        db.session.execute(update(Case).values(status="actioned"))
        db.session.commit()
        store = blob_store(settings())
        run_retention(db.session, store, RetentionPolicy(), now=utcnow() + timedelta(days=181))
        assert list(db.session.scalars(select(Message.id))) == [world.messages[0]]
        run_retention(db.session, store, RetentionPolicy(),
                      now=removed_at + timedelta(days=181))
        assert _count(Message) == 0


def _append_old_events(n: int, days_ago: int) -> None:
    """Events from long ago, chained as ``record`` chains them (before any real event)."""
    db.session.execute(text("DELETE FROM audit_event") if db.engine.dialect.name == "sqlite"
                       else text("TRUNCATE audit_event"))
    prev = None
    for i in range(n):
        event = AuditEvent(at=utcnow() - timedelta(days=days_ago - i), actor_type="system",
                           verb="test.old", object_type="test", object_id=str(i), data={"i": i},
                           prev_hash=prev)
        event.hash = prev = event_hash(prev, event)
        db.session.add(event)
        db.session.flush()
    db.session.commit()


def test_old_audit_events_are_purged_only_when_configured_and_the_chain_still_verifies(
        app: Flask) -> None:
    with app.app_context():
        _append_old_events(5, days_ago=800)
        from workbench.models.audit import record

        record(db.session, "test.recent", "test", "r")
        db.session.commit()
        store = blob_store(settings())
        run_retention(db.session, store, RetentionPolicy())
        assert _count(AuditEvent) == 6  # never purged unless configured
        counts = run_retention(db.session, store, RetentionPolicy(audit_events=400))
        assert counts.purged["audit_events"] == 5
        verbs = list(db.session.scalars(select(AuditEvent.verb).order_by(AuditEvent.id)))
        assert verbs == ["test.recent", "retention.audit_purged", "retention.purged"]
        assert verify_chain(db.session).ok
        with pytest.raises(RetentionError):
            purge_audit_events(db.session, 30, utcnow())


def test_the_maintenance_job_runs_retention_with_the_configured_days(app: Flask,
                                                                     world: World) -> None:
    from queues.legal import maintenance
    from queues.names import QueueName
    from queues.runtime import queue

    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           retention_days={"messages": 0, "recordings": 0})
    with app.app_context():
        queue(QueueName.MAINTENANCE).enqueue(maintenance)
    run_jobs(app)
    with app.app_context():
        assert list(db.session.scalars(select(Message.id))) == [world.reported_message]
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "retention.purged")).one()
        assert event.data is not None
        assert event.data["purged"]["messages"] == 9
