"""Retention: how long each kind of data is kept, and the purge that enforces it.

The defaults follow India's IT Rules 2021: content and the information collected with
it are kept 180 days (rule 3(1)(g) for removed content, counted from its removal;
rule 3(1)(h) for a cancelled registration, counted from the deletion), and the audit
log is kept for at least a year and, unless configured, never purged. They are
configuration (``WORKBENCH_RETENTION_DAYS``, a JSON object over these defaults).

Nothing a legal hold covers is purged, nor content a pending report or an open case
still points at. Each run appends one audit event with what it purged, in counts.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, text, update
from sqlalchemy.orm import Session

from workbench.enums import OPEN_CASE_STATUSES, ReportStatus
from workbench.models import (
    Action,
    AuditEvent,
    BankEntry,
    Case,
    ClassifierScore,
    Image,
    ImageMatch,
    Message,
    Recording,
    RecordingSegment,
    Report,
    utcnow,
)
from workbench.models.audit import AUDIT_PURGE_VERB, record
from workbench.rules.retention import (
    AUDIT_MIN_DAYS,
    SETTING,
    RetentionError,
    RetentionPolicy,
)

if TYPE_CHECKING:
    from actions.holds import HoldCover
    from workbench.storage import BlobStore

log = logging.getLogger(__name__)

#: Rows deleted per transaction.
BATCH = 1000


@dataclass
class PurgeCounts:
    """What a run purged, and what it kept although due (held, or still under review)."""

    purged: Counter[str] = field(default_factory=Counter)
    kept_held: Counter[str] = field(default_factory=Counter)
    kept_under_review: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"purged": dict(+self.purged), "kept_held": dict(+self.kept_held),
                "kept_under_review": dict(+self.kept_under_review)}


def under_review(session: Session, column: Any, ids: list[int]) -> set[int]:
    """Content a pending report or a report in an open case points at."""
    if not ids:
        return set()
    rows = session.scalars(
        select(column).outerjoin(Case, Case.id == Report.case_id)
        .where(column.in_(ids), or_(Report.status == ReportStatus.PENDING.value,
                                    Case.status.in_(OPEN_CASE_STATUSES))))
    return set(rows)


def delete_messages(session: Session, ids: list[int]) -> Counter[str]:
    """Delete messages with their scores; reports and actions keep the platform's ids only."""
    counts: Counter[str] = Counter()
    if not ids:
        return counts
    counts["classifier_scores"] += rowcount(session.execute(
        delete(ClassifierScore).where(ClassifierScore.content_type == "message",
                                      ClassifierScore.content_id.in_(ids))))
    session.execute(update(Report).where(Report.message_id.in_(ids)).values(message_id=None))
    session.execute(update(Action).where(Action.message_id.in_(ids)).values(message_id=None))
    counts["messages"] += rowcount(session.execute(delete(Message).where(Message.id.in_(ids))))
    return counts


def delete_recordings(session: Session, ids: list[int]) -> tuple[Counter[str], set[str]]:
    """Delete recordings with their segments and scores; returns the counts and blob hashes.

    The blobs are deleted only after the caller commits (``delete_unreferenced_blobs``):
    a rolled-back purge must not lose audio its rows still point at.
    """
    counts: Counter[str] = Counter()
    if not ids:
        return counts, set()
    shas = set(session.scalars(select(Recording.blob_sha256).where(Recording.id.in_(ids))))
    counts["classifier_scores"] += rowcount(session.execute(
        delete(ClassifierScore).where(ClassifierScore.content_type == "recording",
                                      ClassifierScore.content_id.in_(ids))))
    session.execute(delete(RecordingSegment).where(RecordingSegment.recording_id.in_(ids)))
    session.execute(update(Report).where(Report.recording_id.in_(ids))
                    .values(recording_id=None))
    session.execute(update(Action).where(Action.recording_id.in_(ids))
                    .values(recording_id=None))
    counts["recordings"] += rowcount(session.execute(
        delete(Recording).where(Recording.id.in_(ids))))
    return counts, shas


