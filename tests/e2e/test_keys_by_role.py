"""Keys are bound only for the roles that may use them: a key the help overlay does not
list does nothing (the legal team reads cases; ``n`` would try a claim and meet a 403)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.support.browser import Console
from tests.support.console_world import STAFF, World

pytestmark = pytest.mark.e2e

DEADLINE_MS = 20_000


def _requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(f"{request.method} {request.url}"))
    return seen


def _settle(page: Any) -> None:
    """A round trip to the server after the keys: anything they sent has been sent."""
    page.evaluate("fetch('/healthz', {credentials: 'same-origin'}).then(r => r.status)")


def test_n_on_a_case_page_does_nothing_for_the_legal_team(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["legal"])
    page = console.page
    console.goto(f"/admin/case/{world.case_id}")
    url = page.url
    seen = _requests(page)
    responses: list[int] = []
    page.on("response", lambda response: responses.append(response.status))
    console.press("n")
    console.press("?")
    overlay = page.locator("#help-overlay")
    expect(overlay).to_be_visible(timeout=DEADLINE_MS)
    _settle(page)
    assert not [r for r in seen if "/admin/queue/next" in r], seen
    assert 403 not in responses, (responses, seen)
    assert page.url == url
    listed = overlay.inner_text()
    assert "Claim the next case" not in listed
    assert "Back to the previous case" in listed  # legal may go back: p is listed and bound
    assert "n" not in page.locator("#help-overlay").get_attribute("data-keys").split()
    console.press("Escape")
    assert not console.errors, console.errors


def test_n_still_claims_for_a_moderator_and_is_listed(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    page = console.page
    console.goto(f"/admin/case/{world.case_id}")
    console.press("?")
    expect(page.locator("#help-overlay")).to_be_visible(timeout=DEADLINE_MS)
    assert "Claim the next case" in page.locator("#help-overlay").inner_text()
    console.press("Escape")
    console.submit("n")
    assert "/admin/case/" in page.url
    assert page.locator("form[action$='/release']").count() == 1  # the case is now held
    assert not console.errors, console.errors
