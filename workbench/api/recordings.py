"""Storing an uploaded recording: checked, hashed, kept as a blob, then queued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.api.errors import ApiError
from workbench.api.schemas import RecordingMetadata
from workbench.api.store import resolve_accounts
from workbench.enums import BatchKind, ContentStatus
from workbench.models import Call, OutboxBatch, Recording, utcnow
from workbench.settings import Settings
from workbench.storage import blob_store

#: The intake's error code for each reason the audio pipeline refuses a file.
AUDIO_ERROR_CODES = {
    "empty_file": "empty_audio",
    "unsupported_format": "unsupported_audio_format",
    "malformed": "undecodable_audio",
    "not_seekable": "undecodable_audio",
    "truncated": "truncated_audio",
    "too_long": "audio_too_long",
}
#: Stored format names, by the container libsndfile reports.
FORMAT_NAMES = {"WAV": "wav", "WAVEX": "wav", "FLAC": "flac", "OGG": "ogg"}


@dataclass(frozen=True)
class StoredRecording:
    sha256: str
    duplicate: bool
    duration_s: float | None
    batch_id: int | None


def probe_audio(source: Any, max_seconds: int) -> tuple[str, float]:
    """(format, duration) of an upload (a path or a seekable file), or a 422 saying why it
    is refused."""
    # Heavy: imported on first use, not when the module loads.
    from classifiers.audio import AudioConfig, AudioError, probe

    try:
        info = probe(source, AudioConfig(max_duration_s=float(max_seconds)))
    except AudioError as exc:
        raise ApiError(422, AUDIO_ERROR_CODES.get(exc.code.value, "undecodable_audio"),
                       exc.message, field="audio") from None
    return FORMAT_NAMES[info.format], info.duration_s


def store_recording(session: Session, settings: Settings, platform_id: int,
                    meta: RecordingMetadata, upload: Any) -> StoredRecording:
    """Keep the audio byte for byte (content-addressed) and write the recording row."""
    # The parsed upload is a seekable (spooled) file: check it where it is, so refused
    # audio never reaches the blob store, then stream it there once.
    fmt, duration = probe_audio(upload.stream, settings.max_audio_seconds)
    upload.stream.seek(0)
    sha, size = blob_store(settings).put_stream(upload.stream)
    existing = session.execute(
        select(Recording).where(Recording.platform_id == platform_id,
                                Recording.platform_recording_id == meta.id)
    ).scalar_one_or_none()
    if existing is not None:
        return StoredRecording(existing.blob_sha256, True, existing.duration_s, None)
    owner = resolve_accounts(session, platform_id, [meta.owner_id])[meta.owner_id]
    call_id = None
    if meta.call_id:
        call_id = session.execute(
            select(Call.id).where(Call.platform_id == platform_id,
                                  Call.platform_call_id == meta.call_id)
        ).scalar_one_or_none()
        if call_id is None:
            call = Call(platform_id=platform_id, platform_call_id=meta.call_id)
            session.add(call)
            session.flush()
            call_id = call.id
    recording = Recording(
        platform_id=platform_id, platform_recording_id=meta.id, owner_account_id=owner,
        kind=meta.kind.value, call_id=call_id, blob_sha256=sha,
        filename=(upload.filename or "")[:300] or None, format=fmt, size_bytes=size,
        duration_s=duration, recorded_at=meta.recorded_at, received_at=utcnow(),
        status=ContentStatus.PENDING.value,
    )
    session.add(recording)
    session.flush()
    batch = OutboxBatch(platform_id=platform_id, kind=BatchKind.RECORDINGS.value,
                        item_ids={"ids": [recording.id]})
    session.add(batch)
    session.flush()
    return StoredRecording(sha, False, duration, batch.id)
