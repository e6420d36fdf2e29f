"""Console forms as a browser submits them: with the CSRF token the page carried."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.support.console_world import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a page's form, as a browser would submit it."""
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    """Sign in through the login form, as a person would."""
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client)})


def post_form(client: FlaskClient, path: str, data: dict[str, str] | None = None,
              page: str = "/admin/queue/"):
    """POST a console form with a valid CSRF token taken from ``page``."""
    token = csrf_token(client, page)
    return client.post(path, data={**(data or {}), "csrf_token": token})
