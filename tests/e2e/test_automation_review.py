"""Automation under review in the browser: a senior confirms and overturns with one key each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from actions.enforcement import ActionRequest, apply_action
from tests.support.browser import Console
from tests.support.console_world import HOSTILE, STAFF, World
from tests.support.jobs import run_jobs
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Action, Case, Message

pytestmark = pytest.mark.e2e


def _automated_mutes(app: Flask, world: World) -> list[int]:
    """Two mutes a model's rule applied: the world's person (over a hostile message), then
    another person; oldest first."""
    from queues.enforce import enqueue_deliveries

    ids, deliveries = [], []
    with app.app_context():
        message = db.session.get_one(Message, world.message_id)
        message.text = HOSTILE["img"] + " buy followers now"
        other = db.session.get_one(Case, world.other_case_ids[0]).person_id
        for person_id, message_id in ((world.person_id, message.id), (other, None)):
            action = apply_action(db.session, ActionRequest(
                type=ActionType.MUTE, person_id=person_id, policy_reason="spam_scam",
                decided_by_rule="spam_scam>=0.99", model_version="auto-1", automated=True,
                duration=timedelta(hours=24), message_id=message_id))
            ids.append(action.id)
            deliveries += [d.id for d in action.deliveries]
        db.session.commit()
        enqueue_deliveries(deliveries)
    return ids


def test_a_senior_overturns_the_second_and_confirms_the_first_by_key(
        app: Flask, world: World, console: Console) -> None:
    first, second = _automated_mutes(app, world)
    run_jobs(app)
    assert world.servers["meet"].state and set(world.servers["meet"].state.values()) == {"muted"}
    console.sign_in(STAFF["senior"])
    console.goto("/admin/automation/")
    page = console.page
    assert "buy followers now" in page.locator(f"#review-{first}").inner_text()
    assert page.evaluate("window.__pwned") is None
    console.screenshot("automation-review")
    from axe_playwright_python.sync_playwright import Axe

    # This page's own parts; the header and the page frame are checked with the layout.
    results = Axe().run(page, context={"include": [[".review-card"]]})
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    console.press("j")  # select the second row
    assert page.get_attribute(f"#review-{second}", "aria-current") == "true"
    console.submit("o")
    assert "reversed on every platform" in page.content()
    assert page.locator(f"#review-{second}").count() == 0
    console.submit("c")  # the first row is selected again: the only one left
    assert f"Action {first} confirmed" in page.content()
    assert "Nothing waits for review" in page.content()
    assert console.clicks == 0
    run_jobs(app)
    with app.app_context():
        states = dict(db.session.execute(select(Action.id, Action.review_state).where(
            Action.id.in_([first, second]))).all())
        assert states == {first: "confirmed", second: "overturned"}
        assert db.session.get_one(Action, second).status == "reversed"
        assert db.session.get_one(Action, first).status == "active"
    # The overturned mute is lifted on the platform it reached; the confirmed one stays.
    assert set(world.servers["meet"].state.values()) == {"active"}
    assert "muted" in set(world.servers["calls"].state.values())
    assert not console.errors, console.errors


def test_the_decision_panel_warns_of_a_mute_in_force_and_asks_before_stacking(
        app: Flask, world: World, console: Console) -> None:
    first, _ = _automated_mutes(app, world)
    console.sign_in(STAFF["moderator"])
    console.goto(f"/admin/case/{world.case_id}")
    page = console.page
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("[data-evidence]")
    console.press("w")
    ladder = page.locator("#ladder")
    assert "strike 1" in ladder.locator(".ladder-step").inner_text()
    assert f"mute #{first}" in ladder.inner_text()
    assert not page.locator(".ladder-stack").is_visible()  # a warning stacks on nothing
    console.press("Escape")
    page.click(f"#evidence-message-{world.message_id} [data-verdict='remove_content']")
    assert not page.locator(".ladder-step").is_visible()  # removing one item is no strike
    console.press("Escape")
    console.press("m")
    assert page.locator(".ladder-stack").is_visible()
    console.submit("Enter")  # no confirmation ticked: the server refuses
    assert "already in force" in page.content()
    console.goto(f"/admin/case/{world.case_id}")
    console.press("m")
    page.check("#confirm-stack")
    console.submit("Enter")
    assert "Done: mute" in page.content()
    with app.app_context():
        mutes = db.session.scalars(select(Action).where(Action.type == "mute",
                                                        Action.person_id == world.person_id))
        assert [m.automated for m in mutes] == [True, False]
    assert not [e for e in console.errors if "422" not in e], console.errors
