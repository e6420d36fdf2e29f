"""The draft certificate kept beside each bundle, with a hash report of every file.

India's Bharatiya Sakshya Adhiniyam 2023 s.63(4)(c) admits an electronic record with a
certificate in the form of its Schedule: Part A signed by the person in charge of the
system the record comes from, Part B by an expert, each stating the record's hash
values and the algorithm. This drafts both parts with what the workbench knows and
leaves blank what a person must fill in and sign.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from actions.evidence.scope import EvidenceScope
from workbench.models import EvidenceExport, Moderator

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def manifest_entries(bag: Path) -> list[tuple[str, str]]:
    """(path inside the zip, SHA-256) of every file in the bag: what the manifests list,
    and the tag manifest itself, which nothing inside the bag can vouch for."""
    entries: list[tuple[str, str]] = []
    for name in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        for line in (bag / name).read_text(encoding="utf-8").splitlines():
            digest, _, path = line.strip().partition(" ")
            if digest and path:
                entries.append((f"{bag.name}/{path.strip()}", digest))
    tags = (bag / "tagmanifest-sha256.txt").read_bytes()
    entries.append((f"{bag.name}/tagmanifest-sha256.txt", hashlib.sha256(tags).hexdigest()))
    return sorted(entries)


def certificate_text(export: EvidenceExport, scope: EvidenceScope,
                     requester: Moderator | None, at: datetime, archive_sha256: str,
                     archive_size: int, entries: list[tuple[str, str]]) -> str:
    """The draft certificate, as plain text to be completed, signed and dated."""
    local = at.astimezone(IST)
    name = f"evidence-{export.id}.zip"
    lines = [
        "DRAFT: CERTIFICATE UNDER SECTION 63(4)(c) OF THE BHARATIYA SAKSHYA ADHINIYAM, 2023",
        "(to be completed, checked and signed; nothing here is signed yet)",
        "",
        f"Evidence export:    {export.id} ({scope.kind.value} {scope.subject_id})",
        f"Request reference:  {export.request_ref}",
        f"Legal basis:        {export.reason}",
        f"Exported by:        {requester.email if requester else '-'}",
        f"Exported at:        {at.isoformat()} (UTC), {local:%d/%m/%Y %H:%M} IST",
        "",
        "PART A (to be filled in by the party producing the record)",
        "",
        "I, ______________________ (name), ______________________ (designation), of",
        "______________________ (organisation), solemnly affirm and state:",
        "",
        "1. The electronic records listed in the hash report below were produced from the",
        "   following digital record source: a server running the HARMONI trust and safety",
        "   workbench (database and blob store), Cloud ID / serial: ______________________.",
        "2. The source was under lawful control for regularly storing and processing",
        "   information in the ordinary course of business; during that period it worked",
        "   properly, and any time it did not has not affected these records or their",
        "   accuracy.",
        "3. The source is owned / maintained / managed / operated by me (strike out what",
        "   does not apply).",
        "4. The hash values of the records are those in the hash report below, obtained",
        "   with the algorithm SHA-256.",
        "",
        "Name and signature: ______________________",
        "Date (DD/MM/YYYY): __________  Time (IST): ______  Place: ______________",
        "",
        "PART B (to be filled in by the expert)",
        "",
        "I, ______________________ (name), ______________________ (designation), state",
        "that the records in the hash report below were obtained from the source named in",
        "Part A, and that their hash values, computed with SHA-256, are as listed.",
        "",
        "Name, designation and signature: ______________________",
        "Date (DD/MM/YYYY): __________  Time (IST): ______  Place: ______________",
        "",
        "HASH REPORT (SHA-256)",
        "",
        f"{archive_sha256}  {name}  ({archive_size} bytes, the whole archive)",
        "",
        "Files in the archive:",
    ]
    lines += [f"{digest}  {path}" for path, digest in entries]
    return "\n".join(lines) + "\n"


def parse_hash_report(text: str) -> tuple[str | None, dict[str, str]]:
    """(archive SHA-256, {path: SHA-256}) as a certificate lists them."""
    archive: str | None = None
    files: dict[str, str] = {}
    in_files = False
    for line in text.splitlines():
        if line.startswith("Files in the archive:"):
            in_files = True
            continue
        digest, _, rest = line.partition("  ")
        if len(digest) != 64 or not rest:
            continue
        if in_files:
            files[rest.strip()] = digest
        elif archive is None and "(" in rest and "the whole archive" in rest:
            archive = digest
    return archive, files
