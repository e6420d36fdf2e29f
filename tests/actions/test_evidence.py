"""Evidence bundles: what they hold, that they verify, and that verify names every change."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

from actions.evidence import (
    EvidenceError,
    build_export,
    certificate_path,
    custody_log,
    record_download,
    request_export,
    verify_bundle,
)
from tests.support.jobs import run_jobs
from tests.support.legal_data import AUDIO, World, build_world
from workbench.current import settings
from workbench.extensions import db
from workbench.models import AuditEvent, EvidenceExport, Recording
from workbench.storage import blob_store

GOLDEN = Path(__file__).parent / "golden" / "evidence_layout.txt"


def export_to(app: Flask, world: World, scope: str, ref: int | str,
              dest: Path) -> EvidenceExport:
    """Request and build an export, and write its zip and certificate to ``dest``."""
    with app.app_context():
        export = request_export(db.session, scope, ref, "BNSS 2023 s.94 notice",
                                "FIR 12/2026", world.legal_id)
        db.session.commit()
        store = blob_store(settings())
        export = build_export(db.session, store, export.id)
        assert export.archive_sha256 is not None and export.certificate_sha256 is not None
        with store.open(export.archive_sha256) as src:
            dest.write_bytes(src.read())
        with store.open(export.certificate_sha256) as src:
            certificate_path(dest).write_bytes(src.read())
        db.session.expunge(export)
        return export


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    return zf.read(f"evidence-1/{name}")


def test_a_person_bundle_holds_every_record_and_verifies(app: Flask, world: World,
                                                         tmp_path: Path) -> None:
    zip_path = tmp_path / "bundle.zip"
    export = export_to(app, world, "person", world.person_id, zip_path)
    data = zip_path.read_bytes()
    assert export.status == "done" and export.progress == 100
    assert export.archive_sha256 == hashlib.sha256(data).hexdigest()
    assert export.archive_size == len(data)

    zf = zipfile.ZipFile(zip_path)
    names = set(zf.namelist())
    assert {n.split("/")[0] for n in names} == {"evidence-1"}
    assert (_read(zf, "bagit.txt").decode()
            == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    accounts = json.loads(_read(zf, "data/accounts.json"))
    assert {a["platform"] + ":" + a["platform_user_id"] for a in accounts} == {
        "calls:u-harasser", "web:w-harasser"}
    messages = json.loads(_read(zf, "data/messages.json"))
    assert [m["id"] for m in messages] == world.messages  # the whole 1:1 conversation
    assert {m["role"] for m in messages if m["id"] != world.reported_message} == {"subject"}
    assert next(m for m in messages if m["id"] == world.reported_message)["role"] == "reported"
    table = pd.read_csv(io.BytesIO(_read(zf, "data/messages.csv")), keep_default_na=False)
    assert len(table) == len(messages)
    assert table["text"].iloc[5] == "'=HYPERLINK(\"http://x\")"  # no formula in a spreadsheet
    assert messages[5]["text"] == "=HYPERLINK(\"http://x\")"   # the exact text in the JSON
    audio = _read(zf, f"data/recordings/recording-{world.recording_id}.wav")
    assert audio == (AUDIO / "insult.wav").read_bytes()
    transcript = json.loads(_read(zf, f"data/recordings/recording-{world.recording_id}"
                                      ".transcript.json"))
    assert transcript["segments"][0]["transcript"] == "you are a pathetic loser"
    scores = json.loads(_read(zf, "data/classifier_scores.json"))
    assert {(s["content_type"], s["model_version"]) for s in scores} == {
        ("message", "2026.1"), ("recording", "2026.1")}
    actions = json.loads(_read(zf, "data/actions.json"))
    assert actions[0]["type"] == "suspend"
    assert actions[0]["statement_of_reasons"]["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert {d["platform"] for d in actions[0]["deliveries"]} == {"calls", "web"}
    assert json.loads(_read(zf, "data/case_notes.json"))[0]["text"].startswith("clear")
    reports = json.loads(_read(zf, "data/reports.json"))
    assert reports[0]["description"] == "he keeps insulting me"
    verbs = {e["verb"] for e in json.loads(_read(zf, "data/audit_events.json"))}
    assert {"action.suspend", "evidence.requested"} <= verbs
    custody = json.loads(_read(zf, "data/custody.json"))
    assert custody["exported_by"]["email"] == "legal@example.org"
    assert custody["request_reference"] == "FIR 12/2026"
    assert custody["legal_basis"] == "BNSS 2023 s.94 notice"
    assert custody["included"]["messages"] == len(messages)

    report = verify_bundle(zip_path)
    assert report.ok, report.problems
    assert report.files_checked == len(zf.read("evidence-1/manifest-sha256.txt").splitlines()) + 3

    certificate = certificate_path(zip_path).read_text()
    assert "SECTION 63(4)(c) OF THE BHARATIYA SAKSHYA ADHINIYAM, 2023" in certificate
    assert f"{export.archive_sha256}  evidence-1.zip" in certificate
    for line in zf.read("evidence-1/manifest-sha256.txt").decode().splitlines():
        digest, path = line.split(maxsplit=1)
        assert f"{digest}  evidence-1/{path}" in certificate

    with app.app_context():
        exported = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "evidence.exported")).one()
        assert exported.data is not None
        assert exported.data["archive_sha256"] == export.archive_sha256
        assert exported.data["archive_size"] == len(data)


def test_a_case_bundle_holds_the_reported_content_and_its_context_only(
        app: Flask, world: World, tmp_path: Path) -> None:
    zip_path = tmp_path / "case.zip"
    export_to(app, world, "case", world.case_id, zip_path)
    zf = zipfile.ZipFile(zip_path)
    messages = json.loads(_read(zf, "data/messages.json"))
    assert [m["id"] for m in messages] == world.messages  # context: the messages around it
    assert not {m["id"] for m in messages} & set(world.room_messages)
    roles = {m["id"]: m["role"] for m in messages}
    assert roles[world.reported_message] == "reported"
    assert roles[world.messages[0]] == "context"
    accounts = {a["platform_user_id"] for a in json.loads(_read(zf, "data/accounts.json"))}
    assert accounts == {"u-harasser", "w-harasser"}  # the person's accounts on every platform
    assert json.loads(_read(zf, "data/recordings.json")) == []


def test_the_manifest_layout_matches_the_golden_file(app: Flask, world: World,
                                                     tmp_path: Path) -> None:
    zip_path = tmp_path / "layout.zip"
    export_to(app, world, "account", "calls:u-harasser", zip_path)
    zf = zipfile.ZipFile(zip_path)
    messages = json.loads(_read(zf, "data/messages.json"))
    assert {m["platform"] for m in messages} == {"calls"}
    accounts = {a["platform_user_id"] for a in json.loads(_read(zf, "data/accounts.json"))}
    assert accounts == {"u-harasser", "w-harasser"}  # the other one listed, its content not

    def paths(name: str) -> list[str]:
        return sorted(line.split(maxsplit=1)[1] for line in
                      _read(zf, name).decode().splitlines())

    info_keys = [line.split(":")[0] for line in _read(zf, "bag-info.txt").decode().splitlines()]
    layout = ("# zip\n" + "\n".join(sorted(zf.namelist()))
              + "\n# manifest-sha256.txt\n" + "\n".join(paths("manifest-sha256.txt"))
              + "\n# tagmanifest-sha256.txt\n" + "\n".join(paths("tagmanifest-sha256.txt"))
              + "\n# bag-info.txt\n" + "\n".join(sorted(info_keys)) + "\n")
    layout = layout.replace(f"recording-{world.recording_id}", "recording-N")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(layout)
    assert layout == GOLDEN.read_text()


def _rewrite(src: Path, dest: Path, change: dict[str, bytes | None],
             add: dict[str, bytes] | None = None) -> None:
    """Copy a zip, replacing (bytes) or dropping (None) members and adding others."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                replacement = change[info.filename]
                if replacement is not None:
                    zout.writestr(info, replacement)
            else:
                zout.writestr(info, zin.read(info))
        for name, content in (add or {}).items():
            zout.writestr(name, content)


