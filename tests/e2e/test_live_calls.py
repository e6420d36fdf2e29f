"""Ending a live call in a real browser: one key on the queue row, one confirmation, and a
case that says "ending" until the platform has it, then "ended"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.e2e.test_accessibility import _serious
from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import Action

pytestmark = pytest.mark.e2e

#: The rows x can act on: the live lane's, then the queue table's.
ROWS = "tr[data-live-case-id], tr[data-case-id]"
#: Generous: a shared machine, a real server and a real browser.
DEADLINE_MS = 20_000


def _live_row(page: Any, world: World) -> Any:
    return page.locator(f".live-lane tr[data-live-case-id='{world.live_case_id}']")


def _select(console: Console, case_id: int) -> None:
    """j or k until the row of ``case_id`` is the selected one (the live lane comes first)."""
    page = console.page
    rows = page.evaluate(f"[...document.querySelectorAll('{ROWS}')]"
                         ".map(r => r.dataset.liveCaseId || r.dataset.caseId)")
    target = rows.index(str(case_id))
    for _ in range(len(rows) + 1):
        at = page.evaluate(f"[...document.querySelectorAll('{ROWS}')]"
                           ".indexOf(document.activeElement)")
        if at == target:
            return
        console.press("j" if at < target else "k")
    raise AssertionError(f"j and k never reached case {case_id}")


def test_a_senior_ends_a_live_call_from_the_queue_with_x_then_enter(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    assert page.url.endswith("/admin/queue/")
    start = (console.keys, console.clicks)
    _select(console, world.live_case_id)
    console.press("x")
    panel = page.locator("#end-call-panel")
    assert panel.is_visible()
    assert f"#{world.live_case_id}" in page.locator("#end-call-title").inner_text()
    assert "web" in page.locator("#end-call-platform").inner_text()
    assert page.evaluate("document.activeElement.id") == "end-call-confirm"
    assert page.locator("#end-call-reason").input_value() == "sexual_content"
    console.screenshot("live-call-confirm")
    console.submit("Enter")  # the one confirmation

    # Back on the queue: decided, the platform not told yet, so "ending".
    assert page.url.endswith("/admin/queue/")
    state = _live_row(page, world).locator("[data-call-state]")
    assert state.inner_text() == "ending"
    assert world.servers["web"].received == []
    assert _live_row(page, world).locator("[data-end-call-row]").count() == 0
    keys, clicks = console.keys - start[0], console.clicks - start[1]

    run_jobs(app)  # the enforce worker delivers; the test platform answers 200
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    assert world.servers["web"].received[0]["content"] == {"type": "call", "id": "call-live"}
    page.reload()
    expect(_live_row(page, world).locator("[data-call-state]")).to_have_text(
        "ended", timeout=DEADLINE_MS)
    console.goto(f"/admin/case/{world.live_case_id}")
    assert page.locator("#call-line").inner_text() == "Call ended"
    assert "LIVE" not in page.locator("#case-badge").inner_text()
    assert page.locator("#end-call").count() == 0
    console.screenshot("live-call-ended")
    # From the queue to a call ended: select the row, x, Enter; no click.
    assert (keys, clicks) == (3, 0), (keys, clicks)
    assert not console.errors, console.errors


def test_from_claiming_the_live_case_to_ending_its_call(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    start = (console.keys, console.clicks)
    console.submit("n")  # claims the live case: the live lane comes first
    assert page.url.endswith(f"/admin/case/{world.live_case_id}")
    assert "LIVE" in page.locator("#case-badge").inner_text()
    console.press("x")
    assert page.evaluate("document.activeElement.id") == "verdict-confirm"
    console.submit("Enter")
    assert page.locator("#call-line").inner_text() == "Call ending"
    assert world.servers["web"].received == []
    keys, clicks = console.keys - start[0], console.clicks - start[1]
    run_jobs(app)
    page.reload()
    assert page.locator("#call-line").inner_text() == "Call ended"
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    assert (keys, clicks) == (3, 0), (keys, clicks)


def test_an_old_end_call_link_is_confirmed_by_the_first_enter(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    console.goto(f"/admin/case/{world.live_case_id}#end-call")
    expect(page.locator("#verdict-confirm")).to_be_focused(timeout=DEADLINE_MS)
    expect(page.locator("#end-call")).not_to_be_focused()
    console.submit("Enter")
    assert page.locator("#call-line").inner_text() == "Call ending"


def test_x_on_a_case_without_a_live_call_and_escape_do_nothing(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    console.press("x")  # nothing selected yet: it says so, nothing opens
    assert not page.locator("#end-call-panel").is_visible()
    assert "Select a row" in page.locator("#queue-status").inner_text()
    _select(console, world.case_id)  # a case with no call reported in progress
    console.press("x")
    assert not page.locator("#end-call-panel").is_visible()
    assert "no call in progress" in page.locator("#queue-status").inner_text()
    _select(console, world.live_case_id)
    console.press("x")
    assert page.locator("#end-call-panel").is_visible()
    console.press("Escape")  # cancelled: nothing sent
    assert not page.locator("#end-call-panel").is_visible()
    assert page.url.endswith("/admin/queue/")
    run_jobs(app)
    assert world.servers["web"].received == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Action.id))) == 0
    assert not console.errors, console.errors


def test_a_moderator_has_no_end_call_key(app: Flask, world: World,
                                          console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    page = console.page
    assert page.locator("[data-end-call-row], #end-call-panel").count() == 0
    _select(console, world.live_case_id)
    console.press("x")
    assert page.locator(".panel:visible").count() == 0
    console.press("?")
    overlay = page.locator("#help-overlay")
    assert overlay.is_visible() and "End the call" not in overlay.inner_text()
    console.press("Escape")
    console.submit("n")
    assert page.url.endswith(f"/admin/case/{world.live_case_id}")
    console.press("x")
    assert page.locator(".panel:visible").count() == 0
    console.press("?")
    assert "End the call" not in overlay.inner_text()
    run_jobs(app)
    assert world.servers["web"].received == []


def test_the_help_on_the_queue_lists_the_queue_keys(app: Flask, world: World,
                                                    console: Console) -> None:
    console.sign_in(STAFF["senior"])
    console.press("?")
    text = console.page.locator("#help-overlay").inner_text()
    assert "End the call of the selected live case" in text
    # The case page's decision keys do nothing on the queue: not listed there.
    for label in ("Warn", "Suspend 7 days", "Ban from every platform", "Escalate"):
        assert label not in text, label


def test_the_open_panels_have_no_serious_accessibility_violations(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    _select(console, world.live_case_id)
    console.press("x")
    assert page.locator("#end-call-panel").is_visible()
    found = {"end-call panel": _serious(page)}
    console.press("Escape")
    console.goto(f"/admin/case/{world.case_id}")
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("details.reassign")
    page.click("details.reassign summary")
    assert page.locator("#reassign-reason").is_visible()
    # The colleagues come when the panel opens, not with the page.
    page.wait_for_selector("#reassign-to[data-loaded=yes]", state="attached")
    offered = page.locator("#reassign-to option").all_text_contents()
    assert offered == ["Moderator (moderator; en, hi)", "Moderator2 (moderator; en, hi)",
                       "Senior2 (senior; en, hi)"], offered
    found["reassign panel"] = _serious(page)
    assert not any(found.values()), found
    labels = "e => [...e.labels].map(l => l.textContent.trim())"
    assert page.locator("#reassign-to").evaluate(labels) == ["Colleague"]
    assert page.locator("#reassign-reason").evaluate(labels) == ["Why"]


def test_the_failing_platform_is_said_on_the_queue(app: Flask, world: World,
                                                   console: Console) -> None:
    world.servers["web"].fail_next = 100
    console.sign_in(STAFF["senior"])
    page = console.page
    _select(console, world.live_case_id)
    console.press("x")
    console.submit("Enter")
    run_jobs(app)
    page.reload()
    state = _live_row(page, world).locator("[data-call-state]")
    assert state.inner_text() == "ending — platform not reached yet"
    assert re.search(r"has not applied it", _live_row(page, world).inner_text())
