"""The images batch job's domain code: hash, match against the banks, score nudity.

Each pending image is decoded from its blob, hashed (PDQ in its dihedral forms and its
banner crops), matched against every enabled bank, and scored by NudeNet. A bank match
opens a report in the bank's category naming the bank, the distance and which hashes
met; a nudity score over the threshold (the stricter one when the owner's birth year
makes them a minor) opens a ``sexual_content`` report, in the live lane when the image is
a frame of a call still going on. The caller files the reports into cases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.enforcement import ActionRequest, apply_action
from classifiers.images import ImageError, decode_image, query_hashes
from classifiers.images.nudity import MODEL_NAME, is_flagged, model_card, score_nudity
from classifiers.registry import ModelRegistry
from workbench.enums import (
    ActionStatus,
    ActionType,
    Category,
    ContentStatus,
    ImageKind,
    ReportSource,
)
from workbench.imagebanks.banks import BankHit, match_hashes, report_category
from workbench.models import (
    Account,
    Action,
    ClassifierScore,
    HashBank,
    Image,
    ImageMatch,
    Report,
    utcnow,
)
from workbench.settings import Settings
from workbench.storage import blob_store
from workbench.upserts import insert_new

log = logging.getLogger(__name__)

#: The name written on PDQ match scores and reports (nudity: the nudity model's metadata).
PDQ_MODEL = "pdq"
#: Under this age (from the birth year) the stricter nudity threshold applies.
ADULT_AGE = 18


@dataclass
class _Scanned:
    image: Image
    rgb: Any
    hits: list[BankHit]


def _decode(session: Session, settings: Settings, images: list[Image]) -> list[_Scanned]:
    store = blob_store(settings)
    out = []
    for image in images:
        try:
            with store.open(image.blob_sha256) as stream:
                decoded = decode_image(stream.read(), settings.max_image_pixels)
        except (ImageError, OSError) as exc:
            image.status, image.error = ContentStatus.FAILED.value, str(exc)[:2000]
            continue
        hashes = query_hashes(decoded.rgb)
        image.pdq, image.pdq_quality = hashes[0].hex, hashes[0].quality
        out.append(_Scanned(image, decoded.rgb, match_hashes(session, hashes)))
    return out


def image_report(image: Image, key: str, category: str, **fields: Any) -> dict[str, Any]:
    """A report row on an image (its owner, call and content reference), not yet inserted."""
    now = utcnow()
    return {"platform_id": image.platform_id, "platform_report_id": key,
            "reported_account_id": image.owner_account_id, "category": category,
            "call_id": image.call_id, "call_in_progress": False,
            "content_ref": {"image_id": image.platform_image_id, "image_sha256": image.blob_sha256},
            "created_at": now, "received_at": now, "status": "pending", **fields}


def _match_reports(session: Session, scanned: list[_Scanned]) -> list[int]:
    report_ids = []
    for item in scanned:
        for hit in item.hits:
            row = image_report(
                item.image, f"match-image-{item.image.id}-bank-{hit.bank_id}",
                report_category(hit.category), source=ReportSource.HASH_MATCH.value,
                model_name=PDQ_MODEL, model_version=hit.bank,
                model_score=round(1 - hit.distance / 256, 4),
                description=f"Image matches bank {hit.bank} ({hit.category}) at distance "
                            f"{hit.distance} of 256 (image {hit.query_region} hash against "
                            f"banked {hit.bank_region} hash).")
            new = insert_new(session, Report, [row], ["platform_id", "platform_report_id"],
                             [Report.id])
            report_id = new[0].id if new else session.execute(select(Report.id).where(
                Report.platform_id == row["platform_id"],
                Report.platform_report_id == row["platform_report_id"])).scalar_one()
            report_ids += [r.id for r in new]
            insert_new(session, ImageMatch, [{
                "image_id": item.image.id, "bank_entry_id": hit.entry_id,
                "bank_id": hit.bank_id, "distance": hit.distance,
                "query_region": hit.query_region, "bank_region": hit.bank_region,
                "report_id": report_id, "created_at": utcnow()}],
                ["image_id", "bank_entry_id"], [ImageMatch.id])
    return report_ids


#: Hours a bank rule's suspension lasts unless the rule says otherwise: long enough for
#: a senior to review it, and reversible like any automated action.
RULE_SUSPEND_HOURS = 72.0


def apply_bank_rules(session: Session, image_ids: list[int]) -> list[int]:
    """Act on these images' bank matches by each bank's rule, through ``apply_action``
    (automated, pending review); returns the delivery ids to enqueue.

    Runs after the match reports are filed, so the actions name their cases. Each
    image's matches act once: an action already taken for the image is not repeated.
    """

    deliveries: list[int] = []
    rows = session.execute(
        select(ImageMatch, HashBank, Image, Report.case_id, Account.person_id)
        .join(HashBank, HashBank.id == ImageMatch.bank_id)
        .join(Image, Image.id == ImageMatch.image_id)
        .join(Report, Report.id == ImageMatch.report_id)
        .join(Account, Account.id == Image.owner_account_id)
        .where(ImageMatch.image_id.in_(image_ids)).order_by(ImageMatch.id)).all()
    for match, bank, image, case_id, person_id in rows:
        rule = bank.action_rule or {}
        for name in rule.get("actions", []):
            kind = ActionType(name)
            if _acted(session, kind, person_id, image.id):
                continue
            category = report_category(bank.category)
            action = apply_action(session, ActionRequest(
                type=kind, person_id=person_id, policy_reason=category,
                decided_by_rule=f"bank:{bank.name}", automated=True, case_id=case_id,
                category=category,
                image_id=image.id if kind is ActionType.REMOVE_CONTENT else None,
                duration=timedelta(hours=float(rule.get("hours", RULE_SUSPEND_HOURS)))
                if kind is ActionType.SUSPEND else None,
                facts=f"Image {image.platform_image_id} matched bank {bank.name} "
                      f"({bank.category}) at distance {match.distance} of 256; applied "
                      "automatically by the bank's rule, pending review."))
            deliveries += [d.id for d in action.deliveries]
    return deliveries


def _acted(session: Session, kind: ActionType, person_id: int, image_id: int) -> bool:
    """Whether this action is already in force (for the image, if it is a removal)."""
    query = select(Action.id).where(Action.type == kind.value,
                                    Action.status == ActionStatus.ACTIVE.value)
    if kind is ActionType.REMOVE_CONTENT:
        query = query.where(Action.image_id == image_id)
    else:
        query = query.where(Action.person_id == person_id)
    return session.execute(query.limit(1)).first() is not None


def _minors(session: Session, account_ids: set[int]) -> set[int]:
    year = utcnow().year
    return set(session.scalars(select(Account.id).where(
        Account.id.in_(account_ids), Account.birth_year.is_not(None),
        Account.birth_year > year - ADULT_AGE)))


def _nudity_reports(session: Session, scanned: list[_Scanned], settings: Settings) -> list[int]:
    card = model_card(ModelRegistry(settings.model_dir))
    scores = score_nudity([s.rgb for s in scanned], card)
    minors = _minors(session, {s.image.owner_account_id for s in scanned})
    rows, score_rows = [], []
    for item, score in zip(scanned, scores, strict=True):
        image = item.image
        image.nudity_score, image.nudity_labels = score.sexual_content, score.labels
        minor = image.owner_account_id in minors
        flagged = is_flagged(score, minor=minor, card=card)
        score_rows.append({
            "content_type": "image", "content_id": image.id, "model_name": MODEL_NAME,
            "model_version": card.version, "scores": {"sexual_content": score.sexual_content},
            "flagged": {"labels": ["sexual_content"] if flagged else [], "minor": minor},
            "explanation": {"labels": score.labels}, "created_at": utcnow()})
        if flagged:
            live = image.kind == ImageKind.VIDEO_FRAME.value and image.call_in_progress
            rows.append(image_report(
                image, f"clf-image-{image.id}-sexual_content", Category.SEXUAL_CONTENT.value,
                source=ReportSource.CLASSIFIER.value, model_name=MODEL_NAME,
                model_version=card.version, model_score=score.sexual_content,
                call_in_progress=live))
    insert_new(session, ClassifierScore, score_rows,
               ["content_type", "content_id", "model_name", "model_version"],
               [ClassifierScore.id])
    return [r.id for r in insert_new(session, Report, rows,
                                     ["platform_id", "platform_report_id"], [Report.id])]


def scan_images(session: Session, image_ids: list[int], settings: Settings) -> dict[str, object]:
    """Hash, match and score a batch of pending images; ``report_ids`` are for filing."""
    images = list(session.scalars(select(Image).where(
        Image.id.in_(image_ids), Image.status == ContentStatus.PENDING.value)
        .order_by(Image.id)))
    scanned = _decode(session, settings, images)
    report_ids = _match_reports(session, scanned)
    report_ids += _nudity_reports(session, scanned, settings)
    for item in scanned:
        item.image.status = ContentStatus.PROCESSED.value
    return {"images": len(scanned), "failed": len(images) - len(scanned),
            "matches": sum(len(s.hits) for s in scanned), "report_ids": report_ids,
            "matched_image_ids": [s.image.id for s in scanned if s.hits]}