@pytest.fixture
def bundle(app: Flask, world: World, tmp_path: Path) -> Path:
    path = tmp_path / "original.zip"
    export_to(app, world, "person", world.person_id, path)
    return path


def test_verify_names_a_file_with_one_byte_changed(bundle: Path, tmp_path: Path) -> None:
    name = "evidence-1/data/messages.json"
    body = bytearray(zipfile.ZipFile(bundle).read(name))
    body[10] ^= 0x01
    tampered = tmp_path / "one-byte.zip"
    _rewrite(bundle, tampered, {name: bytes(body)})
    report = verify_bundle(tampered)
    assert [(p.kind, p.path) for p in report.problems] == [("altered", name)]


def test_verify_names_a_removed_file(bundle: Path, world: World, tmp_path: Path) -> None:
    name = f"evidence-1/data/recordings/recording-{world.recording_id}.wav"
    tampered = tmp_path / "removed.zip"
    _rewrite(bundle, tampered, {name: None})
    report = verify_bundle(tampered)
    assert [(p.kind, p.path) for p in report.problems] == [("missing", name)]


def test_verify_names_an_added_file(bundle: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "added.zip"
    _rewrite(bundle, tampered, {}, add={"evidence-1/data/planted.txt": b"not from us",
                                        "README.txt": b"outside the bag"})
    report = verify_bundle(tampered)
    assert sorted((p.kind, p.path) for p in report.problems) == [
        ("added", "README.txt"), ("added", "evidence-1/data/planted.txt")]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_verify_checks_the_archive_against_its_certificate(bundle: Path,
                                                           tmp_path: Path) -> None:
    # A forger who edits a file and rewrites both manifests to match makes a valid bag,
    # but cannot match the certificate kept beside the original.
    zf = zipfile.ZipFile(bundle)
    custody = _read(zf, "data/custody.json").replace(b"FIR 12/2026", b"FIR 13/2026")
    manifest = _read(zf, "manifest-sha256.txt").decode().replace(
        _sha(_read(zf, "data/custody.json")), _sha(custody)).encode()
    tags = _read(zf, "tagmanifest-sha256.txt").decode().replace(
        _sha(_read(zf, "manifest-sha256.txt")), _sha(manifest)).encode()
    tampered = tmp_path / "forged.zip"
    _rewrite(bundle, tampered, {"evidence-1/data/custody.json": custody,
                                "evidence-1/manifest-sha256.txt": manifest,
                                "evidence-1/tagmanifest-sha256.txt": tags})
    certificate_path(tampered).write_bytes(certificate_path(bundle).read_bytes())
    found = {(p.kind, p.path) for p in verify_bundle(tampered).problems}
    assert found == {("altered", "forged.zip"), ("altered", "evidence-1/data/custody.json"),
                     ("altered", "evidence-1/manifest-sha256.txt"),
                     ("altered", "evidence-1/tagmanifest-sha256.txt")}
    certificate_path(tampered).unlink()
    assert verify_bundle(tampered).ok  # without the certificate, only the database knows


def test_verify_reports_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "junk.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    report = verify_bundle(path)
    assert [p.kind for p in report.problems] == ["invalid"]


def test_only_the_legal_team_exports_and_every_handover_is_logged(
        app: Flask, world: World, bundle: Path) -> None:
    with app.app_context():
        for who in (world.moderator_id, world.senior_id):
            with pytest.raises(EvidenceError, match="legal team"):
                request_export(db.session, "person", world.person_id, "basis", "ref", who)
        with pytest.raises(EvidenceError, match="legal basis"):
            request_export(db.session, "person", world.person_id, " ", "ref", world.legal_id)
        with pytest.raises(EvidenceError, match="no user"):
            request_export(db.session, "account", "calls:nobody", "b", "r", world.legal_id)
        export = db.session.scalars(select(EvidenceExport)).one()
        with pytest.raises(EvidenceError, match="legal team"):
            record_download(db.session, export.id, world.moderator_id, "console download")
        record_download(db.session, export.id, world.legal_id, "console download")
        db.session.commit()
        log = custody_log(db.session, export.id)
        assert [e.event for e in log] == ["created", "downloaded"]
        assert {e.archive_sha256 for e in log} == {export.archive_sha256}
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "evidence.downloaded")).one()
        assert audit.data is not None
        assert audit.data["how"] == "console download"


