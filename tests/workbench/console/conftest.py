"""Console fixtures: the small world, and test clients signed in as each role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console_world import PASSWORD, STAFF, World, build_world, stop

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a page's form, as a browser would submit it."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client)})


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    built = build_world(app)
    yield built
    stop(built)


@pytest.fixture
def signed_in(app: Flask, world: World) -> Callable[[str], FlaskClient]:
    """A test client signed in as one of the staff (``moderator``, ``senior`` ...)."""

    def make(who: str) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, STAFF[who])
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


def post_form(client: FlaskClient, path: str, data: dict[str, str] | None = None,
              page: str = "/admin/queue/"):  # type: ignore[no-untyped-def]
    """POST a console form with a valid CSRF token taken from ``page``."""
    token = csrf_token(client, page)
    return client.post(path, data={**(data or {}), "csrf_token": token})
