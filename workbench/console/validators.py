"""HTTP validators for console pages: an ETag on what a page shows, and 304 when it is unchanged.

A console page is private to the signed-in user and carries their CSRF token, which is
signed anew on every request. Its ETag is a digest of the page without that token, plus
the session's CSRF secret: the same page to the same session validates, and a new
session (sign-in again, another user) never reuses a page whose forms would be refused.
The view runs first, so only a user allowed to see the page ever gets a 304 for it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, current_app, g, make_response, request, session

#: Browsers keep the page but ask before each use (a 304 costs a few bytes).
REVALIDATE = "private, no-cache"


def _csrf_field() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def page_etag(body: str) -> str:
    """A digest of ``body`` that ignores this request's CSRF token but not the session's."""
    field = _csrf_field()
    token = g.get(field)  # Flask-WTF keeps the token it put in the page here
    stable = body.replace(token, "") if token else body
    secret = str(session.get(field, ""))
    return hashlib.sha256(f"{secret}\n{stable}".encode()).hexdigest()[:32]


def conditional_page(body: str, last_modified: datetime | None = None) -> Response:
    """``body`` as an HTML response with its ETag, or a 304 when the browser has it."""
    response = make_response(body)
    response.set_etag(page_etag(body))
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = REVALIDATE
    response.vary.add("Cookie")
    response.make_conditional(request)  # changes the response itself, and returns it
    return response


def conditional_part(response: Response, etag: str, last_modified: datetime | None,
                     max_age: int) -> Response:
    """A chart or download whose ``etag`` names its content: cached ``max_age`` seconds
    by this browser only, then revalidated with a 304."""
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    response.vary.add("Cookie")
    response.make_conditional(request)  # changes the response itself, and returns it
    return response
