"""Live calls: who may end one, and what the case and the queue say until the platform has it."""

from __future__ import annotations

import re
import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text

from tests.support.console_forms import csrf_token, post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.current import settings
from workbench.enums import ReportSource
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    CallParticipant,
    EnforcementDelivery,
    Person,
    Report,
    utcnow,
)

CALL_STATE = re.compile(r'data-call-state="([a-z_]+)"')


def _end(client, world: World, back: str = ""):
    return post_form(client, f"/admin/case/{world.live_case_id}/act", {
        "decision": "end_call", "policy_reason": "sexual_content", "target_kind": "call",
        "target_id": str(world.call_id), "back": back})


def _states(client, path: str) -> list[str]:
    return CALL_STATE.findall(client.get(path).get_data(as_text=True))


def _help_keys(page: str) -> list[str]:
    overlay = page[page.index('id="help-overlay"'):]
    return re.findall(r"<tr><td><kbd>([^<]+)</kbd>", overlay)


def test_the_call_shows_ending_until_the_platform_has_it_then_ended(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    case = f"/admin/case/{world.live_case_id}"
    page = client.get(case).get_data(as_text=True)
    assert 'id="end-call"' in page and "LIVE · " in page
    assert "x" in _help_keys(page)

    response = _end(client, world, back="/admin/queue/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/queue/"
    # Decided, not delivered yet: ending, on the case and on both of the queue's tables.
    page = client.get(case).get_data(as_text=True)
    assert CALL_STATE.findall(page) == ["ending"]
    assert 'id="end-call"' not in page and "LIVE · " not in page
    assert "x" not in _help_keys(page)
    assert _states(client, "/admin/queue/") == ["ending", "ending"]
    assert world.servers["web"].received == []

    run_jobs(app)  # the platform answers 200: it has ended the call
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    assert _states(client, case) == ["ended"]
    assert _states(client, "/admin/queue/") == ["ended", "ended"]


def test_a_platform_not_reached_is_said_not_left_at_ending(
        app: Flask, world: World, signed_in) -> None:
    world.servers["web"].fail_next = 100
    world.servers["web"].fail_status = 503
    client = signed_in("senior")
    _end(client, world)
    run_jobs(app)
    page = client.get(f"/admin/case/{world.live_case_id}").get_data(as_text=True)
    assert CALL_STATE.findall(page) == ["not_reached"]
    assert "ending — platform not reached yet" in page
    assert "the platform has not applied it" in page
    assert _states(client, "/admin/queue/") == ["not_reached", "not_reached"]


def test_a_call_already_ending_is_not_ended_twice(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    assert _end(client, world).status_code == 302
    assert _end(client, world).status_code == 409
    run_jobs(app)
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Action.id))) == 1


