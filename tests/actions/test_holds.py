"""Legal holds: what they cover, and that no deletion path touches what they cover."""

from __future__ import annotations

from datetime import timedelta
from typing import Unpack

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from actions.erasure import blocking_reasons, file_erasure_request, run_due_erasures
from actions.holds import (
    HoldError,
    held_cover,
    holds_covering,
    is_held,
    place_hold,
    release_hold,
)
from actions.retention import run_retention
from tests.support.legal_data import Subject, World, build_world
from tests.support.platform_api import PlatformApi
from workbench.current import settings
from workbench.extensions import db
from workbench.models import (
    Account,
    AuditEvent,
    Case,
    ErasureRequest,
    Message,
    Recording,
    utcnow,
)
from workbench.rules.retention import RetentionPolicy
from workbench.storage import blob_store

LATER = timedelta(days=400)  # past every retention period


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def _close_case(world: World) -> None:
    db.session.execute(update(Case).where(Case.id == world.case_id).values(status="actioned"))
    db.session.commit()


def _hold(world: World, **subject: Unpack[Subject]) -> int:
    hold = place_hold(db.session, reason="police preservation notice", reference="FIR 9/2026",
                      placed_by_id=world.legal_id, **subject)
    db.session.commit()
    return hold.id


def test_placing_and_releasing_a_hold_is_audited(app: Flask, world: World) -> None:
    with app.app_context():
        hold_id = _hold(world, person_id=world.person_id)
        assert is_held(db.session, person_id=world.person_id)
        release_hold(db.session, hold_id, released_by_id=world.legal_id, note="case closed")
        db.session.commit()
        assert not is_held(db.session, person_id=world.person_id)
        verbs = list(db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.object_type == "legal_hold").order_by(AuditEvent.id)))
        assert verbs == ["hold.placed", "hold.released"]
        with pytest.raises(HoldError, match="already released"):
            release_hold(db.session, hold_id, released_by_id=world.legal_id, note="answered")


def test_a_hold_is_not_released_without_a_reason(app: Flask, world: World) -> None:
    with app.app_context():
        hold_id = _hold(world, person_id=world.person_id)
        with pytest.raises(HoldError, match="reason"):
            release_hold(db.session, hold_id, released_by_id=world.legal_id, note="  ")
        db.session.rollback()
        assert is_held(db.session, person_id=world.person_id)


@pytest.mark.parametrize("subject, message", [
    ({}, "exactly one"),
    ({"person_id": 1, "case_id": 1}, "exactly one"),
    ({"person_id": 999}, "no person 999"),
])
def test_a_hold_names_exactly_one_existing_subject(app: Flask, world: World,
                                                   subject: Subject,
                                                   message: str) -> None:
    with app.app_context(), pytest.raises(HoldError, match=message):
        place_hold(db.session, reason="r", reference="ref", placed_by_id=world.legal_id,
                   **subject)


def test_a_person_hold_covers_every_account_message_recording_and_case(
        app: Flask, world: World) -> None:
    with app.app_context():
        _hold(world, person_id=world.person_id)
        assert is_held(db.session, account_id=world.accounts["web:w-harasser"])
        assert is_held(db.session, case_id=world.case_id)
        assert all(is_held(db.session, message_id=m) for m in world.messages)
        assert is_held(db.session, recording_id=world.recording_id)
        assert not is_held(db.session, message_id=world.room_messages[0])
        assert not is_held(db.session, account_id=world.bystander_account)
        # The victim's messages to the person are covered, the victim as such is not.
        assert not is_held(db.session, account_id=world.victim_account)


def test_a_case_hold_covers_the_reported_content_with_its_context_only(
        app: Flask, world: World) -> None:
    with app.app_context():
        _hold(world, case_id=world.case_id)
        assert all(is_held(db.session, message_id=m) for m in world.messages)
        assert is_held(db.session, account_id=world.accounts["calls:u-harasser"])
        assert not is_held(db.session, recording_id=world.recording_id)  # not reported
        assert not is_held(db.session, account_id=world.accounts["web:w-harasser"])
        assert not is_held(db.session, message_id=world.room_messages[0])
        cover = held_cover(db.session)
        assert set(world.messages) <= cover.messages
        # The victim is not a subject of the hold, but their messages in the conversation
        # are: erasing the victim's data waits for the hold too.
        assert holds_covering(db.session, person_id=world.victim_id) == []
        request = file_erasure_request(db.session, person_id=world.victim_id)
        assert blocking_reasons(db.session, request) == [
            f"legal hold 1 on case {world.case_id} (ref. FIR 9/2026)"]


def test_a_hold_ends_when_released_or_past_its_end(app: Flask, world: World) -> None:
    with app.app_context():
        hold = place_hold(db.session, reason="r", reference="ref", placed_by_id=world.legal_id,
                          account_id=world.accounts["calls:u-harasser"],
                          until=utcnow() + timedelta(days=30))
        db.session.commit()
        assert holds_covering(db.session, message_id=world.messages[0]) == [hold]
        assert holds_covering(db.session, message_id=world.messages[0],
                              now=utcnow() + timedelta(days=31)) == []


def _store_counts(world: World) -> tuple[int, int, bool]:
    messages = db.session.scalar(select(func.count()).select_from(Message))
    recordings = db.session.scalar(select(func.count()).select_from(Recording))
    return messages or 0, recordings or 0, blob_store(settings()).exists(world.recording_sha)


