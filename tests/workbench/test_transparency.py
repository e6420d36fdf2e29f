"""The monthly transparency report, its renderings, and statements for the DSA database."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import event

from actions.appeals import decide_appeal
from actions.decisions import Decision, decide_case
from actions.enforcement import ActionRequest, apply_action
from actions.legal_requests import LegalRequestIn, record_legal_request
from tests.support.legal_data import PASSWORD, World, build_world
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Action, Appeal, Message, Report, utcnow
from workbench.reporting.transparency import (
    DSA_FIELDS,
    dsa_statements,
    monthly_report,
    report_charts,
    report_csv,
    report_json,
)
from workbench.staff import create_moderator


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def _month_of_activity(world: World) -> None:
    """Decide the case, appeal the suspension and overturn it, add a classifier report
    and a police request: one of each thing the report counts."""
    now = utcnow()
    decide_case(db.session, world.case_id, moderator_id=world.senior_id, role="senior",
                decision=Decision.VIOLATION)
    db.session.add(Report(platform_id=world.platform_ids["calls"], platform_report_id="clf-1",
                          reported_account_id=world.bystander_account, category="spam_scam",
                          source="classifier", model_name="text", model_version="2026.1",
                          model_score=0.93, created_at=now, received_at=now))
    appeal = Appeal(platform_id=world.platform_ids["calls"], platform_appeal_id="ap-1",
                    action_id=world.action_id, account_id=world.accounts["calls:u-harasser"],
                    text="it was a joke", created_at=now, received_at=now)
    db.session.add(appeal)
    db.session.flush()
    other_senior = create_moderator(db.session, "senior2@example.org", PASSWORD, "senior")
    decide_appeal(db.session, appeal.id, moderator_id=other_senior.id, role="senior",
                  overturn=True, note="context shows banter")
    record_legal_request(db.session, LegalRequestIn(
        authority_type="court", authority="District Court, Pune", reference="CC 2/2026",
        received_at=now - timedelta(hours=1), asks=["takedown"]), recorded_by_id=world.legal_id)
    db.session.commit()


def test_the_monthly_report_counts_what_happened(app: Flask, world: World) -> None:
    now = utcnow()
    with app.app_context():
        _month_of_activity(world)
        report = monthly_report(db.session, now.year, now.month)
    assert report["reports_received"] == {"total": 2,
                                          "by_category": {"harassment": 1, "spam_scam": 1},
                                          "by_source": {"classifier": 1, "user": 1}}
    assert report["actions"]["by_type"] == {"suspend": 1, "unsuspend": 1}
    assert report["automation"]["reports_detected_automatically"] == 1
    assert report["automation"]["actions_decided_by_people"] == 2
    assert 0 <= report["median_hours_to_action"] < 1
    assert report["appeals"]["received"] == 1 and report["appeals"]["overturned"] == 1
    assert report["grievances"] == {"received": 1, "acknowledged_within_24h": 1, "resolved": 1,
                                    "resolved_within_deadline": 1, "resolved_late": 0,
                                    "pending": 0, "actioned": 1}
    art15 = report["dsa_art15"]
    assert art15["orders"]["received"] == 1 and art15["orders"]["by_ask"] == {"takedown": 1}
    assert art15["notices"]["acted_on"] == 1
    assert art15["complaints"]["overturned"] == 1


def test_an_empty_month_reports_zeros(app: Flask, world: World) -> None:
    with app.app_context():
        report = monthly_report(db.session, 2001, 1)
    assert report["reports_received"]["total"] == 0 and report["actions"]["by_type"] == {}
    assert report["median_hours_to_action"] is None
    assert report["grievances"]["received"] == 0
    assert report["period"] == {"year": 2001, "month": 1, "from": "2001-01-01T00:00:00+00:00",
                                "to": "2001-02-01T00:00:00+00:00"}
    with pytest.raises(ValueError, match="month"):
        monthly_report(db.session, 2001, 13)


def test_the_report_renders_as_csv_json_and_server_drawn_svg(app: Flask, world: World) -> None:
    now = utcnow()
    with app.app_context():
        _month_of_activity(world)
        report = monthly_report(db.session, now.year, now.month)
    assert json.loads(report_json(report)) == report
    rows = pd.read_csv(io.StringIO(report_csv(report)))
    figures = dict(zip(rows["metric"], rows["value"], strict=True))
    assert figures["grievances.resolved_within_deadline"] == "1"
    assert figures["dsa_art15.orders.by_ask.takedown"] == "1"
    charts = report_charts(report)
    assert set(charts) == {"reports_by_category", "actions_by_type", "grievances"}
    for svg in charts.values():
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<script" not in svg
    assert "harassment" in charts["reports_by_category"]
    assert report_charts(report) == charts  # the same figures draw the same file


def test_statements_carry_the_dsa_fields_and_no_personal_data(app: Flask, world: World) -> None:
    with app.app_context():
        apply_action(db.session, ActionRequest(
            type=ActionType.WARN, person_id=world.person_id, policy_reason="harassment",
            decided_by_id=world.senior_id, message_id=world.reported_message,
            facts="Harasser (u-harasser, w-harasser) wrote to victim@example.org and "
                  "+91 98765 43210: see https://calls.example/u/u-harasser"))
        db.session.commit()
        statements = list(dsa_statements(db.session))
    assert len(statements) == 2
    for statement in statements:
        assert set(statement) <= DSA_FIELDS
        assert {"decision_ground", "content_type", "category", "application_date",
                "content_date", "decision_facts", "source_type", "automated_detection",
                "automated_decision", "puid"} <= set(statement)
        assert statement["puid"].startswith("harmoni-sor-")
    text = json.dumps(statements)
    for personal in ("Harasser", "u-harasser", "w-harasser", "victim@example.org",
                     "98765", "https://", "a" * 64):
        assert personal not in text
    warn = statements[1]
    assert warn["decision_facts"].startswith("[redacted] ([redacted], [redacted]) wrote to")
    assert warn["content_type"] == ["CONTENT_TYPE_TEXT"]
    with app.app_context():
        sent = db.session.get_one(Message, world.reported_message).sent_at
    assert warn["content_date"] == sent.date().isoformat()
    suspend = statements[0]
    assert suspend["content_type_other"] == "user account"
    assert "redress" not in suspend and "decision_visibility" not in suspend


def test_the_csv_neutralises_text_a_spreadsheet_would_run_and_keeps_numbers() -> None:
    import csv

    text = report_csv({"=top": {"note": "=HYPERLINK(\"http://x\")", "delta": -2,
                                "multi": "a\rb"}})
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["metric", "value"], ["'=top.note", "'=HYPERLINK(\"http://x\")"],
                    ["'=top.delta", "-2"], ["'=top.multi", "a\rb"]]


def test_the_report_binds_as_many_parameters_however_much_the_month_holds(
        app: Flask, world: World) -> None:
    # A month of a large platform acts on hundreds of thousands of cases: a statement
    # naming each of them failed past PostgreSQL's 65,535 parameters (seen at 10 million
    # reports), so the page could not be drawn.
    now = utcnow()

    def most_parameters() -> int:
        seen: list[int] = []

        def count(conn: object, cursor: object, statement: str, parameters: object,
                  context: object, executemany: bool) -> None:
            seen.append(len(parameters) if isinstance(parameters, (dict, list, tuple)) else 0)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            monthly_report(db.session, now.year, now.month)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return max(seen)

    with app.app_context():
        _month_of_activity(world)
        few = most_parameters()
        db.session.add_all(Action(type=ActionType.WARN.value, person_id=world.person_id,
                                  case_id=world.case_id, policy_reason="harassment",
                                  decided_by_id=world.senior_id, created_at=now)
                           for _ in range(60))
        db.session.commit()
        report = monthly_report(db.session, now.year, now.month)
        many = most_parameters()
    assert report["actions"]["by_type"]["warn"] == 60
    assert many == few
