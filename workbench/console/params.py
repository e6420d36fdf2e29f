"""Numbers and paths from console URLs and forms, read strictly.

A bad value is the caller's mistake and gets a 400 (or a 404 for a path), never a
server error. ``str.isdigit`` is not a test for "int() will take this": it is true for
``²`` and other digits ``int`` refuses, and it says nothing about size, while every id
is a 64-bit column. So numbers are ASCII digits, within the range their column holds.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, jsonify, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

#: The largest id a BIGINT column holds (PostgreSQL; SQLite's INTEGER holds the same).
MAX_ID = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")
#: A same-site path: one leading slash, and nothing a browser reads as another host
#: (``//host``, ``/\host``) nor anything that would split a header (control characters).
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x20\x7f]*")


class BadParameter(BadRequest):
    """A console parameter that is not what the page sends; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_int(raw: str | None, *, low: int, high: int) -> int | None:
    """``raw`` as an int in ``[low, high]``, or None when it is missing or anything else."""
    text = (raw or "").strip()
    if not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_id(raw: str | None) -> int | None:
    """An id (1 to 2**63 - 1) written in ASCII digits, or None."""
    return parse_int(raw, low=1, high=MAX_ID)


def id_field(raw: str | None, field: str) -> int | None:
    """An optional id from a form or query: None when empty, 400 when not an id."""
    if raw is None or not raw.strip():
        return None
    value = parse_id(raw)
    if value is None:
        raise BadParameter(field, f"{field} must be a number from 1 to {MAX_ID}")
    return value


def ids_field(raws: list[str], field: str) -> list[int]:
    """A list of ids (checkboxes), each an id or the whole request is refused."""
    return [v for v in (id_field(raw, field) for raw in raws) if v is not None]


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if target and len(target) <= 2048 and _SAME_SITE_PATH.fullmatch(target):
        return target
    return None


class IdConverter(IntegerConverter):
    """``<int:...>`` in a URL: a number the id columns hold, or no such page (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _refuse(exc: BadParameter) -> Any:
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error={"code": "bad_parameter", "message": exc.description,
                              "field": exc.field}), 400
    return render_template("console/refused.html", message=exc.description,
                           back=url_for("admin.index")), 400


def _no_nul() -> None:
    # PostgreSQL refuses NUL in text; a console form never sends one.
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise BadParameter(key.replace("\x00", ""), "NUL is not allowed in a field")


def init_app(app: Flask) -> None:
    """Bounded ids in console URLs, and a 400 with the field for a bad parameter.

    Call before the console's views are added: a rule reads its converters when it
    is registered.
    """
    app.url_map.converters["int"] = IdConverter
    app.register_error_handler(BadParameter, _refuse)

    @app.before_request
    def _console_params() -> None:
        if request.path.startswith("/admin"):
            _no_nul()