def test_retention_leaves_held_content_and_purges_it_once_released(
        app: Flask, world: World) -> None:
    with app.app_context():
        _close_case(world)
        hold_id = _hold(world, person_id=world.person_id)
        store = blob_store(settings())
        counts = run_retention(db.session, store, RetentionPolicy(), now=utcnow() + LATER)
        assert counts.purged["messages"] == len(world.room_messages)
        assert counts.as_dict()["kept_held"] == {"messages": len(world.messages),
                                                 "recordings": 1}
        assert _store_counts(world) == (len(world.messages), 1, True)
        release_hold(db.session, hold_id, released_by_id=world.legal_id, note="answered")
        db.session.commit()
        run_retention(db.session, store, RetentionPolicy(), now=utcnow() + LATER)
        assert _store_counts(world) == (0, 0, False)


def test_an_erasure_request_waits_while_a_hold_covers_the_person(app: Flask,
                                                                 world: World) -> None:
    with app.app_context():
        _close_case(world)
        hold_id = _hold(world, account_id=world.accounts["web:w-harasser"])
        request = file_erasure_request(db.session, person_id=world.person_id, reference="DSR-1")
        db.session.commit()
        store = blob_store(settings())
        assert run_due_erasures(db.session, store, RetentionPolicy()) == {"done": 0,
                                                                          "blocked": 1}
        db.session.refresh(request)
        assert request.status == "blocked"
        assert request.blocked_reason == (f"legal hold {hold_id} on account "
                                          f"{world.accounts['web:w-harasser']} (ref. FIR 9/2026)")
        assert _store_counts(world) == (len(world.messages) + len(world.room_messages), 1, True)
        blocked = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "erasure.blocked")).one()
        assert blocked.data is not None
        assert blocked.data["reasons"] == [request.blocked_reason]

        release_hold(db.session, hold_id, released_by_id=world.legal_id, note="answered")
        db.session.commit()
        assert run_due_erasures(db.session, store, RetentionPolicy())["done"] == 1
        db.session.refresh(request)
        assert request.status == "done" and request.blocked_reason is None
        harasser = db.session.get_one(Account, world.accounts["calls:u-harasser"])
        assert (harasser.username, harasser.phone_hash, harasser.status) == (None, None,
                                                                             "deleted")
        sent = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.sender_account_id == harasser.id))
        assert sent == 0
        assert request.erased["messages"] == 3 and request.erased["recording_blobs"] == 1
        assert not blob_store(settings()).exists(world.recording_sha)


def test_an_open_case_blocks_an_erasure_request(app: Flask, world: World) -> None:
    with app.app_context():
        request = file_erasure_request(db.session, person_id=world.person_id)
        db.session.commit()
        run_due_erasures(db.session, blob_store(settings()), RetentionPolicy())
        db.session.refresh(request)
        assert request.status == "blocked"
        assert request.blocked_reason is not None
        assert f"open case {world.case_id}" in request.blocked_reason


def test_a_platform_deleting_a_held_account_deletes_nothing(app: Flask, world: World) -> None:
    api = PlatformApi(app.test_client(), "calls", "secret-calls-0123456789")
    account = world.accounts["calls:u-harasser"]
    with app.app_context():
        _close_case(world)
        hold_id = _hold(world, person_id=world.person_id)
    r = api.post("/api/v1/accounts", {"accounts": [
        {"id": "u-harasser", "username": "Harasser", "status": "deleted"}]})
    assert r.status_code == 202, r.json
    with app.app_context():
        request = db.session.scalars(select(ErasureRequest)).one()
        assert (request.kind, request.account_id) == ("account_deleted", account)
        assert request.not_before - request.received_at == timedelta(days=180)
        assert db.session.get_one(Account, account).status == "deleted"
        store = blob_store(settings())
        # Not before the retention period; then blocked by the hold.
        assert run_due_erasures(db.session, store, RetentionPolicy())["blocked"] == 0
        run_due_erasures(db.session, store, RetentionPolicy(), now=utcnow() + LATER)
        db.session.refresh(request)
        assert request.status == "blocked" and request.blocked_reason is not None
        assert f"legal hold {hold_id}" in request.blocked_reason
        assert db.session.get_one(Account, account).username == "Harasser"
        assert _store_counts(world)[1:] == (1, True)
        release_hold(db.session, hold_id, released_by_id=world.legal_id, note="answered")
        db.session.commit()
        run_due_erasures(db.session, store, RetentionPolicy(), now=utcnow() + LATER)
        db.session.refresh(request)
        assert request.status == "done"
        assert db.session.get_one(Account, account).username is None
        assert _store_counts(world)[1:] == (0, False)
        # The same account on the other platform was not deleted there: it keeps its data.
        assert db.session.get_one(Account, world.accounts["web:w-harasser"]).username


def test_an_unknown_account_status_is_refused_with_a_422(app: Flask, world: World) -> None:
    api = PlatformApi(app.test_client(), "calls", "secret-calls-0123456789")
    r = api.post("/api/v1/accounts", {"accounts": [
        {"id": "u-harasser", "username": "Harasser", "status": "gone"}]})
    assert r.status_code == 422
    assert r.json["error"]["field"].endswith("status")
