"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic.json_schema import models_json_schema

from actions import signing
from workbench.api import schemas as s

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

_MODELS = (s.MessagesBatch, s.ReportsBatch, s.SignalsBatch, s.AccountsBatch, s.AppealsBatch,
           s.RecordingMetadata, s.ImageMetadata,
           s.Accepted, s.AccountsAccepted, s.RecordingAccepted, s.ImageAccepted, s.UserStatus,
           s.ErrorResponse)

_ERRORS = {
    "400": "Malformed JSON, invalid UTF-8, a broken multipart body, or a non-ASCII path.",
    "401": "Missing or wrong signature, unknown platform, or a stale timestamp.",
    "403": "The platform is deactivated.",
    "409": "A replayed request: this signature was already used.",
    "408": "The request did not arrive in time (a pause of 10 s while sending it).",
    "413": "The body or the batch is over its limit.",
    "414": "The path and query are over 4,094 characters.",
    "415": "Wrong Content-Type.",
    "422": "An item is invalid (a wrong type, a string with NUL or a lone surrogate, NaN, "
           "an integer past 64 bits, nesting past 32 levels); the error names its index and "
           "field. Nothing was stored.",
    "503": "The database is unavailable; retry after the Retry-After header's seconds.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(ok: str, model: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        ok: {"description": "Accepted." if ok == "202" else "OK.",
             "content": {"application/json": {"schema": _ref(model)}}}
    }
    for code in (*_ERRORS, *extra):
        desc = _ERRORS.get(code, "Not found.")
        out[code] = {"description": desc,
                     "content": {"application/json": {"schema": _ref("ErrorResponse")}}}
    return out


def _batch_op(summary: str, request_model: str, answer: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"platformSignature": [], "platformTimestamp": [], "platformSlug": []}],
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref(request_model)}}},
            "responses": _responses("202", answer),
        }
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    _, defs = models_json_schema([(m, "validation") for m in _MODELS],
                                 ref_template="#/components/schemas/{model}")

    def header(name: str, desc: str) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": name, "description": desc}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HARMONI Workbench platform API",
            "version": "1.0.0",
            "description": (
                "Signed JSON from the group's platforms. Sign '<timestamp>.<raw body>' with "
                "HMAC-SHA256 and the platform's secret; a GET signs '<timestamp>.GET <path>', "
                "the path and query exactly as sent (percent-encoding kept). "
                "A batch is stored whole or not at all: "
                "one invalid item refuses the batch (422, naming the item's index and field). "
                "Items whose id was already received are counted as duplicates."
            ),
        },
        "paths": {
            "/api/v1/messages": _batch_op("Chat messages", "MessagesBatch", "Accepted"),
            "/api/v1/reports": _batch_op("User reports", "ReportsBatch", "Accepted"),
            "/api/v1/signals": _batch_op("Fraud signals", "SignalsBatch", "Accepted"),
            "/api/v1/appeals": _batch_op("Appeals against actions (within the window)",
                                         "AppealsBatch", "Accepted"),
            "/api/v1/accounts": _batch_op("Create or update accounts", "AccountsBatch",
                                          "AccountsAccepted"),
            "/api/v1/recordings": {
                "post": {
                    "summary": "A voice recording (WAV, FLAC or OGG) with its metadata",
                    "security": [{"platformSignature": [], "platformTimestamp": [],
                                  "platformSlug": []}],
                    "requestBody": {"required": True, "content": {"multipart/form-data": {
                        "schema": {"type": "object", "required": ["metadata", "audio"],
                                   "properties": {
                                       "metadata": {"type": "string",
                                                    "description": "RecordingMetadata as JSON"},
                                       "audio": {"type": "string",
                                                 "contentMediaType": "application/octet-stream"},
                                   }}}}},
                    "responses": _responses("202", "RecordingAccepted", ("422",)),
                }
            },
            "/api/v1/images": {
                "post": {
                    "summary": "An image (JPEG, PNG or WebP) or a video-call frame, with its "
                               "metadata",
                    "security": [{"platformSignature": [], "platformTimestamp": [],
                                  "platformSlug": []}],
                    "requestBody": {"required": True, "content": {"multipart/form-data": {
                        "schema": {"type": "object", "required": ["metadata", "image"],
                                   "properties": {
                                       "metadata": {"type": "string",
                                                    "description": "ImageMetadata as JSON"},
                                       "image": {"type": "string",
                                                 "contentMediaType": "image/*"},
                                   }}}}},
                    "responses": _responses("202", "ImageAccepted", ("422",)),
                }
            },
            "/api/v1/users/{user_id}/status": {
                "get": {
                    "summary": "A user's standing across the group",
                    "security": [{"platformSignature": [], "platformTimestamp": [],
                                  "platformSlug": []}],
                    "parameters": [{"name": "user_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "minLength": 1}}],
                    "responses": _responses("200", "UserStatus", ("404",)),
                }
            },
        },
        "components": {
            "schemas": defs["$defs"] if "$defs" in defs else defs,
            "securitySchemes": {
                "platformSlug": header(signing.PLATFORM_HEADER, "The platform's slug."),
                "platformTimestamp": header(signing.TIMESTAMP_HEADER, "Unix seconds."),
                "platformSignature": header(signing.SIGNATURE_HEADER,
                                            "sha256=<hex HMAC of '<timestamp>.<body>'>"),
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
