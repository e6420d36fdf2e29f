"""A browser tab on the console, as the browser tests drive it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.console_world import PASSWORD

SCREENSHOTS = Path(__file__).parents[1] / "e2e" / "screenshots"


class Console:
    """A browser tab on the console, noting every script error and CSP violation."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.keys = 0
        self.clicks = 0
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Type the email, the password, then Enter: what a person does."""
        self.goto("/login")
        # The email field takes the focus by itself (autofocus): no click needed.
        # A locator assertion, not wait_for_function: a string predicate that is polled
        # (the focus not there yet on a busy machine) is eval'd in the page, which the
        # console's CSP forbids.
        expect(self.page.locator("#email")).to_be_focused(timeout=30_000)
        self.type(email)
        self.press("Tab")
        self.type(password)
        self.submit("Enter")
        assert "/login" not in self.page.url, self.page.locator("body").inner_text()[:500]

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def press(self, key: str) -> None:
        self.keys += 1
        self.page.keyboard.press(key)

    def submit(self, key: str) -> None:
        """Press a key that sends a form, and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.press(key)

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
