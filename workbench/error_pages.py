"""Error pages for people: the workbench's own layout, what happened, and a way back.

The API answers its errors in JSON (``workbench.api.errors``); everything else a browser
reaches (the console, sign-in, the landing page) gets one of these, never Werkzeug's
bare page.
"""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from workbench.extensions import db

#: What each status means to a moderator, in their words.
EXPLANATIONS = {
    400: ("Not understood", "The page was asked for with something it cannot read."),
    401: ("Sign in first", "This page needs you to be signed in."),
    403: ("Not yours to see", "Your role does not open this page. Ask a senior or an "
          "administrator if you need it."),
    404: ("Not found", "There is no such page, or what it showed no longer exists."),
    405: ("Not done", "That page does not take this kind of request."),
    409: ("Changed meanwhile", "Someone else changed this while you were working on it. "
          "Reload to see where it stands now."),
    429: ("Too many tries", "Wait a little, then try again."),
    503: ("Try again shortly", "The workbench cannot reach its database just now. "
          "Nothing was saved; try again in a moment."),
    500: ("Something broke", "Nothing you did caused this. It has been logged; try again, "
          "and tell an administrator if it keeps happening."),
}
#: Headers of Werkzeug's own answer worth keeping (``Allow`` on 405, ``Retry-After``...).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _signed_in() -> bool:
    """Whether someone is signed in, without failing the page when the database (which
    says who is) is gone: then the page is drawn for a visitor. Asking anyway made every
    error page during an outage a 500, the 503 included."""

    try:
        return bool(current_user.is_authenticated)
    except SQLAlchemyError:
        db.session.rollback()
        # Templates read current_user too (Flask-Login's context processor).
        g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
        return False


def _ways_back() -> list[tuple[str, str]]:
    if _signed_in():
        return [("Back to the queue", url_for("queue.index")),
                ("Console home", url_for("admin.index"))]
    return [("Sign in", url_for("auth.login")), ("Home", url_for("web.index"))]


def error_page(exc: HTTPException) -> Response:
    """The page (or, for a script asking for JSON, the body) for ``exc``."""
    status = exc.code or 500
    title, explanation = EXPLANATIONS.get(status, (exc.name, ""))
    # The workbench's own reason (``abort(400, "that queue position is not valid...")``)
    # says more than the general explanation; Werkzeug's stock text says less.
    own = exc.description if exc.description != type(exc).description else None
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(error={"code": (exc.name or "error").lower().replace(" ", "_"),
                                  "message": own or explanation or exc.name})
    else:
        detail = own or (exc.description if status not in EXPLANATIONS else "")
        response = Response(render_template(
            "console/error.html", status=status, title=title, explanation=explanation,
            detail=detail, ways_back=_ways_back()), mimetype="text/html")
    response.status_code = status
    original = exc.get_response()
    for name in _KEPT_HEADERS:
        if name in original.headers:
            response.headers[name] = original.headers[name]
    return response
