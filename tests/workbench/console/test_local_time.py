"""Times in the moderator's zone (stored UTC, shown Asia/Kolkata unless they chose
another), ISO dates, and overdue as one marker rather than a red row."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.console_forms import post_form
from tests.support.console_world import World
from workbench.console.text import local_time
from workbench.extensions import db
from workbench.models import AuditEvent, Case, LegalHold, Moderator, utcnow


def test_a_utc_time_reads_in_india_by_default(app: Flask) -> None:
    stored = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    with app.test_request_context():
        assert local_time(stored) == "2027-01-01 01:30"
        assert local_time(stored, "date") == "2027-01-01"
        assert local_time(stored, "seconds") == "2027-01-01 01:30:00"
        assert local_time(stored, "clock") == "01:30:00"
        assert local_time(stored.replace(tzinfo=None)) == "2027-01-01 01:30"
        assert local_time(None) == ""
        assert local_time(stored, zone=ZoneInfo("America/New_York")) == "2026-12-31 15:00"


def _due_title(html: str, case_id: int) -> str:
    row = re.search(rf'data-case-id="{case_id}".*?</tr>', html, re.S)
    assert row, f"case {case_id} not on the queue"
    title = re.search(r'title="due ([^"]+)"', row.group(0))
    assert title
    return title.group(1)


def test_moderator_chooses_a_zone_and_the_queue_follows(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("moderator")
    with app.app_context():
        due = db.session.get_one(Case, world.case_id).due_at
    html = client.get("/admin/queue/").get_data(as_text=True)
    assert _due_title(html, world.case_id) == due.astimezone(
        ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M")
    assert ">IST</a>" in html

    response = post_form(client, "/admin/account/time-zone",
                         {"time_zone": "Europe/London"}, page="/admin/account/")
    assert response.status_code == 302
    html = client.get("/admin/queue/").get_data(as_text=True)
    assert _due_title(html, world.case_id) == due.astimezone(
        ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M")
    with app.app_context():
        me = db.session.get_one(Moderator, world.staff["moderator"])
        assert me.settings and me.settings["time_zone"] == "Europe/London"
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "moderator.time_zone_changed")).one()
        assert event.data == {"old": "Asia/Kolkata", "new": "Europe/London"}
    # Only this moderator's view changed.
    other = signed_in("moderator2").get("/admin/queue/").get_data(as_text=True)
    assert ">IST</a>" in other


def test_an_unknown_zone_is_refused_with_400_and_nothing_stored(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("moderator")
    for bad in ("Mars/Olympus_Mons", "", "<script>", "../../etc/passwd"):
        response = post_form(client, "/admin/account/time-zone", {"time_zone": bad},
                             page="/admin/account/")
        assert response.status_code == 400, bad
        assert "<script>" not in response.get_data(as_text=True)
    with app.app_context():
        me = db.session.get_one(Moderator, world.staff["moderator"])
        assert not (me.settings or {}).get("time_zone")


def test_overdue_is_one_marker_not_a_red_row(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    late, on_time = world.other_case_ids[0], world.other_case_ids[1]
    with app.app_context():
        db.session.get_one(Case, late).due_at = utcnow() - timedelta(hours=2, minutes=5)
        db.session.get_one(Case, on_time).due_at = utcnow() + timedelta(hours=3)
        db.session.commit()
    html = signed_in("senior").get("/admin/queue/").get_data(as_text=True)
    rows = {int(m.group(1)): m.group(0) for m in
            re.finditer(r'<tr class="[^"]*" data-case-id="(\d+)".*?</tr>', html, re.S)}
    assert rows[late].count("data-overdue") == 1
    assert re.search(r"overdue</span> <span class=\"by\">by 2h 0[45]m</span>", rows[late])
    assert "data-overdue" not in rows[on_time]
    assert 'class="overdue' not in html.replace('class="overdue-marker"', "")


def test_a_time_typed_on_the_legal_desk_is_read_in_the_moderators_zone(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    legal = signed_in("legal")
    desk = legal.get("/admin/legal/").get_data(as_text=True)
    assert "Until (your time, IST; optional)" in desk
    response = post_form(legal, "/admin/legal/holds", {
        "reason": "preserve", "reference": "FIR 9/2026", "subject_kind": "person",
        "subject_ref": str(world.person_id), "until": "2027-01-10T10:00"},
        page="/admin/legal/")
    assert response.status_code == 302
    with app.app_context():
        hold = db.session.scalars(select(LegalHold)).one()
        assert hold.until == datetime(2027, 1, 10, 4, 30, tzinfo=UTC)
    assert "2027-01-10" in legal.get("/admin/legal/").get_data(as_text=True)
