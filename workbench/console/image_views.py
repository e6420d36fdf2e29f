"""Serving a case's images to the console, and banking one.

An image is served only through a case whose page shows it, to a role that may read
that case, and never from a public URL: a blurred stand-in first, the EXIF-free
display copy once the moderator reveals it. Each reveal is audited once per viewing of
the case page (the ``case.viewed`` event the page was drawn for), however often the
browser asks for the bytes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.images import ImageError, decode_image
from workbench.cases.images import blurred_copy, image_of_case
from workbench.console.access import ROLE_PERMISSIONS, Permission
from workbench.console.params import parse_id
from workbench.current import settings
from workbench.extensions import db
from workbench.imagebanks.banks import BankError, add_image, get_bank
from workbench.models import AuditEvent, HashBank, Image, utcnow
from workbench.models.audit import record
from workbench.storage import blob_store

#: A page older than this is a new viewing: its reveals are audited again.
VIEWING_LASTS = timedelta(minutes=30)
#: The audit verb of an image shown unblurred.
REVEALED = "image.revealed"
_PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def may_see(session: Session, role: str, case_id: int, image_id: int) -> Image | None:
    """The image if ``role`` may see it on this case's page, else None.

    Moderators and seniors see what the case shows; the legal team sees it while a
    legal hold covers the image (as with recordings, reading a case is not enough).
    """
    image = image_of_case(session, case_id, image_id)
    if image is None:
        return None
    if role in ROLE_PERMISSIONS[Permission.TRIAGE]:
        return image
    if role in ROLE_PERMISSIONS[Permission.LEGAL]:
        # Heavy: imported on first use, not when the module loads.
        from actions.holds import holds_covering

        if holds_covering(session, case_id=case_id) or holds_covering(
                session, image_id=image_id):
            return image
    return None


def images_shown(session: Session, role: str, case_id: int) -> bool:
    """Whether the case page draws its images for ``role`` (else it says why not)."""
    if role in ROLE_PERMISSIONS[Permission.TRIAGE]:
        return True
    # Heavy: imported on first use, not when the module loads.
    from actions.holds import holds_covering

    return role in ROLE_PERMISSIONS[Permission.LEGAL] and bool(
        holds_covering(session, case_id=case_id))


def _image_or_404(case_id: int, image_id: int) -> Image:
    image = may_see(db.session, current_user.role, case_id, image_id)
    if image is None or image.display_sha256 is None:
        abort(404)  # as if there were none: ids are sequential, so do not confirm one
    return image


def _viewing(case_id: int) -> int | None:
    """The page viewing a reveal belongs to: this user's recent view of this case."""
    viewing = parse_id(request.args.get("viewing"))
    if viewing is None:
        return None
    event = db.session.get(AuditEvent, viewing)
    if (event is None or event.verb != "case.viewed" or event.object_id != str(case_id)
            or event.actor_id != str(current_user.id) or event.at < utcnow() - VIEWING_LASTS):
        return None
    return viewing


def _revealed_in(viewing: int, image_id: int) -> bool:
    for data in db.session.scalars(select(AuditEvent.data).where(
            AuditEvent.id > viewing, AuditEvent.verb == REVEALED,
            AuditEvent.object_type == "image", AuditEvent.object_id == str(image_id),
            AuditEvent.actor_id == str(current_user.id))):
        if (data or {}).get("viewing") == viewing:
            return True
    return False


def _read(sha256: str) -> bytes:
    with blob_store(settings()).open(sha256) as stream:
        data: bytes = stream.read()
    return data


def serve_image(case_id: int, image_id: int) -> Any:
    """The display copy (no EXIF, no GPS), audited once per viewing of the case page."""
    image = _image_or_404(case_id, image_id)
    viewing = _viewing(case_id)
    if viewing is None or not _revealed_in(viewing, image_id):
        record(db.session, REVEALED, "image", image_id, actor_type="moderator",
               actor_id=str(current_user.id),
               data={"case_id": case_id, "viewing": viewing, "kind": image.kind})
    db.session.commit()
    assert image.display_sha256 is not None
    return Response(_read(image.display_sha256), mimetype="image/jpeg", headers=_PRIVATE)


def serve_blurred(case_id: int, image_id: int) -> Any:
    """The blurred stand-in; not a reveal, so not audited."""
    image = _image_or_404(case_id, image_id)
    assert image.display_sha256 is not None
    return Response(blurred_copy(_read(image.display_sha256)), mimetype="image/png",
                    headers=_PRIVATE)


def bank_image(case_id: int, image_id: int) -> Any:
    """Add the image (its original bytes, crops included) to the chosen bank."""

    image = _image_or_404(case_id, image_id)
    back = url_for("case.view", case_id=case_id) + f"#evidence-image-{image_id}"
    name = (request.form.get("bank") or "").strip()
    try:
        bank = get_bank(db.session, name)
        decoded = decode_image(_read(image.blob_sha256), settings().max_image_pixels)
        entry = add_image(db.session, bank, decoded.rgb, source=f"case {case_id}",
                          source_image_id=image.id, added_by_id=current_user.id)
    except (BankError, ImageError) as exc:
        db.session.rollback()
        flash(f"Not banked: {exc}", "error")
        return redirect(back)
    record(db.session, "bank.image_added", "image", image.id, actor_type="moderator",
           actor_id=str(current_user.id),
           data={"bank": bank.name, "case_id": case_id,
                 "entry_id": entry.id if entry else None, "already_banked": entry is None})
    db.session.commit()
    flash(f"Added to bank {bank.name}." if entry else
          f"Already in bank {bank.name}: nothing added.", "success")
    return redirect(back)


def banks_offered(session: Session) -> list[tuple[str, str]]:
    """(name, category) of the enabled banks, for the add-to-bank form."""

    return [(b.name, b.category) for b in session.scalars(
        select(HashBank).where(HashBank.enabled).order_by(HashBank.name))]

