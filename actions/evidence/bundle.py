"""Building an evidence bundle: records to files, files to a BagIt bag, the bag to a zip.

The bag is made by the ``bagit`` library (RFC 8493: ``data/``, ``manifest-sha256.txt``,
``tagmanifest-sha256.txt``, ``bag-info.txt``). Files are written as rows stream out
of the database and recordings are copied from the blob store in chunks, so memory
stays flat however large the bundle. The zip holds one top-level folder, the bag;
the draft certificate is kept beside it, since it names the zip's own hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import bagit
from sqlalchemy import update
from sqlalchemy.orm import Session

from actions.evidence import collect
from actions.evidence.certificate import certificate_text, manifest_entries
from actions.evidence.custody import EvidenceError, custody_record, finish_export
from actions.evidence.scope import EvidenceScope, resolve_scope
from actions.spreadsheet import write_frame
from workbench.enums import ExportStatus
from workbench.models import EvidenceExport, Moderator, utcnow
from workbench.models.audit import record

if TYPE_CHECKING:
    from workbench.storage import BlobStore

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
#: Rows per pandas frame when writing the CSV view of the messages.
CSV_ROWS = 5000
#: Audio and images are already compressed (or are PCM that deflate barely shrinks):
#: store them as they are.
STORED_SUFFIXES = {".wav", ".flac", ".ogg", ".jpg", ".png", ".webp"}
#: The file name ending of each stored image format.
IMAGE_SUFFIXES = {"jpeg": "jpg", "png": "png", "webp": "webp"}
SOURCE_ORGANIZATION = "HARMONI Trust & Safety"


class Progress:
    """Writes an export's progress (0-100) in its own short transactions, a few times a
    second at most, so the console sees it while the build's own session reads on."""

    def __init__(self, session: Session, export_id: int, min_interval_s: float = 0.5) -> None:
        self.bind = session.get_bind()
        self.export_id = export_id
        self.min_interval_s = min_interval_s
        self.last = (-1, 0.0)

    def __call__(self, percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        now = time.monotonic()
        if percent <= self.last[0] or now - self.last[1] < self.min_interval_s:
            return
        with Session(self.bind) as session:
            session.execute(update(EvidenceExport).where(EvidenceExport.id == self.export_id)
                            .values(progress=percent))
            session.commit()
        self.last = (percent, now)


class JsonArray:
    """A JSON array written one element at a time."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, row: dict[str, Any]) -> None:
        self.file.write(("[\n" if self.count == 0 else ",\n")
                        + json.dumps(row, ensure_ascii=False, sort_keys=True, default=str))
        self.count += 1

    def close(self) -> None:
        self.file.write("\n]\n" if self.count else "[]\n")
        self.file.close()

    def __enter__(self) -> JsonArray:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    out = JsonArray(path)
    try:
        for row in rows:
            out.write(row)
    finally:
        out.close()
    return out.count


def write_messages(folder: Path, rows: Iterable[dict[str, Any]]) -> int:
    """messages.json (exact text) and messages.csv (every formula-like cell neutralised)."""
    out = JsonArray(folder / "messages.json")
    columns = list(collect.MESSAGE_COLUMNS)
    batch: list[dict[str, Any]] = []
    # pandas is heavy: imported when a bundle is written, not by every process that
    # imports the evidence package (the console, the CLI).
    import pandas as pd

    with (folder / "messages.csv").open("w", encoding="utf-8", newline="") as csv_file:
        def flush(header: bool) -> None:
            write_frame(pd.DataFrame(batch, columns=columns), csv_file, header=header)
            batch.clear()

        try:
            for row in rows:
                out.write(row)
                batch.append(row)
                if len(batch) >= CSV_ROWS:
                    flush(header=out.count == len(batch))
            if batch or out.count == 0:
                flush(header=out.count == len(batch))
        finally:
            out.close()
    return out.count


def copy_blob(store: BlobStore, sha256: str, dest: Path) -> None:
    """Copy a stored blob byte for byte, checking it still has the hash it is stored under."""
    digest = hashlib.sha256()
    with store.open(sha256) as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise EvidenceError(f"stored blob {sha256} no longer matches its hash")


@dataclass
class Build:
    """One bundle being written in a scratch folder."""

    session: Session
    store: BlobStore
    export: EvidenceExport
    scope: EvidenceScope
    folder: Path
    progress: Callable[[int], None]
    #: Each image file in the bag and the SHA-256 of its bytes, for the custody record.
    image_hashes: dict[str, str] = field(default_factory=dict)
    image_ids: list[int] = field(default_factory=list)

    def write_records(self) -> dict[str, int]:
        s, scope, out = self.session, self.scope, self.folder
        content = collect.select_content(s, scope)
        actions = collect.action_ids(s, scope)
        holds = collect.hold_ids(s, scope)
        counts = {"accounts": write_json(out / "accounts.json", collect.account_rows(s, scope)),
                  "fraud_signals": write_json(out / "fraud_signals.json",
                                              collect.fraud_signal_rows(s, scope))}
        self.progress(5)
        counts["messages"] = write_messages(out, collect.message_rows(s, scope, content))
        self.progress(40)
        counts["recordings"] = self.write_recordings(content)
        counts["images"] = self.write_images(content)
        steps: list[tuple[str, Iterable[dict[str, Any]]]] = [
            ("reports", collect.report_rows(s, scope)),
            ("classifier_scores", collect.score_rows(s, scope, content)),
            ("actions", collect.action_rows(s, actions)),
            ("cases", collect.case_rows(s, scope)),
            ("case_notes", collect.note_rows(s, scope)),
            ("legal_holds", collect.hold_rows(s, holds)),
            ("audit_events", collect.audit_rows(s, {
                "person": [scope.person_id], "account": list(scope.accounts),
                "case": list(scope.cases), "action": actions, "legal_hold": holds,
                "evidence_export": [self.export.id], "image": self.image_ids})),
        ]
        for i, (name, rows) in enumerate(steps):
            counts[name] = write_json(out / f"{name}.json", rows)
            self.progress(70 + 2 * i)
        return counts

    def write_recordings(self, content: collect.ContentSelection) -> int:
        """recordings.json, and each recording's audio and transcript under recordings/."""
        folder = self.folder / "recordings"
        folder.mkdir()
        ids = collect.recording_ids(self.session, self.scope, content)
        out = JsonArray(self.folder / "recordings.json")
        try:
            for i, row in enumerate(collect.recording_rows(self.session, ids)):
                name = f"recording-{row['id']}"
                row["audio_file"] = f"data/recordings/{name}.{row['format']}"
                row["transcript_file"] = f"data/recordings/{name}.transcript.json"
                copy_blob(self.store, row["blob_sha256"], folder / f"{name}.{row['format']}")
                with (folder / f"{name}.transcript.json").open("w", encoding="utf-8") as f:
                    json.dump(collect.transcript(self.session, row["id"]), f,
                              ensure_ascii=False, sort_keys=True, indent=1, default=str)
                out.write(row)
                self.progress(40 + 30 * (i + 1) // max(1, len(ids)))
        finally:
            out.close()
        return out.count


    def write_images(self, content: collect.ContentSelection) -> int:
        """images.json, and each image's original bytes (as uploaded, EXIF included:
        the evidence) under images/, each checked against its SHA-256 on the way out."""
        folder = self.folder / "images"
        folder.mkdir()
        ids = self.image_ids = collect.image_ids(self.session, self.scope, content)
        with JsonArray(self.folder / "images.json") as out:
            for row in collect.image_rows(self.session, ids):
                suffix = IMAGE_SUFFIXES.get(str(row["format"]).lower(), "bin")
                name = f"image-{row['id']}.{suffix}"
                copy_blob(self.store, row["blob_sha256"], folder / name)
                row["image_file"] = f"data/images/{name}"
                row["sha256"] = row["blob_sha256"]
                self.image_hashes[row["image_file"]] = row["blob_sha256"]
                out.write(row)
            return out.count


def _bag_info(export: EvidenceExport, scope: EvidenceScope, at: datetime) -> dict[str, str]:
    def one_line(value: str) -> str:
        # A tag value may not hold line breaks: text typed by people is flattened.
        return " ".join(value.split())

    return {
        "Source-Organization": SOURCE_ORGANIZATION,
        "External-Identifier": one_line(export.request_ref),
        "External-Description": f"Evidence export {export.id}: {scope.kind.value} "
                                f"{scope.subject_id}",
        "Internal-Sender-Identifier": f"evidence-export-{export.id}",
        "Legal-Basis": one_line(export.reason),
        "Bagging-Date": at.date().isoformat(),
        "Bagging-Timestamp": at.isoformat(),
    }


def make_bag(folder: Path, info: dict[str, str]) -> None:
    """Turn the folder into a SHA-256 bag declaring BagIt 1.0 (RFC 8493)."""
    bagit.make_bag(str(folder), info, checksums=["sha256"])
    # bagit-python writes version 0.97; the layout it makes is 1.0's, so declare 1.0 and
    # let the library rewrite the tag manifest over the changed bagit.txt.
    (folder / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
                                      encoding="utf-8")
    bagit.Bag(str(folder)).save()


def zip_bag(folder: Path, dest: Path, at: datetime) -> None:
    """Zip the bag as one top-level folder, files in a stable order with a fixed time."""
    stamp = at.timetuple()[:6]
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}",
                                   date_time=stamp)
            info.compress_type = (zipfile.ZIP_STORED if path.suffix in STORED_SUFFIXES
                                  else zipfile.ZIP_DEFLATED)
            info.external_attr = 0o644 << 16
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(src, out, CHUNK)


