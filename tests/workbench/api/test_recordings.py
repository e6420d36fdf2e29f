"""Recording uploads: kept byte for byte, hashed, and refused when not decodable audio."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
import soundfile
from flask import Flask
from sqlalchemy import func, select

from tests.support.platform_api import PlatformApi
from tests.support.storage_server import BACKENDS, blob_backend
from workbench.extensions import db
from workbench.models import OutboxBatch, Recording
from workbench.storage import blob_store

META = {"id": "rec-1", "owner_id": "u1", "kind": "call", "call_id": "call-9",
        "recorded_at": "2026-11-20T10:00:00Z"}


@pytest.fixture(params=BACKENDS)
def storage_overrides(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every test here runs with blobs in a local directory and on an S3 server."""
    return blob_backend(request)


def _audio(fmt: str, seconds: float = 1.0) -> bytes:
    t = np.linspace(0, seconds, int(16000 * seconds), endpoint=False)
    buf = io.BytesIO()
    soundfile.write(buf, 0.2 * np.sin(2 * np.pi * 440 * t), 16000, format=fmt)
    return buf.getvalue()


def _multipart(meta: object, audio: bytes | None, filename: str = "a.wav") -> tuple[bytes, str]:
    boundary = "----workbench-test-boundary"
    parts = []
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
                     f"{text}\r\n".encode())
    if audio is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + audio + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _upload(api: PlatformApi, meta: object, audio: bytes | None, **kw: str):
    body, ctype = _multipart(meta, audio, **kw)
    return api.post("/api/v1/recordings", raw=body, content_type=ctype)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_a_recording_is_stored_byte_for_byte_under_its_hash(
    app: Flask, platforms: dict[str, PlatformApi], fmt: str
) -> None:
    audio = _audio(fmt)
    r = _upload(platforms["calls"], META, audio)
    assert r.status_code == 202, r.json
    assert r.json["sha256"] == hashlib.sha256(audio).hexdigest()
    assert r.json["duplicate"] is False and abs(r.json["duration_s"] - 1.0) < 0.01
    with app.app_context():
        rec = db.session.scalars(select(Recording)).one()
        assert rec.format == fmt.lower() and rec.size_bytes == len(audio)
        store = blob_store(app.extensions["workbench.settings"])
        with store.open(rec.blob_sha256) as f:
            assert f.read() == audio
        assert db.session.scalars(select(OutboxBatch.kind)).one() == "recordings"
    again = _upload(platforms["calls"], META, audio, filename="retry.wav")
    assert again.status_code == 202 and again.json["duplicate"] is True


@pytest.mark.parametrize(
    ("meta", "audio", "status", "code"),
    [
        (META, b"", 422, "empty_audio"),
        (META, b"this is not audio at all" * 20, 422, "unsupported_audio_format"),
        (META, b"\x89PNG\r\n\x1a\n" + b"\0" * 200, 422, "unsupported_audio_format"),
        (META, None, 422, "invalid_body"),
        (None, b"RIFF", 422, "invalid_body"),
        ("{not json", b"RIFF", 400, "malformed_json"),
        (dict(META, kind="podcast"), b"RIFF", 422, "invalid_body"),
        (dict(META, recorded_at="1999-01-01T00:00:00Z"), b"RIFF", 422, "invalid_body"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    app: Flask, platforms: dict[str, PlatformApi], meta: object, audio: bytes | None,
    status: int, code: str,
) -> None:
    r = _upload(platforms["calls"], meta, audio)
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == code
    with app.app_context():
        assert db.session.execute(select(func.count(Recording.id))).scalar_one() == 0
    blobs = app.extensions["workbench.settings"].storage_dir
    assert not [p for p in blobs.rglob("*") if p.is_file()]  # refused audio is not kept
    if audio:
        sha = hashlib.sha256(audio).hexdigest()
        assert not blob_store(app.extensions["workbench.settings"]).exists(sha)


def test_a_truncated_wav_is_refused(platforms: dict[str, PlatformApi]) -> None:
    audio = _audio("WAV")[:2000]  # the header promises data that is not there
    r = _upload(platforms["calls"], META, audio)
    assert r.status_code == 422 and r.json["error"]["code"] == "truncated_audio"


def test_json_instead_of_multipart_is_refused(platforms: dict[str, PlatformApi]) -> None:
    r = platforms["calls"].post("/api/v1/recordings", META)
    assert r.status_code == 415
