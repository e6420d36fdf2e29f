"""Who asked for a bundle, why, and every hand it passed through afterwards.

The chain of custody has three parts: the record inside the bag (who exported, when,
on what legal basis and request, what is included), the archive's SHA-256 in the
database and the audit log, and one custody event (and audit event) for every later
download or transfer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.evidence.scope import EvidenceScope, ScopeError, ScopeKind, resolve_scope
from workbench.enums import ExportStatus, Role
from workbench.models import EvidenceCustodyEvent, EvidenceExport, Moderator, utcnow
from workbench.models.audit import record
from workbench.models.legal import CustodyEventKind

#: Roles that may export evidence and handle bundles.
EXPORTERS = {Role.LEGAL.value}


class EvidenceError(ValueError):
    """An export cannot be requested, built or handed over as asked."""


def request_export(session: Session, scope: str, scope_ref: int | str, reason: str,
                   request_ref: str, requested_by_id: int, *,
                   legal_request_id: int | None = None) -> EvidenceExport:
    """Record an export request (the caller commits, then runs or enqueues the build).

    ``scope`` is ``case``, ``person`` or ``account``; an account is given as
    ``SLUG:USER_ID`` (or its id). Only the legal team may export.
    """
    requester = session.get(Moderator, requested_by_id)
    if requester is None or not requester.active or requester.role not in EXPORTERS:
        raise EvidenceError("only an active member of the legal team may export evidence")
    if not reason.strip():
        raise EvidenceError("give the legal basis for the export")
    if not request_ref.strip():
        raise EvidenceError("give the reference of the request the export answers")
    try:
        resolved = resolve_scope(session, scope, scope_ref)
    except ScopeError as exc:
        raise EvidenceError(str(exc)) from None
    export = EvidenceExport(scope=resolved.kind.value, scope_id=resolved.subject_id,
                            reason=reason.strip(), request_ref=request_ref.strip()[:200],
                            requested_by_id=requester.id, status=ExportStatus.QUEUED.value,
                            progress=0, legal_request_id=legal_request_id)
    session.add(export)
    session.flush()
    record(session, "evidence.requested", "evidence_export", export.id,
           actor_type="moderator", actor_id=str(requester.id),
           data={"scope": resolved.kind.value, "subject_id": resolved.subject_id,
                 "reason": export.reason, "request_ref": export.request_ref})
    return export


def _who(moderator: Moderator | None) -> dict[str, Any] | None:
    if moderator is None:
        return None
    return {"id": moderator.id, "email": moderator.email, "role": moderator.role}


def custody_record(export: EvidenceExport, scope: EvidenceScope, requester: Moderator | None,
                   at: datetime, counts: dict[str, int],
                   image_hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """The chain-of-custody record kept inside the bag (``data/custody.json``).

    ``image_hashes`` names each image file in the bag with the SHA-256 of the original
    bytes as they were received, so the custody record vouches for them one by one.
    """
    return {
        "export_id": export.id,
        "exported_by": _who(requester),
        "exported_at_utc": at.isoformat(),
        "legal_basis": export.reason,
        "request_reference": export.request_ref,
        "legal_request_id": export.legal_request_id,
        "scope": {"kind": scope.kind.value, "subject_id": scope.subject_id,
                  "person_id": scope.person_id, "accounts": list(scope.accounts),
                  "cases": list(scope.cases),
                  "content": ("every message, recording and image of the accounts, and the "
                              "reported content with its conversation context"
                              if scope.kind is not ScopeKind.CASE else
                              "the case's reported content with its conversation context")},
        "included": counts,
        "image_sha256": dict(sorted((image_hashes or {}).items())),
        "hash_algorithm": "SHA-256",
        "archive_hash": ("The SHA-256 of the archive holding this bag is recorded in the "
                         f"workbench (evidence export {export.id}) and in its audit log, "
                         "and named in the certificate kept beside the archive."),
    }


def finish_export(session: Session, export: EvidenceExport, *, archive_sha256: str,
                  archive_size: int, certificate_sha256: str, contents: dict[str, Any]) -> None:
    """Record the built archive: hashes, custody event, audit event; commits."""
    now = utcnow()
    export.status = ExportStatus.DONE.value
    export.progress = 100
    export.archive_sha256 = archive_sha256
    export.archive_size = archive_size
    export.certificate_sha256 = certificate_sha256
    export.contents = contents
    export.completed_at = now
    session.add(EvidenceCustodyEvent(export_id=export.id, at=now,
                                     event=CustodyEventKind.CREATED.value,
                                     moderator_id=export.requested_by_id,
                                     detail="built and stored", archive_sha256=archive_sha256))
    record(session, "evidence.exported", "evidence_export", export.id,
           actor_type="moderator" if export.requested_by_id else "system",
           actor_id=str(export.requested_by_id) if export.requested_by_id else None,
           data={"archive_sha256": archive_sha256, "archive_size": archive_size,
                 "certificate_sha256": certificate_sha256, "records": contents.get("records")})
    session.commit()


def record_download(session: Session, export_id: int, moderator_id: int, how: str, *,
                    kind: CustodyEventKind = CustodyEventKind.DOWNLOADED) -> EvidenceCustodyEvent:
    """Log one download or transfer of a built bundle (the caller commits).

    ``how`` says how and to whom ("console download", "handed to the investigating
    officer of FIR 12/2026 on an encrypted drive").
    """
    export = session.get(EvidenceExport, export_id)
    if export is None or export.status != ExportStatus.DONE.value or not export.archive_sha256:
        raise EvidenceError(f"evidence export {export_id} is not ready")
    moderator = session.get(Moderator, moderator_id)
    if moderator is None or not moderator.active or moderator.role not in EXPORTERS:
        raise EvidenceError("only an active member of the legal team may take out evidence")
    if not how.strip():
        raise EvidenceError("say how the bundle was taken out, and to whom")
    event = EvidenceCustodyEvent(export_id=export.id, at=utcnow(), event=kind.value,
                                 moderator_id=moderator.id, detail=how.strip(),
                                 archive_sha256=export.archive_sha256)
    session.add(event)
    session.flush()
    record(session, f"evidence.{kind.value}", "evidence_export", export.id,
           actor_type="moderator", actor_id=str(moderator.id),
           data={"how": event.detail, "archive_sha256": export.archive_sha256,
                 "custody_event_id": event.id})
    return event


def custody_log(session: Session, export_id: int) -> list[EvidenceCustodyEvent]:
    """Every custody event of one bundle, oldest first."""
    return list(session.scalars(select(EvidenceCustodyEvent)
                                .where(EvidenceCustodyEvent.export_id == export_id)
                                .order_by(EvidenceCustodyEvent.at, EvidenceCustodyEvent.id)))
