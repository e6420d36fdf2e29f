"""Recordings in a language the English speech model does not know: kept, not scored,
and put before a moderator who speaks the speaker's language when reported."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.cases.triage import NO_TRANSCRIPT, reported_excerpts
from workbench.extensions import db
from workbench.models import Case, ClassifierScore, Recording, Report

DEMO = Path(__file__).resolve().parents[2] / "workbench" / "demo" / "data" / "recordings"
#: Spoken in Hindi by espeak-ng: "send the money tonight or I will tell everyone".
HINDI = "आज रात पैसे भेज दो वरना मैं सबको बता दूँगा"


def _account(api: PlatformApi, user: str, languages: list[str]) -> None:
    r = api.post("/api/v1/accounts", {"accounts": [
        {"id": user, "username": user, "languages": languages}]})
    assert r.status_code == 202, r.json


def _upload(api: PlatformApi, rec_id: str, owner: str, audio: bytes) -> None:
    boundary = "b0undary"
    meta = {"id": rec_id, "owner_id": owner, "kind": "voice_intro",
            "recorded_at": "2026-11-20T10:00:00Z"}
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            f"{json.dumps(meta)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="audio"; filename="{rec_id}.wav"\r\n\r\n').encode() + audio + \
        f"\r\n--{boundary}--\r\n".encode()
    r = api.post("/api/v1/recordings", raw=body,
                 content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 202, r.json


def _report(api: PlatformApi, rec_id: str, user: str) -> None:
    r = api.post("/api/v1/reports", {"reports": [{
        "id": f"report-{rec_id}", "reporter_id": "listener", "reported_user_id": user,
        "category": "harassment", "recording_id": rec_id,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat()}]})
    assert r.status_code == 202, r.json


@pytest.fixture
def hindi_clip(tmp_path: Path) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path / "hindi.wav"
    subprocess.run(["espeak-ng", "-v", "hi", "-s", "140", "-w", str(path), HINDI], check=True)
    return path.read_bytes()


def test_a_hindi_speakers_recording_gets_no_transcript_no_scores_and_the_hindi_queue(
        app: Flask, platforms: dict[str, PlatformApi], hindi_clip: bytes) -> None:
    api = platforms["calls"]
    _account(api, "speaker-hi", ["hi"])
    _upload(api, "rec-hi", "speaker-hi", hindi_clip)
    run_jobs(app)
    with app.app_context():
        rec = db.session.scalars(select(Recording)).one()
        assert rec.status == "processed", rec.error
        assert rec.transcript_status == "no_transcript_language"
        assert rec.words is not None and rec.words["coverage"]["reason"] == "speaker_language"
        assert db.session.scalars(select(ClassifierScore)).all() == []
        assert db.session.scalars(select(Report)).all() == []  # no classifier report
        assert all(not (s.scores or {}).get("scores") for s in rec.segments)
    _report(api, "rec-hi", "speaker-hi")
    run_jobs(app)
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        assert (case.queue, case.language) == ("hindi", "hi")
        assert reported_excerpts(db.session, [case.id]) == {case.id: NO_TRANSCRIPT}


def test_english_from_a_hindi_and_english_speaker_is_still_transcribed_and_scored(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    api = platforms["calls"]
    entry = next(e for e in json.loads((DEMO / "recordings.json").read_text())
                 if e["abusive"])
    _account(api, "speaker-both", ["hi", "en"])
    _upload(api, "rec-en", "speaker-both", (DEMO / entry["file"]).read_bytes())
    run_jobs(app)
    with app.app_context():
        rec = db.session.scalars(select(Recording)).one()
        assert rec.transcript_status == "transcribed", rec.words and rec.words["coverage"]
        score = db.session.scalars(select(ClassifierScore)).one()
        assert score.content_id == rec.id and score.flagged is not None
        assert "abusive" in score.flagged["labels"]
        report = db.session.scalars(select(Report)).one()
        assert report.recording_id == rec.id and report.source == "classifier"
        case = db.session.scalars(select(Case)).one()
        excerpt = reported_excerpts(db.session, [case.id])[case.id]
        assert excerpt != NO_TRANSCRIPT and rec.transcript is not None
        assert excerpt.split()[0] in rec.transcript.split()
