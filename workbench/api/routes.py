"""The platform API under ``/api/v1``: signed JSON in, 202 and counts out."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import BytesIO
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.formparser import parse_form_data

from queues.outbox import enqueue_batches
from workbench.api import status
from workbench.api import store as intake
from workbench.api.auth import authenticate
from workbench.api.errors import ApiError
from workbench.api.parsing import (
    checked_text,
    decode_json,
    json_body,
    parse_batch,
    raw_body,
    validation_error,
)
from workbench.api.recordings import store_recording
from workbench.api.schemas import (
    AccountIn,
    AppealIn,
    MessageIn,
    RecordingMetadata,
    ReportIn,
    SignalIn,
)
from workbench.current import settings
from workbench.extensions import db
from workbench.metrics.definitions import INTAKE_DUPLICATES, INTAKE_ITEMS

log = logging.getLogger(__name__)
#: Longest platform user id (the column's length).
USER_ID_MAX = 128
bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _accepted(body: dict[str, Any], batch_id: int | None, kind: str, accepted: int,
              duplicate: int) -> tuple[Response, int]:
    db.session.commit()
    # After the commit: what is counted is stored, whatever happens next.
    platform = g.caller.slug
    INTAKE_ITEMS.labels(kind, platform).inc(accepted)
    INTAKE_DUPLICATES.labels(kind, platform).inc(duplicate)
    # The items are safe even if Redis is down (the sweeper retries).
    if batch_id is not None:
        enqueue_batches([batch_id])
    return jsonify(body), 202


def _stored(kind: str, stored: intake.Stored) -> tuple[Response, int]:
    return _accepted({"accepted": stored.accepted, "duplicate": stored.duplicate},
                     stored.batch_id, kind, stored.accepted, stored.duplicate)


def _batch(key: str, model: type[BaseModel]) -> tuple[int, list[Any]]:
    s = settings()
    body = raw_body(s.max_json_bytes)
    caller = authenticate(body)
    items = parse_batch(json_body(body), key, model, s.max_batch_items)
    return caller.platform_id, items


@bp.post("/messages")
def post_messages() -> tuple[Response, int]:
    platform_id, items = _batch("messages", MessageIn)
    stored = intake.store_messages(db.session, platform_id, items)
    return _stored("messages", stored)


@bp.post("/reports")
def post_reports() -> tuple[Response, int]:
    platform_id, items = _batch("reports", ReportIn)
    stored = intake.store_reports(db.session, platform_id, items)
    return _stored("reports", stored)


@bp.post("/signals")
def post_signals() -> tuple[Response, int]:
    platform_id, items = _batch("signals", SignalIn)
    stored = intake.store_signals(db.session, platform_id, items)
    return _stored("signals", stored)


@bp.post("/accounts")
def post_accounts() -> tuple[Response, int]:
    platform_id, items = _batch("accounts", AccountIn)
    stored = intake.upsert_accounts(db.session, platform_id, items)
    return _accepted({"created": stored.created, "updated": stored.updated}, stored.batch_id,
                     "accounts", stored.created + stored.updated, 0)


@bp.post("/appeals")
def post_appeals() -> tuple[Response, int]:
    platform_id, items = _batch("appeals", AppealIn)
    stored = intake.store_appeals(db.session, platform_id, items,
                                  timedelta(days=settings().appeal_window_days))
    return _stored("appeals", stored)


@bp.post("/recordings")
def post_recordings() -> tuple[Response, int]:
    s = settings()
    body = raw_body(s.max_audio_bytes + 64 * 1024)
    caller = authenticate(body)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type",
                       "send multipart/form-data with 'metadata' (JSON) and 'audio' parts")
    form, files = _multipart(body)
    raw_meta = form.get("metadata")
    if raw_meta is None:
        raise ApiError(422, "invalid_body", "the 'metadata' part is required", field="metadata")
    raw = decode_json(raw_meta, ("metadata",))
    try:
        meta = RecordingMetadata.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, ("metadata",)) from None
    audio = files.get("audio")
    if audio is None:
        raise ApiError(422, "invalid_body", "the 'audio' part is required", field="audio")
    checked_text(audio.filename or "", "audio.filename")
    result = store_recording(db.session, s, caller.platform_id, meta, audio)
    return _accepted(
        {"id": meta.id, "sha256": result.sha256, "duplicate": result.duplicate,
         "duration_s": result.duration_s},
        result.batch_id, "recordings", int(not result.duplicate), int(result.duplicate),
    )


def _multipart(body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """Parse the already-read multipart body (the stream was consumed for the signature)."""


    environ = dict(request.environ)
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        _, form, files = parse_form_data(environ, max_content_length=len(body) + 1)
    except ValueError as exc:
        raise ApiError(400, "malformed_multipart", f"multipart body is broken: {exc}") from None
    try:
        fields = {k: form[k] for k in form}
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "a form field is not valid UTF-8") from None
    return fields, {k: files[k] for k in files}


@bp.get("/users/<path:platform_user_id>/status")
def user_status(platform_user_id: str) -> tuple[Response, int]:
    caller = authenticate(raw_body(0))
    user_id = checked_text(platform_user_id, "user_id", USER_ID_MAX)
    answer = status.user_status(db.session, caller.platform_id, user_id)
    db.session.rollback()
    return jsonify(answer), 200