def images_under_review(session: Session, ids: list[int]) -> set[int]:
    """Images a pending report or a report in an open case names (by the platform's id)."""
    out: set[int] = set()
    ref = Report.content_ref["image_id"].as_string()
    for start in range(0, len(ids), BATCH):
        images = session.execute(select(Image.id, Image.platform_id, Image.platform_image_id)
                                 .where(Image.id.in_(ids[start:start + BATCH]))).all()
        if not images:
            continue
        named = set(session.execute(
            select(Report.platform_id, ref).outerjoin(Case, Case.id == Report.case_id)
            .where(ref.in_(sorted({i[2] for i in images})),
                   or_(Report.status == ReportStatus.PENDING.value,
                       Case.status.in_(OPEN_CASE_STATUSES)))).all())
        out.update(i[0] for i in images if (i[1], i[2]) in named)
    return out


def delete_images(session: Session, ids: list[int]) -> tuple[Counter[str], set[str]]:
    """Delete images with their hashes, bank matches and scores; returns the counts and
    the blob hashes (original and display copy), to delete after the caller commits.

    A bank entry made from the image keeps its hash (the bank exists to catch copies)
    but no longer names the image; reports and actions keep the platform's ids only.
    """
    counts: Counter[str] = Counter()
    if not ids:
        return counts, set()
    shas: set[str] = set()
    for original, display in session.execute(select(Image.blob_sha256, Image.display_sha256)
                                             .where(Image.id.in_(ids))):
        shas.update(s for s in (original, display) if s)
    counts["classifier_scores"] += rowcount(session.execute(
        delete(ClassifierScore).where(ClassifierScore.content_type == "image",
                                      ClassifierScore.content_id.in_(ids))))
    counts["image_matches"] += rowcount(session.execute(
        delete(ImageMatch).where(ImageMatch.image_id.in_(ids))))
    session.execute(update(BankEntry).where(BankEntry.source_image_id.in_(ids))
                    .values(source_image_id=None))
    session.execute(update(Action).where(Action.image_id.in_(ids)).values(image_id=None))
    counts["images"] += rowcount(session.execute(delete(Image).where(Image.id.in_(ids))))
    return counts, shas


def delete_unreferenced_blobs(session: Session, store: BlobStore, shas: Iterable[str]) -> int:
    """Delete the blobs no recording or image points at any more (the same bytes may be
    shared)."""
    wanted = sorted(set(shas))
    if not wanted:
        return 0
    still = set(session.scalars(select(Recording.blob_sha256)
                                .where(Recording.blob_sha256.in_(wanted))))
    still.update(session.scalars(select(Image.blob_sha256)
                                 .where(Image.blob_sha256.in_(wanted))))
    still.update(session.scalars(select(Image.display_sha256)
                                 .where(Image.display_sha256.in_(wanted))))
    gone = [sha for sha in wanted if sha not in still]
    for sha in gone:
        store.delete(sha)
    return len(gone)


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _expired(column_received: Any, column_removed: Any, policy_days: int, removed_days: int,
             now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(column_removed.is_(None), column_received < now - timedelta(days=policy_days)),
        and_(column_removed.is_not(None), column_removed < now - timedelta(days=removed_days)))


@dataclass(frozen=True)
class _Kind:
    """One kind of content retention purges: how to find, protect and delete it."""

    name: str  #: its key in the counts ("messages")
    model: Any
    owners: tuple[Any, Any]  #: the two columns the hold cover checks beside the id
    held: Callable[[int, int, int | None], bool]
    under_review: Callable[[Session, list[int]], set[int]]
    delete: Callable[[Session, list[int]], tuple[Counter[str], set[str]]]
    days: Callable[[RetentionPolicy], int]  #: how long the policy keeps it
    blobs: str | None = None  #: the count of blobs deleted with it, if it has any