def test_a_moderator_is_offered_no_end_call_and_is_refused_one(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    queue = client.get("/admin/queue/").get_data(as_text=True)
    assert "data-call-id" not in queue and 'id="end-call-panel"' not in queue
    assert "x" not in _help_keys(queue)
    post_form(client, f"/admin/case/{world.live_case_id}/claim")
    page = client.get(f"/admin/case/{world.live_case_id}").get_data(as_text=True)
    assert 'id="end-call"' not in page and "x" not in _help_keys(page)
    assert _end(client, world).status_code == 403
    run_jobs(app)
    assert world.servers["web"].received == []


def test_the_help_lists_the_keys_of_the_page(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    queue = _help_keys(client.get("/admin/queue/").get_data(as_text=True))
    assert queue == ["n", "j / k", "x", "Enter", "Esc", "?", "/"]
    # Not the case page's decisions on the queue; no x on a case with no call in progress.
    spam = world.other_case_ids[0]
    post_form(client, f"/admin/case/{spam}/claim")
    case = _help_keys(client.get(f"/admin/case/{spam}").get_data(as_text=True))
    assert "x" not in case and {"d", "w", "b", "e", "p", "Enter"} <= set(case)
    # The legal team reads cases and neither claims nor decides: no such keys at all.
    legal = _help_keys(signed_in("legal").get(f"/admin/case/{spam}").get_data(as_text=True))
    assert legal == ["p", "?", "/"]


def _second_case_about_the_live_call(app: Flask, world: World) -> int:
    """Another caller on the same live call, reported too: a case of their own."""
    with app.app_context():
        person = Person()
        db.session.add(person)
        account = Account(platform_id=world.platform_ids["web"], platform_user_id="w-301",
                          person=person, username="second_caller", languages=["en"])
        db.session.add(account)
        db.session.flush()
        db.session.add(CallParticipant(call_id=world.call_id, account_id=account.id,
                                       joined_at=utcnow()))
        report = Report(platform_id=world.platform_ids["web"], platform_report_id="r-live-2",
                        reported_account_id=account.id, category="sexual_content",
                        call_id=world.call_id, call_in_progress=True,
                        source=ReportSource.USER.value, created_at=utcnow())
        db.session.add(report)
        db.session.flush()
        file_reports(db.session, [report.id], case_policy(settings()))
        db.session.commit()
        case_id = db.session.get_one(Report, report.id).case_id
        assert case_id is not None and case_id != world.live_case_id
        return case_id


def test_two_seniors_ending_the_call_at_once_end_it_once(
        app: Flask, world: World, signed_in) -> None:
    """Today the audit chain's advisory lock, taken by the claim, happens to serialise the
    two as well; this fails if neither that nor the call's row lock holds them apart."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
        engine = db.engine
    cases = [world.live_case_id, _second_case_about_the_live_call(app, world)]
    clients = [signed_in("senior"), signed_in("senior2")]
    tokens = [csrf_token(c, "/admin/queue/") for c in clients]

    # Hold each request just after it has read where the call stands, until the other has
    # read it too or is waiting on a lock: without a lock both would pass the check.
    deciding = threading.local()
    checked: list[int] = []
    condition = threading.Condition()

    def another_waits_on_a_lock() -> bool:
        with engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")))

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        if not getattr(deciding, "on", False) or "enforcement_delivery" not in statement:
            return
        deciding.on = False
        with condition:
            checked.append(1)
            condition.notify_all()
        deadline = time.monotonic() + 20
        with condition:
            while len(checked) < 2 and not another_waits_on_a_lock():
                assert time.monotonic() < deadline, "neither request got to its check"
                condition.wait(0.05)

    statuses: list[int] = [0, 0]

    def end(i: int) -> None:
        deciding.on = True
        statuses[i] = clients[i].post(f"/admin/case/{cases[i]}/act", data={
            "decision": "end_call", "policy_reason": "sexual_content", "target_kind": "call",
            "target_id": str(world.call_id), "csrf_token": tokens[i]}).status_code

    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        threads = [threading.Thread(target=end, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)
    assert sorted(statuses) == [302, 409]
    refused = clients[statuses.index(409)].post(  # what the one refused was told
        f"/admin/case/{cases[statuses.index(409)]}/act", data={
            "decision": "end_call", "policy_reason": "sexual_content", "target_kind": "call",
            "target_id": str(world.call_id), "csrf_token": tokens[statuses.index(409)]})
    assert "already being ended" in refused.get_data(as_text=True)
    run_jobs(app)
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Action.id)).where(
            Action.type == "end_call")) == 1
        assert db.session.scalar(select(func.count(EnforcementDelivery.id))) == 1


def _live_lane(client: FlaskClient) -> str:
    page = client.get("/admin/queue/").get_data(as_text=True)
    return page[page.index('<section class="live-lane"'):page.index("</section>",
                                                                      page.index("live-lane"))]


def test_the_live_lane_says_a_call_has_ended_and_offers_x_only_while_one_is_live(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    lane = _live_lane(client)
    assert "Live lane: calls in progress and just ended" in lane
    assert 'id="live-end-hint"' in lane and "data-end-call-row" in lane
    _end(client, world)
    run_jobs(app)
    lane = _live_lane(client)
    # The case stays in the lane (it needs a decision), said to be over, with no x.
    assert CALL_STATE.findall(lane) == ["ended"]
    assert "Live lane: calls in progress and just ended" in lane
    assert "the case still needs a decision" in lane
    assert "<kbd>x</kbd>" not in lane and "data-call-id" not in lane
