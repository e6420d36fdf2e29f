"""API errors: always JSON ``{"error": {"code", "message", "field"?, "index"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from workbench.error_pages import error_page

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait when the database is unreachable.
RETRY_AFTER_S = 5
#: SQLSTATE class of a transaction the database rolled back to resolve a conflict with
#: another (a deadlock, a serialization failure): nothing was stored; retry at once.
TRANSACTION_ROLLBACK_CLASS = "40"


class ApiError(Exception):
    """An error the caller can fix (or, for 503, wait out)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 index: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.index = index
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.index is not None:
            body["index"] = self.index
        resp = jsonify(error=body)
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _is_console() -> bool:
    """Pages people read (health checks and the API keep their JSON)."""
    return request.path.startswith("/admin") or request.path in ("/login", "/logout")


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if not _is_api():
            return error_page(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        err = ApiError(exc.code or 500, code, exc.description or exc.name or "error")
        if exc.code == 413:
            err.message = "request body is larger than this endpoint accepts"
        return err.response()

    @app.teardown_appcontext
    def _end_session(exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own teardown. Its rollback of a connection the
        # database ended after the answer was decided would raise past every error
        # handler and turn that answer into a 500; the transaction is gone either way.
        from workbench.extensions import db

        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("database connection lost while ending a request: %s", error.orig)
            db.session.remove()

    # InterfaceError: the database ended the connection between two statements of the
    # request ("the connection is closed"), as an outage that begins mid-request does.
    @app.errorhandler(InterfaceError)
    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError | InterfaceError) -> Response:
        # A database outage is not the caller's fault, and nothing was stored: retry later.
        if str(getattr(exc.orig, "sqlstate", "")).startswith(TRANSACTION_ROLLBACK_CLASS):
            log.warning("transaction rolled back on a conflict: %s", exc.orig)
            return ApiError(503, "transaction_conflict",
                            "the request collided with another and nothing was stored; "
                            "retry it", headers={"Retry-After": "1"}).response()
        log.warning("database unavailable: %s", exc.orig)
        if _is_console():


            page = error_page(ServiceUnavailable())
            page.headers["Retry-After"] = str(RETRY_AFTER_S)
            return page
        return ApiError(503, "database_unavailable",
                        "the database is unavailable; retry shortly",
                        headers={"Retry-After": str(RETRY_AFTER_S)}).response()

