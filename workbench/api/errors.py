"""API errors: always JSON ``{"error": {"code", "message", "field"?, "index"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait when the database is unreachable.
RETRY_AFTER_S = 5


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


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not _is_api():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        err = ApiError(exc.code or 500, code, exc.description or exc.name or "error")
        if exc.code == 413:
            err.message = "request body is larger than this endpoint accepts"
        return err.response()

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> Response:
        # A database outage is not the caller's fault, and nothing was stored: retry later.
        log.warning("database unavailable: %s", exc.orig)
        return ApiError(503, "database_unavailable",
                        "the database is unavailable; retry shortly",
                        headers={"Retry-After": str(RETRY_AFTER_S)}).response()

