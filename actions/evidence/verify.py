"""Checking a bundle: the bag is valid, every hash recomputed, every change named.

``verify_bundle`` first reads the zip's directory and refuses an archive whose members,
total or compression ratio are past ``UnpackLimits`` (a zip bomb: a few MB that expand
to gigabytes) before anything is written. It then unpacks the zip into a scratch folder
(refusing unsafe paths), lets
``bagit`` validate the bag, and if that fails works out which files were altered,
removed or added. A certificate kept beside the zip (``NAME.certificate.txt``) is
checked too: the archive's hash and every file's hash must be the ones it lists.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import bagit

from actions.evidence.certificate import parse_hash_report

CHUNK = 1024 * 1024
GIB = 1024 ** 3


@dataclass(frozen=True)
class UnpackLimits:
    """What an archive may expand to before ``verify_bundle`` writes any of it to disk.

    A real bundle holds JSON (deflate shrinks it some 5 to 20 times) and audio (stored as
    it is), so a member that shrank more than ``max_ratio`` times is not one of ours.
    """

    max_members: int = 100_000
    max_member_bytes: int = 4 * GIB
    max_total_bytes: int = 16 * GIB
    max_ratio: float = 100.0
    #: Members smaller than this are not held to the ratio (tiny files compress oddly).
    ratio_floor_bytes: int = 1024 * 1024
# bagit logs each mismatch as a warning; the report names them instead.
logging.getLogger("bagit").setLevel(logging.ERROR)


@dataclass(frozen=True)
class BundleProblem:
    """One thing wrong with a bundle: ``altered``, ``missing``, ``added`` or ``invalid``."""

    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


@dataclass
class BundleReport:
    """What ``verify_bundle`` found."""

    path: str
    archive_sha256: str
    files_checked: int = 0
    problems: list[BundleProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, path: str, detail: str) -> None:
        self.problems.append(BundleProblem(kind, path, detail))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def certificate_path(archive: Path) -> Path:
    """Where the certificate of an archive is kept: beside it, ``NAME.certificate.txt``."""
    return archive.with_name(archive.stem + ".certificate.txt")


def _safe_members(zf: zipfile.ZipFile, report: BundleReport) -> list[zipfile.ZipInfo]:
    safe = []
    for info in zf.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            report.add("invalid", info.filename, "unsafe path in the archive; not extracted")
        elif not info.is_dir():
            safe.append(info)
    return safe


def _too_large(members: list[zipfile.ZipInfo], limits: UnpackLimits) -> tuple[str, str] | None:
    """(path, why) for the first limit the zip's directory says it would pass, else None."""
    if len(members) > limits.max_members:
        return "", f"{len(members)} files, more than the limit of {limits.max_members}"
    total = 0
    for info in members:
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > limits.max_member_bytes:
            return info.filename, (f"expands to {size:,} bytes, more than the limit of "
                                   f"{limits.max_member_bytes:,} for one file")
        if size >= limits.ratio_floor_bytes and size / packed > limits.max_ratio:
            return info.filename, (f"expands {size / packed:,.0f} times ({packed:,} to "
                                   f"{size:,} bytes), more than the limit of "
                                   f"{limits.max_ratio:,.0f} times")
        total += size
        if total > limits.max_total_bytes:
            return "", (f"expands to more than {limits.max_total_bytes:,} bytes in all "
                        "(the limit)")
    return None


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Write one member, never more bytes than the directory declared for it."""
    left = info.file_size
    with zf.open(info) as src, target.open("wb") as out:
        while chunk := src.read(min(CHUNK, left + 1)):
            left -= len(chunk)
            if left < 0:
                raise zipfile.BadZipFile(f"{info.filename} holds more than its declared size")
            out.write(chunk)


def _extract(archive: Path, dest: Path, report: BundleReport,
             limits: UnpackLimits) -> Path | None:
    """Unpack the zip; returns the bag folder (the one top-level folder) or None."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _safe_members(zf, report)
            refused = _too_large(members, limits)
            if refused is not None:
                where, why = refused
                report.add("invalid", where or archive.name,
                           f"refused before extracting anything: {why}")
                return None
            for info in members:
                target = dest / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy_member(zf, info, target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        report.add("invalid", archive.name, f"not a readable zip archive ({exc})")
        return None
    tops = sorted({PurePosixPath(m.filename).parts[0] for m in members})
    folders = [t for t in tops if (dest / t).is_dir()]
    for top in tops:
        if (dest / top).is_file():
            report.add("added", top, "a file outside the bag")
    if len(folders) != 1:
        report.add("invalid", archive.name, f"expected one bag folder, found {len(folders)}")
        return None
    return dest / folders[0]


def _name_problems(bag: bagit.Bag, root: Path, report: BundleReport) -> None:
    """Which files differ from the manifests: altered, missing (listed, absent), added."""
    listed = dict(bag.entries)
    for rel, hashes in sorted(listed.items()):
        path = root / rel
        if not path.is_file():
            report.add("missing", f"{root.name}/{rel}", "listed in the manifest, not in the bag")
            continue
        found = sha256_of(path)
        if hashes.get("sha256") and found != hashes["sha256"]:
            report.add("altered", f"{root.name}/{rel}",
                       f"SHA-256 is {found}, the manifest says {hashes['sha256']}")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in listed and not rel.startswith("tagmanifest-"):
            report.add("added", f"{root.name}/{rel}", "not listed in the manifest")


def _check_certificate(archive: Path, root: Path | None, report: BundleReport) -> None:
    cert = certificate_path(archive)
    if not cert.is_file():
        return
    expected_archive, files = parse_hash_report(cert.read_text(encoding="utf-8"))
    if expected_archive and expected_archive != report.archive_sha256:
        report.add("altered", archive.name,
                   f"SHA-256 is {report.archive_sha256}, the certificate says {expected_archive}")
    if root is None:
        return
    for path, digest in sorted(files.items()):
        local = root.parent / path
        if local.is_file() and sha256_of(local) != digest:
            if not any(p.path == path for p in report.problems):
                report.add("altered", path, "SHA-256 differs from the certificate's")


def verify_bundle(path: str | Path, workdir: Path | None = None,
                  limits: UnpackLimits | None = None) -> BundleReport:
    """Validate a zipped bag; the report names each altered, missing or added file.

    An archive past ``limits`` (by default ``UnpackLimits()``) is refused unextracted.
    """
    archive = Path(path)
    report = BundleReport(str(archive), sha256_of(archive))
    with tempfile.TemporaryDirectory(prefix="verify-", dir=workdir) as tmp:
        root = _extract(archive, Path(tmp), report, limits or UnpackLimits())
        if root is not None:
            _validate(root, report)
        _check_certificate(archive, root, report)
    return report


def _validate(root: Path, report: BundleReport) -> None:
    try:
        bag = bagit.Bag(str(root))
    except bagit.BagError as exc:
        report.add("invalid", root.name, f"not a valid bag ({exc})")
        return
    report.files_checked = len(bag.entries)
    try:
        bag.validate(processes=1)
        return
    except bagit.BagValidationError as exc:
        message = str(exc)
    before = len(report.problems)
    _name_problems(bag, root, report)
    if len(report.problems) == before:
        report.add("invalid", root.name, message)
