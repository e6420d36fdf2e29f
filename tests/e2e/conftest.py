"""A real browser against the real app: Debian's chromium driven by Playwright.

The console is served by a real HTTP server on 127.0.0.1 in a thread of the test
process, against the test database and Redis; platform webhooks go to real servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.console_world import PASSWORD, World, build_world, stop

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install "
                    "chromium); set WORKBENCH_CHROMIUM to use another binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    # Plain HTTP on loopback: a Secure cookie would never be sent back.
    app.config["SESSION_COOKIE_SECURE"] = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    built = build_world(app)
    yield built
    stop(built)


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
        page.on("dialog", lambda dialog: (self.errors.append(f"dialog: {dialog.message}"),
                                          dialog.dismiss()))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Type the email, the password, then Enter: what a person does."""
        self.goto("/login")
        # The email field takes the focus by itself (autofocus): no click needed.
        self.page.wait_for_function("document.activeElement && "
                                    "document.activeElement.id === 'email'")
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


@pytest.fixture
def console(browser: Any, live_server: str) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), live_server)
    yield tab
    context.close()
    assert not [e for e in tab.errors if "Content Security Policy" in e], tab.errors
