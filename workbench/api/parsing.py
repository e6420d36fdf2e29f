"""Reading request bodies strictly: size, encoding, JSON, and the item schemas."""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from workbench.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def raw_body(limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (read no further than that)."""
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, "body_too_large", f"body is {length} bytes; the limit is {limit}")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"body is over the limit of {limit} bytes")
    return body


#: Deepest nesting a body may have: a batch item is 3 levels down, signal details a few more.
MAX_DEPTH = 32
#: Integers are ids or small counts: anything past 64 bits is refused before ``int()``.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Digits (and sign) a 64-bit integer can have; longer is refused without converting it.
_MAX_INT_CHARS = 20
#: NUL (PostgreSQL cannot store it) and lone surrogates (no encoding can store them).
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


# A JSON escape that can decode to NUL or a surrogate (an escaped backslash before "u"
# also matches: it only costs the thorough walk).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class _Refused:
    """Left in the decoded tree where a number was refused, so the walk can name its field."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_int(text: str) -> int | _Refused:
    if len(text) > _MAX_INT_CHARS:
        return _Refused("integer is out of the 64-bit range")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        return _Refused("integer is out of the 64-bit range")
    return value


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("number is out of range")


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def decode_json(text: str, prefix: tuple[int | str, ...] = ()) -> Any:
    """Decode JSON text and check its bounds: depth, numbers and characters.

    Raises:
        ApiError: 400 when the text is not JSON; 422 naming the field otherwise.
    """
    field = _field(prefix) or None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json",
                       f"{field or 'body'} is not valid JSON: {exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}", field=field) from None
    except RecursionError:
        raise ApiError(422, "too_deep", f"{field or 'body'} is nested deeper than {MAX_DEPTH} "
                       "levels", field=field) from None
    # Text decoded strictly from UTF-8 holds NUL or a surrogate only as an escape; text
    # from elsewhere (a form field) is searched as it is.
    suspect = _SUSPECT_ESCAPE.search(text) is not None or (
        not text.isascii() and _BAD_CHAR.search(text) is not None)
    if suspect or not _shallow_and_numeric(value):
        check_bounds(value, prefix)
    return value


#: Longest request target (path and query) the API reads: gunicorn's default request line.
MAX_URI_CHARS = 4094


def raw_uri() -> str:
    """The path and query exactly as the client sent them (percent-encoding kept)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if not raw.startswith("/"):  # absent, or an absolute-form target: rebuild it
        raw = request.full_path.rstrip("?")
    return str(raw)


def check_uri() -> None:
    """An API request's target: at most ``MAX_URI_CHARS`` and ASCII, as RFC 3986 says."""
    if not request.path.startswith("/api/"):
        return
    uri = raw_uri()
    if len(uri) > MAX_URI_CHARS:
        raise ApiError(414, "uri_too_long",
                       f"the path and query are {len(uri)} characters; the limit is "
                       f"{MAX_URI_CHARS}")
    if not uri.isascii():
        raise ApiError(400, "invalid_uri", "percent-encode every non-ASCII byte of the path")


def checked_text(value: str, field: str, max_length: int | None = None) -> str:
    """Text from a path or a multipart header, refused (422 naming it) when no column could
    hold it: NUL, a lone surrogate, or past ``max_length``."""
    problem = _bad_text(value)
    if problem is None and max_length is not None and len(value) > max_length:
        problem = f"must be at most {max_length} characters"
    if problem is not None:
        raise ApiError(422, "invalid_field", f"{field}: {problem}", field=field)
    return value