def _kinds(cover: HoldCover) -> list[_Kind]:
    return [
        _Kind("messages", Message, (Message.sender_account_id, Message.recipient_account_id),
              cover.message_held, lambda s, ids: under_review(s, Report.message_id, ids),
              lambda s, ids: (delete_messages(s, ids), set()), lambda p: p.messages),
        _Kind("recordings", Recording, (Recording.owner_account_id, Recording.call_id),
              cover.recording_held, lambda s, ids: under_review(s, Report.recording_id, ids),
              delete_recordings, lambda p: p.recordings, blobs="recording_blobs"),
        _Kind("images", Image, (Image.owner_account_id, Image.call_id),
              cover.image_held, images_under_review, delete_images, lambda p: p.images,
              blobs="image_blobs"),
    ]


def _purge(session: Session, store: BlobStore, kind: _Kind, policy: RetentionPolicy,
           now: datetime, counts: PurgeCounts, batch: int) -> None:
    """Purge one kind a batch per transaction, keeping what a hold or a review covers."""
    model = kind.model
    expired = _expired(model.received_at, model.removed_at, kind.days(policy),
                       policy.removed_content, now)
    last = 0
    while rows := session.execute(
            select(model.id, *kind.owners)
            .where(expired, model.id > last).order_by(model.id).limit(batch)).all():
        last = rows[-1][0]
        held = {r[0] for r in rows if kind.held(r[0], r[1], r[2])}
        review = kind.under_review(session, [r[0] for r in rows if r[0] not in held])
        ids = [r[0] for r in rows if r[0] not in held and r[0] not in review]
        counts.kept_held[kind.name] += len(held)
        counts.kept_under_review[kind.name] += len(review)
        deleted, shas = kind.delete(session, ids)
        counts.purged.update(deleted)
        session.commit()
        if kind.blobs:
            counts.purged[kind.blobs] += delete_unreferenced_blobs(session, store, shas)


def purge_audit_events(session: Session, days: int, now: datetime) -> int:
    """Delete audit events older than ``days`` (at least a year) and mark where the chain
    now starts, so ``verify_chain`` accepts the first kept event. The caller commits."""
    if days < AUDIT_MIN_DAYS:
        raise RetentionError(f"{SETTING}: audit_events must be at least {AUDIT_MIN_DAYS} days")
    # An hour's margin, so an event at the edge is never refused by the trigger, which
    # measures the year on the database server's clock.
    cutoff = now - timedelta(days=days, hours=1)
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.at < cutoff)
                           .order_by(AuditEvent.id.desc()).limit(1)).first()
    if last is None:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # The table's trigger refuses deletes unless asked for here, in this transaction.
        session.execute(text("SET LOCAL workbench.audit_purge = 'on'"))
    n = rowcount(session.execute(
        delete(AuditEvent).where(AuditEvent.id <= last.id, AuditEvent.at < cutoff)
        .execution_options(synchronize_session=False)))
    record(session, AUDIT_PURGE_VERB, "audit_event", last.id,
           data={"through_id": last.id, "through_hash": last.hash, "count": n, "days": days})
    return n


def run_retention(session: Session, store: BlobStore, policy: RetentionPolicy, *,
                  now: datetime | None = None, batch: int = BATCH) -> PurgeCounts:
    """Purge what has outlived its retention, a batch per transaction; audited in counts."""
    # Heavy: imported on first use, not when the module loads.
    from actions.holds import held_cover

    now = now or utcnow()
    cover = held_cover(session, now)
    counts = PurgeCounts()
    for kind in _kinds(cover):
        _purge(session, store, kind, policy, now, counts, batch)
    if policy.audit_events is not None:
        counts.purged["audit_events"] += purge_audit_events(session, policy.audit_events, now)
    if +counts.purged:
        record(session, "retention.purged", "retention", None,
               data={**counts.as_dict(), "policy": asdict(policy)})
        log.info("retention purged %s (kept: held %s, under review %s)", dict(counts.purged),
                 dict(counts.kept_held), dict(counts.kept_under_review))
    session.commit()
    return counts
