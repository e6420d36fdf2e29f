"""Evidence first: the case page leads with what was reported, the reports as one line, and
the reason offered (and recorded) is the one about the item decided, not the case's worst."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from actions.bulk import ActionTemplate, bulk_decide
from actions.decisions import Decision
from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.present import present
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    AuditEvent,
    Case,
    Message,
    Person,
    Report,
    utcnow,
)

SELECTED = re.compile(r'<option value="([a-z_]+)" selected>')


def _case_page(client: FlaskClient, case_id: int) -> str:
    post_form(client, f"/admin/case/{case_id}/claim")
    return client.get(f"/admin/case/{case_id}").get_data(as_text=True)


def add_reports(world: World, reporters: int, by_category: dict[str, int],
                spread: bool = False) -> None:
    """Many reports from ``reporters`` different accounts, about the case's message (or,
    with ``spread``, about each message the reported person sent)."""
    people = [Person() for _ in range(reporters)]
    db.session.add_all(people)
    db.session.flush()
    accounts = [Account(platform_id=world.platform_ids["calls"], platform_user_id=f"rep-{i}",
                        person_id=p.id, username=f"reporter{i}") for i, p in enumerate(people)]
    db.session.add_all(accounts)
    db.session.flush()
    bad = db.session.scalars(select(Account.id).where(Account.platform_user_id == "c-100")).one()
    messages = [world.message_id]
    if spread:
        messages = list(db.session.scalars(select(Message.id).where(
            Message.sender_account_id == bad).order_by(Message.id)))
    n = 0
    for category, count in by_category.items():
        for _ in range(count):
            db.session.add(Report(
                platform_id=world.platform_ids["calls"], platform_report_id=f"many-{n}",
                reporter_account_id=accounts[n % reporters].id, reported_account_id=bad,
                category=category, message_id=messages[n % len(messages)], case_id=world.case_id,
                description=f"report {n}", source="user", created_at=utcnow()))
            n += 1
    db.session.commit()


def test_the_page_opens_with_a_summary_then_the_evidence_then_the_reports(
        app: Flask, world: World, signed_in) -> None:
    with app.app_context():
        add_reports(world, 14, {"harassment": 40, "spam_scam": 20})
    page = _case_page(signed_in("moderator"), world.case_id)
    summary = page.index('id="case-summary"')
    first_evidence = page.index("data-evidence=")
    reports = page.index('id="reports-details"')
    assert summary < first_evidence < reports
    # The reports are one line (15 reporters: the 14 and the victim), in a closed <details>.
    assert ("62 reports from 15 reporters: harassment 41, spam_scam 20, violent_threat 1"
            in page)
    assert '<details id="reports-details">' in page
    # Each kind of reported content is its own evidence block, the most severe first:
    # the threat in the recording, then its call, then the insult in the chat.
    kinds = re.findall(r'data-evidence="(\w+)" data-category="(\w+)"', page)
    assert kinds == [("recording", "violent_threat"), ("call", "violent_threat"),
                     ("message", "harassment")]
    # The summary line: the person, the category, the deadline and the top score.
    line = page[summary:page.index("</p>", summary)]
    assert "rowdy_raj" in line and "violent_threat" in line and "due" in line
    assert "abusive 0.97" in line


def test_the_reason_offered_is_the_one_reported_about_the_item(
        app: Flask, world: World, signed_in) -> None:
    with app.app_context():
        # The recording's report was spam, and the case's worst category came from elsewhere.
        db.session.execute(update(Report).where(Report.platform_report_id == "r-2")
                           .values(category="spam_scam"))
        db.session.execute(update(Case).where(Case.id == world.case_id)
                           .values(primary_category="underage_user"))
        db.session.commit()
    page = _case_page(signed_in("moderator"), world.case_id)
    # The insult leads (more severe than the spam), and its reason is chosen first.
    assert SELECTED.findall(page) == ["harassment"]
    assert 'data-default-reason="harassment"' in page
    # Each item's own button carries its own reason.
    assert re.search(r'data-reason="harassment"\s+data-target-kind="message"', page)
    assert re.search(r'data-reason="spam_scam"\s+data-target-kind="recording"', page)


def test_a_decision_is_recorded_under_the_reason_chosen(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    _case_page(client, world.case_id)
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "mute", "policy_reason": "harassment"})
    assert response.status_code == 302
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        assert case.primary_category == "violent_threat"
        assert case.decided_category == "harassment"
        assert db.session.scalars(select(Action.category)).one() == "harassment"


def test_a_bulk_decision_is_recorded_under_the_reason_chosen(app: Flask, world: World) -> None:
    with app.app_context():
        db.session.execute(update(Case).where(Case.id.in_(world.other_case_ids))
                           .values(primary_category="underage_user"))
        db.session.commit()
        bulk_decide(db.session, world.other_case_ids, moderator_id=world.staff["senior"],
                    role="senior", decision=Decision.VIOLATION, reason="spam wave",
                    action_template=ActionTemplate(ActionType.MUTE, "spam_scam"))
        db.session.commit()
        decided = db.session.scalars(select(Case.decided_category).where(
            Case.id.in_(world.other_case_ids))).all()
        assert decided == ["spam_scam"] * 3
        assert set(db.session.scalars(select(Action.category))) == {"spam_scam"}
        audited = [present(e.data)["category"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.verb == "case.decided"))]
        assert audited == ["spam_scam"] * 3


def test_the_header_names_the_account_the_reported_content_came_from(
        app: Flask, world: World, signed_in) -> None:
    """The person's first account is on calls; the reports here are about their web one."""
    with app.app_context():
        web = db.session.scalars(select(Account.id).where(
            Account.platform_user_id == "w-100")).one()
        db.session.execute(update(Report).where(Report.case_id == world.case_id)
                           .values(reported_account_id=web))
        db.session.commit()
    page = _case_page(signed_in("moderator"), world.case_id)
    who = re.search(r'id="case-summary">\s*<span class="who"><bdi class="untrusted">([^<]*)'
                    r'</bdi> <span class="muted">\(([^)]*)\)', page)
    assert who, "no header on the case page"
    assert who.groups() == ("raj.web", "web, 3 accounts")


def test_the_header_leads_to_the_person_page(
        app: Flask, world: World, signed_in) -> None:
    """From the case to everything on the person, for the moderator and the legal team."""
    for role in ("moderator", "legal"):
        client = signed_in(role)
        page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
        link = re.search(r'<a href="(/admin/person/[0-9]+)" id="person-link">', page)
        assert link, role
        assert link.group(1) == f"/admin/person/{world.person_id}"
        person = client.get(link.group(1))
        assert person.status_code == 200, (role, person.status_code)
        assert "rowdy_raj" in person.get_data(as_text=True)
