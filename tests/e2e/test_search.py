"""Search in the browser: the header box, the results, and the person page."""

from __future__ import annotations

import re

from flask import Flask

from tests.support.browser import Console
from tests.support.console_world import STAFF, World


def test_legal_finds_a_person_by_username_and_opens_their_page(app: Flask, world: World,
                                                              console: Console) -> None:
    console.sign_in(STAFF["legal"])
    page = console.page
    console.press("/")  # the header search takes the focus
    assert page.evaluate("document.activeElement.id") == "header-search-q"
    console.type("rowdy")
    console.submit("Enter")
    assert "/admin/search/" in page.url
    people = page.locator('[data-search-section="people"]')
    assert "rowdy_raj" in people.inner_text()
    console.screenshot("search")
    with page.expect_navigation():
        console.click("[data-person-link] >> nth=0")
    assert re.search(rf"/admin/person/{world.person_id}$", page.url)
    accounts = page.locator('[data-person-section="accounts"]').inner_text()
    for name in ("rowdy_raj", "raj_alt", "raj.web"):
        assert name in accounts
    assert f"case {world.case_id}" in page.locator('[data-person-section="cases"]').inner_text()
    console.screenshot("person")
    assert not console.errors, console.errors
