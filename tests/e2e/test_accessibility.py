"""axe-core in a real browser over the console's main pages: no serious or critical
violation (WCAG 2.1 A and AA rules), and error pages a person can leave."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask

from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from workbench.extensions import db
from workbench.models import Case, utcnow

#: The rule sets the issue asks for: WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def _why(node: dict[str, Any]) -> str:
    data = [c.get("data") for c in node.get("any", []) if isinstance(c.get("data"), dict)]
    if data and "fgColor" in data[0]:
        d = data[0]
        return f" {d['fgColor']} on {d['bgColor']} = {d['contrastRatio']}:1"
    return ""


def _serious(page: Any) -> list[str]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [" ".join(map(str, n["target"])) + _why(n) for n in violation["nodes"][:8]]
            found.append(f"{violation['id']} ({violation['impact']}, "
                         f"{len(violation['nodes'])} nodes): {targets}")
    return found


#: Each page as the role that works on it: (role, path, expected status); "signed out"
#: pages are seen by a visitor who has not signed in.
def _pages(world: World) -> dict[str, tuple[str, str, int]]:
    return {
        "queue": ("moderator", "/admin/queue/", 200),
        "case": ("moderator", f"/admin/case/{world.case_id}", 200),
        "search": ("legal", "/admin/search/?q=rowdy", 200),
        "person": ("legal", f"/admin/person/{world.person_id}", 200),
        "legal desk": ("legal", "/admin/legal/", 200),
        "dashboard": ("senior", "/admin/dashboard/", 200),
        "error page": ("senior", "/admin/no-such-page", 404),
        "forbidden page": ("moderator", "/admin/legal/", 403),
        "refused page": ("senior", f"/admin/queue/?assignee={2**64}", 400),
        "home": ("moderator", "/admin/", 200),
        "account": ("moderator", "/admin/account/", 200),
        "decided": ("senior", "/admin/decided/", 200),
        "deliveries": ("senior", "/admin/deliveries/", 200),
        "appeals": ("senior", "/admin/appeals/", 200),
        "reporters": ("senior", "/admin/reporters/", 200),
        "queue settings": ("senior", "/admin/queue-settings/", 200),
        "transparency": ("legal", "/admin/transparency/", 200),
        "audit": ("admin", "/admin/audit/", 200),
        "operations": ("admin", "/admin/operations/", 200),
        "staff": ("admin", "/admin/staff/", 200),
        "platforms": ("admin", "/admin/platforms/", 200),
        "sign-in": ("signed out", "/login", 200),
        "signed-out 404": ("signed out", "/no-such-page", 404),
    }


#: A test per role (one sign-in each: the sign-in rate limit counts this address).
ROLES = ("moderator", "legal", "senior", "admin", "signed out")


@pytest.mark.parametrize("role", ROLES)
def test_console_pages_have_no_serious_accessibility_violations(
        app: Flask, world: World, browser: Any, live_server: str, role: str) -> None:
    pages = {name: (path, status) for name, (who, path, status) in _pages(world).items()
             if who == role}
    assert pages, role
    failures = {}
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        console = Console(context.new_page(), live_server)
        if role != "signed out":
            console.sign_in(STAFF[role])
        for name, (path, status) in pages.items():
            response = console.goto(path)
            assert response is not None and response.status == status, (name, response)
            found = _serious(console.page)
            if found:
                failures[name] = found
    finally:
        context.close()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_a_missing_console_page_is_styled_with_a_way_back(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    response = console.goto("/admin/case/999999999")
    assert response is not None and response.status == 404
    page = console.page
    assert page.evaluate("document.documentElement.lang") == "en"
    # The console's own layout, not Werkzeug's bare page.
    assert page.locator("link[href*='workbench.css']").count() == 1
    assert page.locator("h1").inner_text() == "Not found"
    assert "Werkzeug" not in page.content()
    back = page.locator("[data-way-back]")
    assert back.first.inner_text() == "Back to the queue"
    console.screenshot("error-404")
    with page.expect_navigation():
        back.first.click()
    assert page.url.endswith("/admin/queue/")


#: The focused element's ring: an outline or a box shadow a person can see.
FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || el.name || '').trim().slice(0, 30),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


def test_keyboard_focus_is_always_visible(app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    console.goto("/admin/queue/")
    seen = []
    for _ in range(25):
        console.press("Tab")
        ring = console.page.evaluate(FOCUS_RING)
        seen.append(ring)
        assert ring["outline"], f"no visible focus on {ring}"
    assert {"A", "BUTTON", "INPUT"} <= {r["tag"] for r in seen}


def test_times_follow_the_moderators_zone_and_overdue_is_one_marker(
        app: Flask, world: World, console: Console) -> None:
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        case.due_at = utcnow() - timedelta(minutes=90)
        db.session.commit()
        due = case.due_at
    console.sign_in(STAFF["moderator"])
    page = console.page
    console.goto("/admin/queue/")
    row = page.locator(f'tr[data-case-id="{world.case_id}"]')
    cell = row.locator("td.time-left")
    assert cell.get_attribute("title") == "due " + due.astimezone(
        ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M")
    marker = row.locator("[data-overdue]")
    assert marker.count() == 1 and marker.inner_text().strip().endswith("overdue")
    # The row itself is not painted: only the marker carries the colour.
    colours = row.evaluate("r => [...r.cells].map(c => getComputedStyle(c).color)")
    assert "rgb(180, 35, 24)" not in colours
    assert row.evaluate("r => getComputedStyle(r).backgroundColor") in (
        "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    console.screenshot("queue-overdue-marker")

    console.goto("/admin/account/")
    page.select_option("#time-zone", "America/New_York")
    with page.expect_navigation():
        console.click("form[action$='/time-zone'] button[type=submit]")
    assert "America/New_York" in page.locator("body").inner_text()
    console.goto("/admin/queue/")
    assert cell.get_attribute("title") == "due " + due.astimezone(
        ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")
    assert page.locator(".user-menu .zone").inner_text() in ("EST", "EDT")
    assert not console.errors, console.errors
