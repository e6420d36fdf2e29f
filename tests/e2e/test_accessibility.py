"""axe-core in a real browser over the console's main pages: no serious or critical
violation (WCAG 2.1 A and AA rules), and error pages a person can leave."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from flask import Flask

from tests.console_world import STAFF, World
from tests.e2e.conftest import Console

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


#: Each page as the role that works on it: (role, path, expected status).
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
    }


def test_console_pages_have_no_serious_accessibility_violations(
        app: Flask, world: World, browser: Any, live_server: str) -> None:
    failures = {}
    for name, (role, path, status) in _pages(world).items():
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        console = Console(context.new_page(), live_server)
        try:
            console.sign_in(STAFF[role])
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
    with page.expect_navigation():
        back.first.click()
    assert page.url.endswith("/admin/queue/")
