"""Reading request bodies strictly: size, encoding, JSON, and the item schemas."""

from __future__ import annotations

import json
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


def json_body(body: bytes) -> Any:
    """Decode UTF-8 JSON, saying where it is broken."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"send Content-Type: application/json (got {mimetype or 'none'})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding",
                       f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json",
                       f"body is not valid JSON: {exc.msg} at line {exc.lineno} column "
                       f"{exc.colno}") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "body is nested too deeply") from None


def _nul_path(value: Any, path: tuple[int | str, ...] = ()) -> tuple[int | str, ...] | None:
    """Where a NUL character hides in decoded JSON (keys included), if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, key)
            found = _nul_path(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, (*path, i))
            if found is not None:
                return found
    return None


def refuse_nul(payload: Any) -> None:
    """No stored text may hold NUL (PostgreSQL cannot); refuse it wherever it is."""
    path = _nul_path(payload)
    if path is not None:
        field = _field(path)
        index = next((p for p in path if isinstance(p, int)), None)
        raise ApiError(422, "invalid_item" if index is not None else "invalid_body",
                       f"{field}: must not contain NUL characters", field=field, index=index)


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
    refuse_nul(payload)
    parsed: list[M] = []
    for i, item in enumerate(items):
        try:
            parsed.append(item_model.model_validate(item))
        except ValidationError as exc:
            raise validation_error(exc, (key, i)) from None
    return parsed
