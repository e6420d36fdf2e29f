"""A person's data rights: erasure with its deadline, and the access export."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.erasure import (
    ErasureError,
    export_personal_data,
    file_erasure_request,
    run_due_erasures,
)
from actions.retention import run_retention
from tests.support.legal_data import World, build_world
from tests.support.present import present
from workbench.current import settings
from workbench.extensions import db
from workbench.models import AuditEvent, Case, Message, Recording, utcnow
from workbench.models.legal import ErasureKind
from workbench.rules.retention import RetentionPolicy
from workbench.storage import blob_store


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def test_an_erasure_request_is_due_in_thirty_days_by_default(app: Flask, world: World) -> None:
    received = utcnow() - timedelta(days=2)
    with app.app_context():
        request = file_erasure_request(db.session, person_id=world.victim_id,
                                       kind=ErasureKind.CONSENT_WITHDRAWN, received_at=received)
        assert request.due_at == received + timedelta(days=30)
        shorter = file_erasure_request(db.session, person_id=world.victim_id,
                                       deadline_days=15, received_at=received)
        assert shorter.due_at == received + timedelta(days=15)
        db.session.commit()  # the events join the audit chain at commit
        requested = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "erasure.requested")).all()
        assert [present(e.data)["kind"] for e in requested] == ["consent_withdrawn", "erasure"]
        with pytest.raises(ErasureError, match="no person"):
            file_erasure_request(db.session, person_id=999)


def test_erasure_keeps_content_removed_too_recently_for_the_law(app: Flask,
                                                                world: World) -> None:
    with app.app_context():
        removed = world.messages[1]  # one the person sent
        db.session.execute(update(Message).where(Message.id == removed)
                           .values(status="removed", removed_at=utcnow()))
        db.session.execute(update(Case).values(status="actioned"))
        request = file_erasure_request(db.session, person_id=world.person_id)
        db.session.commit()
        store = blob_store(settings())
        assert run_due_erasures(db.session, store, RetentionPolicy())["done"] == 1
        db.session.refresh(request)
        assert request.erased is not None
        assert request.erased["kept_removed_content"] == 1
        assert request.erased["messages"] == 2
        sent = set(db.session.scalars(select(Message.id).where(
            Message.sender_account_id == world.accounts["calls:u-harasser"])))
        assert sent == {removed}
        run_retention(db.session, store, RetentionPolicy(), now=utcnow() + timedelta(days=181))
        assert db.session.get(Message, removed) is None


def test_the_access_export_holds_the_persons_own_data_only(app: Flask, world: World) -> None:
    with app.app_context():
        data = export_personal_data(db.session, world.person_id,
                                    requested_by_id=world.legal_id)
        db.session.commit()
        zf = zipfile.ZipFile(io.BytesIO(data))
        assert "reports_about_you.json" in zf.read("README.txt").decode()
        files = {n: json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")}
        assert {a["platform"] for a in files["profile.json"]} == {"calls", "web"}
        assert [m["text"] for m in files["messages.json"]] == [
            "hello", "you are a pathetic loser and everybody hates you",
            "=HYPERLINK(\"http://x\")"]
        assert files["reports_about_you.json"][0] == {
            "category": "harassment",
            "created_at": files["reports_about_you.json"][0]["created_at"]}
        assert "he keeps insulting me" not in json.dumps(files)  # the reporter's words
        assert files["actions.json"][0]["statement_of_reasons"]["decision_account"]
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "data_access.exported")).one()
        assert event.data is not None
        assert event.data["counts"]["messages"] == 3
        with pytest.raises(ErasureError):
            export_personal_data(db.session, 999)


def test_the_access_export_labels_a_guess_at_other_language_speech(app: Flask,
                                                                   world: World) -> None:
    with app.app_context():
        db.session.get_one(Recording, world.recording_id).transcript_status = \
            "no_transcript_language"
        db.session.commit()
        zf = zipfile.ZipFile(io.BytesIO(export_personal_data(db.session, world.person_id)))
        recording, = json.loads(zf.read("recordings.json"))
        assert recording["transcript_status"] == "no_transcript_language"
        assert recording["transcript"] is None
        assert recording["machine_guess"] == "you are a pathetic loser"
        assert recording["machine_guess_label"].startswith("machine guess, not a transcript")
        assert "machine guess, not a transcript" in zf.read("README.txt").decode()
