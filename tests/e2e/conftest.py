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

from tests.support.browser import Console
from tests.support.console_world import World, build_world, stop
from tests.support.platform_server import STOP_POLL_S

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


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
    thread = threading.Thread(target=server.serve_forever, args=(STOP_POLL_S,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    built = build_world(app)
    yield built
    stop(built)


@pytest.fixture
def console(browser: Any, live_server: str) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), live_server)
    yield tab
    context.close()
    assert not [e for e in tab.errors if "Content Security Policy" in e], tab.errors
