"""The images on a case page: the reported ones, and the frames of its calls.

An image is part of a case when one of the case's reports points at it (the platform's
image id in the report, or a bank match found on it), or when it is a frame of a call
the case shows. The console serves an image only through its case, so this module is
also the rule for who may see which image.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image as PILImage
from PIL import ImageFilter
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from actions.evidence.scope import reported_images
from workbench.enums import ImageKind
from workbench.models import BankEntry, Case, HashBank, Image, ImageMatch, Recording, Report

#: Images loaded per case page (a call of hours may have sent thousands of frames).
MAX_IMAGES = 60
#: The blurred stand-in's longest side in pixels: too few to recognise anything.
BLURRED_SIDE = 16


@dataclass(frozen=True)
class BankMatchView:
    """A bank entry an image is near: which bank, its category, how far, which entry."""

    bank: str
    category: str
    distance: int
    entry_id: int
    #: Where the banked hash came from (a file name, an import): platform-made text.
    entry_source: str | None
    query_region: str
    bank_region: str


@dataclass
class ImageView:
    image: Image
    platform: str
    #: The most severe category reported about the image (None for an unreported frame).
    category: str | None = None
    matches: list[BankMatchView] = field(default_factory=list)


@dataclass
class CaseImages:
    #: Reported images, the earliest first.
    reported: list[ImageView] = field(default_factory=list)
    #: Video frames per call id, in time order.
    frames: dict[int, list[ImageView]] = field(default_factory=dict)


def case_call_ids(session: Session, case_id: int) -> set[int]:
    """The calls a case's page shows: reported calls and the calls of reported recordings."""
    calls = set(session.scalars(select(Report.call_id).where(
        Report.case_id == case_id, Report.call_id.is_not(None))))
    calls.update(session.scalars(
        select(Recording.call_id).join(Report, Report.recording_id == Recording.id)
        .where(Report.case_id == case_id, Recording.call_id.is_not(None))))
    return {c for c in calls if c is not None}


def load_images(session: Session, reports: Iterable[Report], call_ids: Iterable[int],
                platforms: dict[int, str],
                severity: Callable[[str], float]) -> CaseImages:
    """The reported images (with their bank matches) and the frames of these calls."""
    by_id = {r.id: r for r in reports}
    reported = reported_images(session, list(by_id))
    calls = sorted(set(call_ids))
    conditions: list[ColumnElement[bool]] = []
    if reported:
        conditions.append(Image.id.in_(sorted(reported)))
    if calls:
        conditions.append(Image.call_id.in_(calls) & (Image.kind == ImageKind.VIDEO_FRAME.value))
    out = CaseImages()
    if not conditions:
        return out
    images = list(session.scalars(select(Image).where(or_(*conditions))
                                  .order_by(Image.captured_at, Image.id).limit(MAX_IMAGES)))
    matches = _matches(session, [i.id for i in images])
    for image in images:
        view = ImageView(image, platforms.get(image.platform_id, "?"),
                         matches=matches.get(image.id, []))
        categories = [by_id[r].category for r in reported.get(image.id, ())]
        if categories:
            view.category = max(categories, key=severity)
            out.reported.append(view)
        if image.kind == ImageKind.VIDEO_FRAME.value and image.call_id in calls:
            out.frames.setdefault(image.call_id, []).append(view)
    return out


def _matches(session: Session, image_ids: list[int]) -> dict[int, list[BankMatchView]]:
    out: dict[int, list[BankMatchView]] = {}
    if not image_ids:
        return out
    for match, entry, bank in session.execute(
            select(ImageMatch, BankEntry, HashBank)
            .join(BankEntry, BankEntry.id == ImageMatch.bank_entry_id)
            .join(HashBank, HashBank.id == ImageMatch.bank_id)
            .where(ImageMatch.image_id.in_(image_ids))
            .order_by(ImageMatch.distance, ImageMatch.id)).all():
        out.setdefault(match.image_id, []).append(BankMatchView(
            bank.name, bank.category, match.distance, entry.id, entry.source,
            match.query_region, match.bank_region))
    return out


def leading_images(session: Session, case_ids: list[int]) -> dict[int, int]:
    """Per case, the image its leading report names, when that report is about an image:
    the first report in the case's main category naming content, else the first at all."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Report.case_id, Report.id, Report.message_id, Report.recording_id,
               Report.content_ref)
        # The cases named on both sides, so they are read by key (as in reported_excerpts).
        .join(Case, Case.id == Report.case_id)
        .where(Report.case_id.in_(case_ids), Case.id.in_(case_ids))
        .order_by(Report.case_id, Report.category != Case.primary_category,
                  Report.created_at, Report.id)).all()
    leading: dict[int, int] = {}
    for case_id, report_id, message_id, recording_id, ref in rows:
        names_image = isinstance(ref, dict) and bool(ref.get("image_id"))
        if case_id is not None and case_id not in leading and (
                message_id or recording_id or names_image):
            leading[case_id] = report_id if names_image else 0
    by_report = {r: i for i, reports in reported_images(
        session, [r for r in leading.values() if r]).items() for r in reports}
    return {case_id: by_report[r] for case_id, r in leading.items() if r in by_report}


def image_of_case(session: Session, case_id: int, image_id: int) -> Image | None:
    """The image if this case's page shows it, else None (whether or not it exists)."""
    image = session.get(Image, image_id)
    if image is None:
        return None
    report_ids = list(session.scalars(select(Report.id).where(Report.case_id == case_id)))
    if image_id in reported_images(session, report_ids):
        return image
    if image.kind == ImageKind.VIDEO_FRAME.value and image.call_id is not None \
            and image.call_id in case_call_ids(session, case_id):
        return image
    return None


def blurred_copy(display: bytes) -> bytes:
    """A tiny, blurred PNG of the display copy: a stand-in that shows nothing until the
    moderator chooses to look (the page scales it up and blurs it further)."""

    with PILImage.open(io.BytesIO(display)) as im:
        im.draft("RGB", (BLURRED_SIDE * 4, BLURRED_SIDE * 4))  # JPEG: decode at a fraction
        small: Any = im.convert("RGB")
        small.thumbnail((BLURRED_SIDE, BLURRED_SIDE))
        small = small.filter(ImageFilter.GaussianBlur(1))
        out = io.BytesIO()
        small.save(out, "PNG")
        return out.getvalue()
