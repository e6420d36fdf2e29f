"""Depth in the browser: a spam wave decided at once and undone, charts that draw, and the
legal desk's evidence bundle with its progress (wellness, strikes, reporters and
operations: ``test_console_care.py``)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from tests.support.jobs import run_jobs

pytestmark = pytest.mark.e2e


def _images_drawn(console: Console, selector: str) -> list[int]:
    """The drawn width of every chart image (0 would mean the browser could not draw it)."""
    page = console.page
    # A function with its argument, never a string to eval: the console's CSP forbids it.
    page.wait_for_function("(s) => [...document.querySelectorAll(s)].every(i => i.complete)",
                           arg=selector)
    widths: list[int] = page.eval_on_selector_all(selector,
                                                  "imgs => imgs.map(i => i.naturalWidth)")
    return widths


def test_a_senior_decides_a_spam_wave_then_undoes_it(app: Flask, world: World,
                                                     console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    for case_id in world.other_case_ids:
        page.check(f'input[name="case_id"][value="{case_id}"]')
    page.select_option('#bulk-form select[name="decision"]', "suspend_1")
    page.select_option('#bulk-form select[name="policy_reason"]', "spam_scam")
    with page.expect_navigation():
        page.click("#bulk-review")
    assert "3 cases" in page.locator("h1 + p").inner_text()
    with page.expect_navigation():
        page.click("#bulk-confirm")
    run_jobs(app)
    assert set(world.servers["meet"].state.values()) == {"suspended"}
    console.screenshot("bulk-done")
    with page.expect_navigation():
        page.click("#bulk-undo")
    assert "Undone: 3 cases reopened" in page.content()
    run_jobs(app)
    assert set(world.servers["meet"].state.values()) == {"active"}


def test_the_dashboard_and_transparency_charts_draw_in_the_browser(
        app: Flask, world: World, console: Console) -> None:
    from queues.dashboard import refresh_dashboard

    with app.app_context():
        refresh_dashboard()
    console.sign_in(STAFF["senior"])
    console.goto("/admin/dashboard/")
    widths = _images_drawn(console, ".charts img")
    assert len(widths) >= 6 and all(w > 0 for w in widths), widths
    console.screenshot("dashboard")
    console.page.context.clear_cookies()
    console.sign_in(STAFF["legal"])
    console.goto("/admin/transparency/")
    widths = _images_drawn(console, ".charts img")
    assert len(widths) == 3 and all(w > 0 for w in widths), widths


def test_the_legal_team_exports_a_bundle_and_watches_it_build(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["legal"])
    page = console.page
    assert page.url.endswith("/admin/legal/")
    page.locator("summary", has_text="Export a bundle").click()
    form = page.locator("form[action$='/admin/legal/exports']")
    form.locator("select[name=scope]").select_option("case")
    form.locator("input[name=scope_ref]").fill(str(world.case_id))
    form.locator("input[name=reason]").fill("BNSS s.94 notice")
    form.locator("input[name=request_ref]").fill("FIR 12/2026")
    with page.expect_navigation():
        form.locator("button").click()
    assert page.locator("#export-status").inner_text() == "queued"
    run_jobs(app)  # the export worker builds it; the page follows the progress by itself
    page.wait_for_selector("#download", timeout=15000)
    assert page.locator("#export-status").inner_text() == "done"
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.startswith("evidence-")
    page.reload()
    assert "console download" in page.locator("table.custody").inner_text()
