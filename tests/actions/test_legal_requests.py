"""Legal requests: deadlines from the configurable table, automatic holds, time left."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

import pytest
from flask import Flask
from sqlalchemy import select

from actions.holds import is_held
from actions.legal_requests import (
    LegalRequestIn,
    by_time_left,
    close_legal_request,
    due_at,
    overdue,
    record_legal_request,
)
from tests.support.legal_data import Subject, World, build_world
from workbench.extensions import db
from workbench.models import AuditEvent, LegalHold, utcnow
from workbench.models.legal import LegalRequestStatus
from workbench.rules.legal_deadlines import LegalRequestError, deadline_hours
from workbench.settings import SettingsError, load_settings

RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def _request(asks: list[str], received: datetime = RECEIVED,
             **subject: Unpack[Subject]) -> LegalRequestIn:
    return LegalRequestIn(authority_type="police", authority="Cyber Crime PS, Bengaluru",
                          reference="FIR 77/2026", received_at=received, asks=asks, **subject)


@pytest.mark.parametrize("asks, hours", [
    (["disclose"], 72), (["takedown"], 3), (["preserve"], 24),
    (["disclose", "takedown"], 3),  # the most urgent ask decides
])
def test_the_deadline_comes_from_the_default_table(asks: list[str], hours: int) -> None:
    assert due_at(RECEIVED, asks, deadline_hours()) == RECEIVED + timedelta(hours=hours)


def test_the_deadline_table_is_configuration() -> None:
    table = deadline_hours({"disclose": 48})
    assert due_at(RECEIVED, ["disclose"], table) == RECEIVED + timedelta(hours=48)
    settings = load_settings({"secret_key": "k" * 20}, environ={
        "WORKBENCH_LEGAL_DEADLINE_HOURS": json.dumps({"takedown": 36})})
    assert deadline_hours(settings.legal_deadline_hours)["takedown"] == 36
    for bad in ({"subpoena": 5}, {"disclose": 0}, {"disclose": "soon"}):
        with pytest.raises(SettingsError, match="WORKBENCH_LEGAL_DEADLINE_HOURS"):
            load_settings({"secret_key": "k" * 20},
                          environ={"WORKBENCH_LEGAL_DEADLINE_HOURS": json.dumps(bad)})


def test_a_preservation_request_places_a_hold_at_once(app: Flask, world: World) -> None:
    with app.app_context():
        request = record_legal_request(db.session, _request(["preserve", "disclose"],
                                                            person_id=world.person_id),
                                       recorded_by_id=world.legal_id)
        db.session.commit()
        assert request.due_at == RECEIVED + timedelta(hours=24)
        hold = db.session.get_one(LegalHold, request.hold_id)
        assert (hold.person_id, hold.reference) == (world.person_id, "FIR 77/2026")
        assert "Cyber Crime PS, Bengaluru" in hold.reason
        assert is_held(db.session, message_id=world.messages[0])
        recorded = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "legal_request.recorded")).one()
        assert recorded.data is not None
        assert recorded.data["hold_id"] == hold.id and recorded.data["asks"] == [
            "disclose", "preserve"]
        assert db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.verb == "hold.placed")).one()


def test_a_disclosure_request_places_no_hold(app: Flask, world: World) -> None:
    with app.app_context():
        request = record_legal_request(db.session, _request(["disclose"], case_id=world.case_id),
                                       recorded_by_id=world.legal_id)
        assert request.hold_id is None
        assert not is_held(db.session, case_id=world.case_id)


@pytest.mark.parametrize("change, field", [
    ({"asks": ["preserve"]}, "person_id"),             # preserve what?
    ({"asks": []}, "asks"),
    ({"asks": ["arrest"]}, "asks"),
    ({"authority_type": "neighbour"}, "authority_type"),
    ({"reference": "  "}, "reference"),
    ({"received_at": utcnow() + timedelta(days=2)}, "received_at"),
    ({"received_at": datetime(2026, 3, 2, 9, 30)}, "received_at"),  # no zone
    ({"person_id": 1, "case_id": 1}, "person_id"),
])
def test_a_malformed_request_is_refused_naming_the_field(app: Flask, change: dict[str, object],
                                                         field: str) -> None:
    base: dict[str, Any] = {"authority_type": "court", "authority": "District Court, Pune",
            "reference": "CC 1/2026", "received_at": RECEIVED, "asks": ["disclose"]}
    with app.app_context(), pytest.raises(LegalRequestError) as info:
        record_legal_request(db.session, LegalRequestIn(**{**base, **change}),
                             recorded_by_id=None)
    assert info.value.field == field


def test_open_requests_by_time_left_with_the_overdue_ones_first(app: Flask,
                                                                world: World) -> None:
    now = utcnow()
    with app.app_context():
        late = record_legal_request(db.session, _request(["takedown"], now - timedelta(hours=5),
                                                         account_id=world.victim_account),
                                    recorded_by_id=world.legal_id)
        soon = record_legal_request(db.session, _request(["takedown"], now - timedelta(hours=1)),
                                    recorded_by_id=world.legal_id)
        later = record_legal_request(db.session, _request(["disclose"], now),
                                     recorded_by_id=world.legal_id)
        answered = record_legal_request(db.session, _request(["disclose"], now),
                                        recorded_by_id=world.legal_id)
        close_legal_request(db.session, answered.id, outcome=LegalRequestStatus.COMPLIED,
                            closed_by_id=world.legal_id, note="disclosed on the portal")
        db.session.commit()
        rows = by_time_left(db.session, now)
        assert [r.request.id for r in rows] == [late.id, soon.id, later.id]
        assert [r.overdue for r in rows] == [True, False, False]
        assert rows[0].left == timedelta(hours=-2)
        assert overdue(db.session, now) == [late]


def test_closing_a_request_is_audited_once(app: Flask, world: World) -> None:
    with app.app_context():
        request = record_legal_request(db.session, _request(["takedown"]),
                                       recorded_by_id=world.legal_id)
        close_legal_request(db.session, request.id, outcome=LegalRequestStatus.CONTESTED,
                            closed_by_id=world.legal_id, note="the order names no content")
        db.session.commit()  # the event joins the audit chain at commit
        closed = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "legal_request.closed")).one()
        assert closed.data == {"outcome": "contested", "late": True}
        with pytest.raises(LegalRequestError, match="already contested"):
            close_legal_request(db.session, request.id, outcome=LegalRequestStatus.COMPLIED,
                                closed_by_id=world.legal_id, note="")
