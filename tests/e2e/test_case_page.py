"""The case page at a moderator's screen size (1440×900): the evidence above the fold on a
case with many reports, the decision beside it and in view, the reason about the item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from tests.workbench.console.test_evidence_first import add_reports
from workbench.extensions import db
from workbench.models import Message

pytestmark = pytest.mark.e2e

#: Where the first evidence block must start, from the top of the page.
EVIDENCE_WITHIN_PX = 600


@pytest.fixture
def wide(browser: Any, live_server: str) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = Console(context.new_page(), live_server)
    yield tab
    context.close()
    assert not [e for e in tab.errors if "Content Security Policy" in e], tab.errors


def _top(console: Console, selector: str) -> float:
    return float(console.page.eval_on_selector(
        selector, "e => e.getBoundingClientRect().top + window.scrollY"))


def test_the_evidence_comes_first_and_the_decision_stays_beside_it(
        app: Flask, world: World, wide: Console) -> None:
    with app.app_context():
        add_reports(world, 14, {"harassment": 40, "spam_scam": 20}, spread=True)
    wide.sign_in(STAFF["moderator"])
    wide.goto(f"/admin/case/{world.case_id}")
    page = wide.page
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("[data-evidence]")
    offset = _top(wide, "[data-evidence]")
    assert offset < EVIDENCE_WITHIN_PX, offset
    # The 62 reports are one line until opened.
    summary = page.locator("#reports-details summary")
    assert summary.inner_text().startswith("62 reports from 15 reporters")
    assert not page.locator("#reports-details table").is_visible()
    summary.click()
    assert page.locator("#reports-details tbody tr").count() == 62
    # The decision panel sits to the right of the evidence, and stays in view when the
    # moderator scrolls down through the content.
    evidence = page.locator(".evidence-col").bounding_box()
    decide = page.locator(".decide").bounding_box()
    assert evidence and decide and decide["x"] > evidence["x"] + evidence["width"] - 1
    assert decide["y"] < EVIDENCE_WITHIN_PX
    page.evaluate("[...document.querySelectorAll('[data-evidence]')].pop()"
                  ".scrollIntoView({block: 'end'})")
    assert page.evaluate("window.scrollY") > 0
    box = page.evaluate("(({top, bottom}) => ({top, bottom}))("
                        "document.querySelector('.verdicts').getBoundingClientRect())")
    assert 0 <= box["top"] and box["bottom"] <= 900, box
    assert page.locator("[data-verdict='warn']").is_visible()
    wide.screenshot("case-evidence-first")


def test_the_reason_follows_the_item_decided_about(app: Flask, world: World,
                                                   wide: Console) -> None:
    wide.sign_in(STAFF["moderator"])
    wide.goto(f"/admin/case/{world.case_id}")
    page = wide.page
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("[data-evidence]")
    page.click(f"#evidence-message-{world.message_id} [data-verdict='remove_content']")
    assert page.locator("#policy-reason").input_value() == "harassment"
    wide.press("Escape")
    wide.press("w")  # the person, for the lead evidence: the threat in the recording
    assert page.locator("#policy-reason").input_value() == "violent_threat"


def test_a_self_harm_case_sends_safety_resources_with_one_key(app: Flask, world: World,
                                                             wide: Console) -> None:
    from tests.workbench.console.test_welfare import _self_harm

    _self_harm(app, world)
    wide.sign_in(STAFF["moderator"])
    wide.goto(f"/admin/case/{world.case_id}")
    page = wide.page
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("#welfare")
    wide.press("m")  # a punitive choice: no reason chosen, and it must say why
    assert page.locator("#policy-reason").input_value() == ""
    assert page.locator("#why-not-welfare").is_visible()
    wide.press("Escape")
    wide.press("s")
    assert "Send safety resources" in page.locator("#verdict-title").inner_text()
    assert not page.locator("#why-not-welfare").is_visible()
    assert not page.locator("#policy-reason").is_visible()
    wide.submit("Enter")
    assert "Done: send safety resources" in page.content()


#: The parts of the case page this layout adds; the rest of the console is checked apart.
CASE_PARTS = [".case-head", ".evidence-col", ".decide-col", ".reports"]


def test_the_case_page_has_no_serious_accessibility_violations(app: Flask, world: World,
                                                               wide: Console) -> None:
    from axe_playwright_python.sync_playwright import Axe

    with app.app_context():
        add_reports(world, 14, {"harassment": 40, "spam_scam": 20}, spread=True)
    wide.sign_in(STAFF["moderator"])
    wide.goto(f"/admin/case/{world.case_id}")
    page = wide.page
    page.locator("form[action$='/claim'] button").click()
    page.wait_for_selector("[data-evidence]")
    page.click("#reports-details summary")
    results = Axe().run(page, context={"include": [[s] for s in CASE_PARTS]})
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_hindi_in_devanagari_is_drawn_in_the_consoles_own_font(
        app: Flask, world: World, wide: Console) -> None:
    """A machine without a Devanagari font draws Hindi as empty boxes: the console serves
    one, fetched only for Devanagari characters, and the Latin text keeps its own."""
    with app.app_context():
        db.session.execute(update(Message).where(Message.platform_message_id == "m-4")
                           .values(text="कृपया रुको, मैं पुलिस को बता दूँगी"))
        db.session.commit()
    wide.sign_in(STAFF["moderator"])
    wide.goto(f"/admin/case/{world.case_id}")
    page = wide.page
    page.wait_for_selector("[data-evidence]")
    assert page.get_by_text("कृपया रुको").first.is_visible()
    faces = page.evaluate("""async () => {
        await document.fonts.ready;
        return [...document.fonts].map(f => [f.family.replaceAll('"', ''), f.weight, f.status]);
    }""")
    assert ["Workbench Devanagari", "400", "loaded"] in faces, faces
    # A Latin-only page fetches nothing of it.
    assert wide.goto("/admin/account/").status == 200
    latin = page.evaluate("""async () => {
        await document.fonts.ready;
        return [...document.fonts].filter(f => f.family.includes('Workbench Devanagari')
                                               && f.status === 'loaded').length;
    }""")
    assert latin == 0
    wide.goto(f"/admin/case/{world.case_id}")
    page.wait_for_selector("[data-evidence]")
    page.get_by_text("कृपया रुको").first.scroll_into_view_if_needed()
    wide.screenshot("case-devanagari")