def _store_file(store: BlobStore, path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        return store.put_stream(f)


def build_export(session: Session, store: BlobStore, export_id: int, *,
                 workdir: Path | None = None,
                 progress: Callable[[int], None] | None = None) -> EvidenceExport:
    """Build export ``export_id``'s bundle and certificate into the blob store; commits.

    On failure the export is marked failed (with the error) and ``EvidenceError`` raised.
    """
    export = session.get(EvidenceExport, export_id)
    if export is None:
        raise EvidenceError(f"no evidence export {export_id}")
    if export.status == ExportStatus.DONE.value:
        return export
    export.status, export.progress, export.error = ExportStatus.RUNNING.value, 0, None
    session.commit()
    try:
        _build(session, store, export, workdir, progress or Progress(session, export_id))
    except Exception as exc:
        session.rollback()
        export.status, export.error = ExportStatus.FAILED.value, str(exc)[:2000]
        record(session, "evidence.failed", "evidence_export", export.id,
               data={"error": export.error})
        session.commit()
        log.exception("evidence export %s failed", export_id)
        if isinstance(exc, EvidenceError):
            raise
        raise EvidenceError(f"evidence export {export_id} failed: {exc}") from exc
    return export


def _build(session: Session, store: BlobStore, export: EvidenceExport, workdir: Path | None,
           progress: Callable[[int], None]) -> None:
    scope = resolve_scope(session, export.scope, export.scope_id)
    at = utcnow().replace(microsecond=0)
    requester = session.get(Moderator, export.requested_by_id) if export.requested_by_id else None
    with tempfile.TemporaryDirectory(prefix="evidence-", dir=workdir) as tmp:
        folder = Path(tmp) / f"evidence-{export.id}"
        folder.mkdir()
        build = Build(session, store, export, scope, folder, progress)
        counts = build.write_records()
        with (folder / "custody.json").open("w", encoding="utf-8") as f:
            json.dump(custody_record(export, scope, requester, at, counts,
                                     image_hashes=build.image_hashes), f,
                      ensure_ascii=False, indent=1, sort_keys=True)
        make_bag(folder, _bag_info(export, scope, at))
        progress(88)
        archive = Path(tmp) / f"{folder.name}.zip"
        zip_bag(folder, archive, at)
        progress(94)
        sha, size = _store_file(store, archive)
        entries = manifest_entries(folder)
    text = certificate_text(export, scope, requester, at, sha, size, entries)
    cert_sha, _ = store.put_stream(io.BytesIO(text.encode("utf-8")))
    finish_export(session, export, archive_sha256=sha, archive_size=size,
                  certificate_sha256=cert_sha, contents={"records": counts,
                                                         "files": len(entries),
                                                         "bag": folder.name})


def open_blob(store: BlobStore, sha256: str) -> IO[bytes]:
    """An exported archive or certificate, as a stream (for downloads)."""
    return store.open(sha256)
