"""A moderator's day in a real browser: sign in, claim, read, decide, and what must not happen."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.support.browser import Console
from tests.support.console_world import HOSTILE, STAFF, World, build_world, stop
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import Action, Case

pytestmark = pytest.mark.e2e


def _no_live_lane(app: Flask, world: World) -> None:
    """Close the live case so the top of the queue is the conversation case."""
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == world.live_case_id)
                           .values(status="dismissed"))
        db.session.commit()


def test_a_moderator_goes_from_sign_in_to_a_suspension(app: Flask, world: World,
                                                       console: Console) -> None:
    _no_live_lane(app, world)
    console.sign_in(STAFF["moderator"])
    page = console.page
    assert page.url.endswith("/admin/queue/")
    assert page.locator("#queue-table tbody tr").count() == 4
    console.screenshot("queue")

    console.press("n")  # claim the top case
    page.wait_for_url(re.compile(rf"/admin/case/{world.case_id}$"))
    reported = page.locator("li.message.reported")
    assert "worthless" in reported.inner_text()
    assert page.locator("li.message").count() == 6  # with the conversation around it
    assert page.locator("mark.why").count() >= 1
    assert page.locator("audio").count() == 1
    assert "3 accounts on 2 platforms" in page.locator("#person-reach").inner_text()
    console.screenshot("case")

    console.press("7")  # suspend 7 days: the panel opens with a reason chosen
    panel = page.locator("#verdict-panel")
    assert panel.is_visible()
    assert "Suspend 7 days" in panel.inner_text()
    assert "3 accounts on 2 platforms" in page.locator("#verdict-reach").inner_text()
    assert page.locator("#policy-reason").input_value() == "violent_threat"
    console.submit("Enter")  # confirm
    assert "Done: suspend 7 days" in page.content()

    run_jobs(app)  # the enforce worker sends the deliveries
    page.reload()
    action = page.locator("article.action").first
    assert "suspend" in action.inner_text()
    assert action.locator("tr.delivery-delivered").count() == 2
    assert world.servers["calls"].state == {"c-100": "suspended", "c-101": "suspended"}
    assert world.servers["web"].state == {"w-100": "suspended"}
    console.screenshot("case-decided")
    # From the sign-in form to a delivered suspension: the keys a moderator pressed.
    assert (console.keys, console.clicks) == (5, 0)


def test_the_live_lane_is_on_top_and_ending_the_call_is_one_key(app: Flask, world: World,
                                                                console: Console) -> None:
    console.sign_in(STAFF["senior"])  # ending a call is a senior's decision
    page = console.page
    assert page.locator(".live-lane tr.live-row").count() == 1
    console.press("n")
    page.wait_for_url(re.compile(rf"/admin/case/{world.live_case_id}$"))
    console.press("x")
    assert "End the call now" in page.locator("#verdict-title").inner_text()
    console.submit("Enter")
    run_jobs(app)
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]


def test_a_moderator_is_refused_a_ban_and_the_seniors_and_legal_pages(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    page = console.page
    console.goto(f"/admin/case/{world.case_id}")
    assert page.locator('[data-verdict="ban"]').count() == 0
    console.press("b")  # no such key for a moderator: nothing opens
    assert not page.locator("#verdict-panel").is_visible()
    # Claiming posts a form and loads the case page again: the forged request below needs
    # that page (under load, evaluating at once once met the page between the two).
    with page.expect_navigation():
        page.locator("form[action$='/claim'] button").click()
    # Forged from the page itself, with its own CSRF token: the server still refuses.
    status = page.evaluate("""async (caseId) => {
        const csrf = document.getElementById('page').dataset.csrf;
        const body = new URLSearchParams({decision: 'ban', policy_reason: 'harassment',
                                          csrf_token: csrf});
        const r = await fetch('/admin/case/' + caseId + '/act', {method: 'POST', body});
        return r.status; }""", world.case_id)
    assert status == 403
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []
    for path in ("/admin/appeals/", "/admin/deliveries/", "/admin/staff/",
                 "/admin/platforms/", *LEGAL_PAGES):
        response = console.goto(path)
        assert response.status == 403, path


def test_a_senior_bans_everywhere(app: Flask, world: World, console: Console) -> None:
    _no_live_lane(app, world)
    console.sign_in(STAFF["senior"])
    console.press("n")
    page = console.page
    page.wait_for_url(re.compile(rf"/admin/case/{world.case_id}$"))
    console.press("b")
    assert "Ban from every platform" in page.locator("#verdict-title").inner_text()
    page.select_option("#policy-reason", "violent_threat")
    page.locator("#verdict-confirm").focus()
    console.submit("Enter")
    run_jobs(app)
    assert world.servers["calls"].state == {"c-100": "banned", "c-101": "banned"}
    assert world.servers["web"].state == {"w-100": "banned"}


def test_hostile_text_stays_inert_in_the_browser(app: Flask, console: Console) -> None:
    world = build_world(app, hostile=True)
    try:
        console.sign_in("mod@example.org")
        page = console.page
        console.goto("/admin/queue/")
        console.goto(f"/admin/case/{world.case_id}")
        console.screenshot("case-hostile")
        assert page.evaluate("window.__pwned") is None
        # Nothing injected: no script or img element came from the payloads.
        assert page.locator(".untrusted script, .untrusted img, .untrusted b").count() == 0
        # The page keeps its shape: one heading, every section still there.
        assert page.locator("h1").count() == 1
        assert page.locator("#notes").is_visible() and page.locator(".person").is_visible()
        # The payloads are shown as text, and the direction overrides as visible marks
        # (the reports' descriptions once their summary is opened).
        page.click("#reports-details summary")
        text = page.locator("body").inner_text()
        assert HOSTILE["script"] in text and "[U+202E]" in text and "[U+2066]" in text
        assert page.locator(".ctl").count() >= 3
        assert not console.errors, console.errors
    finally:
        stop(world)


def test_keyboard_shortcuts_and_their_help(app: Flask, world: World,
                                           console: Console) -> None:
    _no_live_lane(app, world)
    console.sign_in(STAFF["moderator"])
    page = console.page
    console.press("?")
    overlay = page.locator("#help-overlay")
    assert overlay.is_visible() and "Claim the next case" in overlay.inner_text()
    console.press("Escape")
    assert not overlay.is_visible()
    console.press("n")
    page.wait_for_url(re.compile(rf"/admin/case/{world.case_id}$"))
    console.press("?")
    for label in ("Dismiss", "Warn", "Mute", "Suspend 1 day", "Suspend 7 days",
                  "Suspend 30 days", "Escalate", "previous case"):
        assert label in overlay.inner_text(), label
    console.press("Escape")
    console.press("e")
    assert page.locator("#escalate-panel").is_visible()
    console.press("Escape")
    console.press("d")
    assert "Dismiss" in page.locator("#verdict-title").inner_text()
    console.submit("Enter")
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).status == "dismissed"
    console.submit("n")  # straight on to the next case
    assert re.search(r"/admin/case/\d+$", page.url)
    next_id = int(page.url.rsplit("/", 1)[1])
    assert next_id != world.case_id
    console.submit("p")  # and back
    assert page.url.endswith(f"/admin/case/{world.case_id}")


#: Pages only the legal team may open (the legal console).
LEGAL_PAGES: tuple[str, ...] = ("/admin/legal/", "/admin/transparency/",
                                 "/admin/legal/exports/1")