def test_the_export_job_builds_the_bundle_and_reports_progress(app: Flask,
                                                               world: World) -> None:
    from queues.legal import enqueue_export

    with app.app_context():
        export = request_export(db.session, "case", world.case_id, "court order",
                               "CC 5/2026", world.legal_id)
        db.session.commit()
        assert enqueue_export(export.id) == f"evidence-export-{export.id}"
        export_id = export.id
    run_jobs(app)
    with app.app_context():
        export = db.session.get_one(EvidenceExport, export_id)
        assert (export.status, export.progress) == ("done", 100)
        assert export.archive_sha256 is not None
        assert blob_store(settings()).exists(export.archive_sha256)
        assert export.contents is not None
        assert export.contents["records"]["messages"] == len(world.messages)


def test_messages_csv_neutralises_every_column_and_keeps_a_bare_cr_in_its_row(
        app: Flask, world: World, tmp_path: Path) -> None:
    from workbench.api.schemas import MessageIn
    from workbench.api.store import store_messages
    from workbench.models import utcnow

    hostile = MessageIn(id="m-hostile", conversation_id="=HYPERLINK(\"http://evil\",\"x\")",
                        sender_id="u-harasser", recipient_id="u-victim", language="=1",
                        text="first line\rsecond line", sent_at=utcnow())
    with app.app_context():
        store_messages(db.session, world.platform_ids["calls"], [hostile])
        db.session.commit()
    zip_path = tmp_path / "bundle.zip"
    export_to(app, world, "person", world.person_id, zip_path)
    zf = zipfile.ZipFile(zip_path)
    messages = json.loads(_read(zf, "data/messages.json"))
    rows = list(csv.DictReader(io.StringIO(_read(zf, "data/messages.csv").decode(),
                                                  newline="")))
    assert len(rows) == len(messages)  # the CR did not split a row
    row = next(r for r in rows if r["platform_message_id"] == "m-hostile")
    assert row["platform_conversation_id"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row["language"] == "'=1"
    assert row["text"] == "first line\rsecond line"
    risky = ("=", "+", "-", "@", "\t", "\r")
    assert not [v for r in rows for v in r.values() if v.startswith(risky)]


def _zip_bomb(path: Path, megabytes: int = 50) -> Path:
    """A bag-shaped zip whose one file is ``megabytes`` MB of zeros (about 1,000:1)."""
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("evidence-1/bagit.txt", "BagIt-Version: 1.0\n")
        with zf.open("evidence-1/data/messages.json", "w") as out:
            for _ in range(megabytes):
                out.write(zeros)
    return path


def test_verify_refuses_a_zip_bomb_before_extracting_anything(tmp_path: Path) -> None:
    bomb = _zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 200_000
    report = verify_bundle(bomb, workdir=tmp_path)
    assert [(p.kind, p.path) for p in report.problems] == [
        ("invalid", "evidence-1/data/messages.json")]
    assert "refused before extracting anything" in report.problems[0].detail
    assert "times" in report.problems[0].detail  # the compression ratio gave it away

    # Past a lowered size limit even when the ratio is allowed.
    from actions.evidence import UnpackLimits

    report = verify_bundle(bomb, limits=UnpackLimits(max_total_bytes=10 * 1024 * 1024,
                                                     max_ratio=1e9))
    assert len(report.problems) == 1
    assert "refused before extracting anything" in report.problems[0].detail
    assert "10,485,760 bytes" in report.problems[0].detail


def test_evidence_verify_command_names_the_limit_and_fails(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli import main

    bomb = _zip_bomb(tmp_path / "bomb.zip", megabytes=5)
    result = CliRunner().invoke(main, ["evidence", "verify", str(bomb),
                                       "--max-bytes", "1000000", "--max-ratio", "100000"])
    assert result.exit_code == 1
    assert result.output.startswith("invalid: ")
    assert "refused before extracting anything" in result.output
    assert "more than the limit of 1,000,000" in result.output


def test_a_guess_at_other_language_speech_is_labelled_not_a_transcript(
        app: Flask, world: World, tmp_path: Path) -> None:
    with app.app_context():
        db.session.get_one(Recording, world.recording_id).transcript_status = \
            "no_transcript_language"
        db.session.commit()
    zip_path = tmp_path / "bundle.zip"
    export_to(app, world, "person", world.person_id, zip_path)
    zf = zipfile.ZipFile(zip_path)
    recording, = json.loads(_read(zf, "data/recordings.json"))
    assert recording["transcript_status"] == "no_transcript_language"
    assert recording["transcript"] is None
    assert recording["machine_guess"] == "you are a pathetic loser"
    assert recording["machine_guess_label"].startswith("machine guess, not a transcript")
    transcript = json.loads(_read(zf, f"data/recordings/recording-{world.recording_id}"
                                      ".transcript.json"))
    assert transcript["transcript"] is None and "words" not in transcript
    assert transcript["machine_guess_label"].startswith("machine guess, not a transcript")
    assert transcript["segments"][0]["transcript"] is None
    assert transcript["segments"][0]["machine_guess"] == "you are a pathetic loser"
    assert verify_bundle(zip_path).ok