def json_body(body: bytes) -> Any:
    """Decode UTF-8 JSON, saying where it is broken or out of bounds."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"send Content-Type: application/json (got {mimetype or 'none'})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding",
                       f"body is not valid UTF-8 (byte {exc.start})") from None
    return decode_json(text)


def _bad_text(value: str) -> str | None:
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must be valid Unicode (it holds a lone surrogate)"


def _refuse(path: tuple[int | str, ...], problem: str, code: str = "") -> ApiError:
    field = _field(path) or None
    index = next((p for p in path if isinstance(p, int)), None)
    code = code or ("invalid_item" if index is not None else "invalid_body")
    return ApiError(422, code, f"{field}: {problem}" if field else problem, field=field,
                    index=index)


def _shallow_and_numeric(payload: Any, max_depth: int = MAX_DEPTH) -> bool:
    """The cheap pass: no container deeper than ``max_depth`` and no refused number.

    Strings need no look when the text has no suspect escape: a body decoded strictly
    from UTF-8 can carry NUL or a lone surrogate only as a ``\\u`` escape.
    """
    if type(payload) is _Refused:
        return False
    if type(payload) not in (dict, list):
        return True
    stack: list[tuple[Any, int]] = [(payload, 1)]
    push, pop = stack.append, stack.pop
    while stack:
        node, depth = pop()
        if depth > max_depth:
            return False
        for child in node.values() if type(node) is dict else node:
            t = type(child)
            if t is dict or t is list:
                push((child, depth + 1))
            elif t is _Refused:
                return False
    return True


def check_bounds(payload: Any, prefix: tuple[int | str, ...] = (), *,
                 max_depth: int = MAX_DEPTH) -> None:
    """Refuse decoded JSON that nests too deep, holds a refused number, NUL or a lone
    surrogate (keys included), naming the first culprit's field.

    One walk with an explicit stack: no recursion, so any depth json could decode is safe.
    """
    if isinstance(payload, str) and (problem := _bad_text(payload)) is not None:
        raise _refuse(prefix, problem)
    if isinstance(payload, _Refused):
        raise _refuse(prefix, payload.reason)
    if not isinstance(payload, (dict, list)):
        return
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(payload, prefix)]
    base = len(prefix)
    while stack:
        node, path = stack.pop()
        if len(path) - base >= max_depth:
            raise _refuse(path, f"is nested deeper than {max_depth} levels", "too_deep")
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in pairs:
            if isinstance(key, str) and (problem := _bad_text(key)) is not None:
                raise _refuse((*path, key), "a key " + problem)
            if isinstance(item, str):
                if (problem := _bad_text(item)) is not None:
                    raise _refuse((*path, key), problem)
            elif isinstance(item, (dict, list)):
                stack.append((item, (*path, key)))
            elif isinstance(item, _Refused):
                raise _refuse((*path, key), item.reason)


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_error(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> ApiError:
    """The first problem pydantic found, naming its field and item index."""
    first = exc.errors(include_url=False)[0]
    loc = prefix + tuple(first["loc"])
    index = next((p for p in loc if isinstance(p, int)), None)
    field = _field(loc) or None
    message = first["msg"]
    if first["type"] == "missing":
        message = "field required"
    return ApiError(422, "invalid_" + ("item" if index is not None else "body"),
                    f"{field}: {message}" if field else message, field=field, index=index)


def parse_batch(payload: Any, key: str, item_model: type[M], max_items: int) -> list[M]:
    """Validate ``{key: [items]}``; the whole batch is refused if any item is invalid."""
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_body", f"body must be a JSON object with a '{key}' list")
    items = payload.get(key)
    if items is None:
        raise ApiError(422, "invalid_body", f"'{key}' is required", field=key)
    if not isinstance(items, list):
        raise ApiError(422, "invalid_body", f"'{key}' must be a list", field=key)
    if not items:
        raise ApiError(422, "empty_batch", f"'{key}' must hold at least one item", field=key)
    if len(items) > max_items:
        raise ApiError(413, "batch_too_large",
                       f"'{key}' holds {len(items)} items; the limit is {max_items}", field=key)
    parsed: list[M] = []
    for i, item in enumerate(items):
        try:
            parsed.append(item_model.model_validate(item))
        except ValidationError as exc:
            raise validation_error(exc, (key, i)) from None
    return parsed
