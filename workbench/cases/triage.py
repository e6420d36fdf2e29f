"""The triage queue: listing open cases most urgent first, and claiming them one at a time.

A claim is a compare-and-set ``UPDATE ... WHERE`` on the case row, so two moderators
can never hold the same case, on PostgreSQL or SQLite alike. A claim lapses after
``claim_lock`` without activity (viewing, noting or acting refreshes it), and the case
can then be claimed by someone else.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from workbench.cases.learning import LearningPick, most_uncertain_case
from workbench.enums import OPEN_CASE_STATUSES, CaseStatus, Role, TranscriptStatus
from workbench.models import (
    Account,
    Case,
    Message,
    Moderator,
    Platform,
    Recording,
    Report,
    utcnow,
)
from workbench.models.audit import record

#: Languages that count as speaking a queue's language ("hi-Latn" is Hinglish).
LANGUAGE_FAMILY = {"hi-Latn": "hi"}
#: The longest queue position accepted from a URL.
MAX_CURSOR = 200


class ClaimError(ValueError):
    """The case cannot be claimed, released or handed over as asked."""


@dataclass(frozen=True)
class QueueFilter:
    """What the moderator narrowed the queue to; ``None`` means any."""

    queue: str | None = None
    category: str | None = None
    platform_id: int | None = None
    language: str | None = None
    status: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False


@dataclass(frozen=True)
class Cursor:
    """Where a page ends, in the queue's order (priority down, due time up, id up)."""

    priority: float
    due_at: datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.priority, self.due_at.isoformat(), self.id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a cursor from a URL; a tampered one raises ``ValueError``."""
        if len(token) > MAX_CURSOR:  # one we made is about 60 characters
            raise ValueError("not a queue position")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            priority, due, case_id = json.loads(raw)
            cursor = cls(float(priority), datetime.fromisoformat(due), int(case_id))
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise ValueError("not a queue position") from exc
        # What the queries compare with: a finite priority, an id a BIGINT holds.
        if not math.isfinite(cursor.priority) or not 0 < cursor.id <= 2**63 - 1 \
                or isinstance(case_id, bool) or not isinstance(case_id, int):
            raise ValueError("not a queue position")
        return cursor


@dataclass
class QueueRow:
    id: int
    person_id: int
    status: str
    queue: str
    priority: float
    due_at: datetime
    live: bool
    primary_category: str
    categories: list[str]
    report_count: int
    reporter_count: int
    platform: str | None
    language: str | None
    assignee: str | None
    claim_lapsed: bool
    #: The start of what was reported (the first report in the case's main category that
    #: names a message or recording): what waits, seen before the case is opened.
    excerpt: str | None = None
    #: The reported image, when the leading report is about one (shown blurred).
    image_id: int | None = None


@dataclass
class QueuePage:
    rows: list[QueueRow] = field(default_factory=list)
    next_cursor: str | None = None


def _visible_statuses(f: QueueFilter) -> list[str]:
    if f.status:
        return [f.status]
    return list(OPEN_CASE_STATUSES)


def queue_page(session: Session, f: QueueFilter, *, after: Cursor | None = None,
               limit: int = 50, claim_lock: timedelta = timedelta(minutes=10),
               slugs: dict[int, str] | None = None) -> QueuePage:
    """One page of the queue, by keyset: the cost of page 500 is the cost of page 1.

    ``slugs`` is ``platform_slugs(session)`` when the caller has read it already.
    """
    query = (select(Case.id, Case.person_id, Case.status, Case.queue, Case.priority,
                    Case.due_at, Case.live, Case.primary_category, Case.categories,
                    Case.report_count, Case.reporter_count, Case.platform_id, Case.language,
                    Case.last_activity_at, Moderator.display_name, Moderator.email)
             .outerjoin(Moderator, Moderator.id == Case.assignee_id)
             .where(Case.status.in_(_visible_statuses(f))))
    if f.queue:
        query = query.where(Case.queue == f.queue)
    if f.category:
        query = query.where(Case.primary_category == f.category)
    if f.platform_id:
        query = query.where(Case.platform_id == f.platform_id)
    if f.language:
        query = query.where(Case.language == f.language)
    if f.assignee_id:
        query = query.where(Case.assignee_id == f.assignee_id)
    if f.unassigned:
        query = query.where(Case.assignee_id.is_(None))
    if after is not None:
        query = query.where(or_(
            Case.priority < after.priority,
            and_(Case.priority == after.priority, Case.due_at > after.due_at),
            and_(Case.priority == after.priority, Case.due_at == after.due_at,
                 Case.id > after.id)))
    query = query.order_by(Case.priority.desc(), Case.due_at, Case.id).limit(limit + 1)
    rows = session.execute(query).all()
    slugs = platform_slugs(session) if slugs is None else slugs
    lapse = utcnow() - claim_lock
    page = QueuePage(rows=[QueueRow(
        id=r.id, person_id=r.person_id, status=r.status, queue=r.queue, priority=r.priority,
        due_at=r.due_at, live=r.live, primary_category=r.primary_category,
        categories=sorted(r.categories or {}), report_count=r.report_count,
        reporter_count=r.reporter_count, platform=slugs.get(r.platform_id),
        language=r.language, assignee=r.display_name or r.email,
        claim_lapsed=(r.status == CaseStatus.CLAIMED.value and r.last_activity_at is not None
                      and r.last_activity_at < lapse),
    ) for r in rows[:limit]])
    # Heavy: imported on first use, not when the module loads.
    from workbench.cases.images import leading_images

    excerpts = reported_excerpts(session, [row.id for row in page.rows])
    images = leading_images(session, [row.id for row in page.rows])
    for row in page.rows:
        row.excerpt = excerpts.get(row.id)
        row.image_id = images.get(row.id)
    if len(rows) > limit:
        last = rows[limit - 1]
        page.next_cursor = Cursor(last.priority, last.due_at, last.id).encode()
    return page


#: Characters of reported text a queue row shows.
EXCERPT_CHARS = 140
#: What a row shows instead of a recording's transcript the recogniser could not make
#: (speech in a language it does not know): its English words were never said.
NO_TRANSCRIPT = "listen: no transcript for this language"


def reported_excerpts(session: Session, case_ids: list[int]) -> dict[int, str]:
    """Per case, the start of the reported message or recording transcript: the first
    report about an item in the case's main category, else the first about any item."""
    if not case_ids:
        return {}
    ranked = (
        select(Report.case_id, Message.text, Recording.transcript, Recording.transcript_status,
               func.row_number().over(
                   partition_by=Report.case_id,
                   order_by=[(Report.category != Case.primary_category), Report.created_at,
                             Report.id]).label("n"))
        .join(Case, Case.id == Report.case_id)
        .outerjoin(Message, Message.id == Report.message_id)
        .outerjoin(Recording, Recording.id == Report.recording_id)
        # The cases named on both sides: the planner then reads 50 cases by their key
        # rather than hashing the whole table (7-11 ms at 10,000 cases).
        .where(Report.case_id.in_(case_ids), Case.id.in_(case_ids),
               or_(Report.message_id.is_not(None), Report.recording_id.is_not(None)))
        .subquery())
    out = {}
    for case_id, text, transcript, status in session.execute(
            select(ranked.c.case_id, ranked.c.text, ranked.c.transcript,
                   ranked.c.transcript_status)
            .where(ranked.c.n == 1)):
        if status == TranscriptStatus.NO_TRANSCRIPT_LANGUAGE.value:
            transcript = NO_TRANSCRIPT
        words = " ".join((text or transcript or "").split())
        if words:
            out[case_id] = words if len(words) <= EXCERPT_CHARS \
                else words[:EXCERPT_CHARS - 1] + "…"
    return out


def platform_slugs(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Platform.id, Platform.slug)).all())


def speaks(moderator_languages: list[str], wanted: list[str]) -> bool:
    """Whether a moderator speaks any of ``wanted`` (Hinglish counts as Hindi)."""
    have = {LANGUAGE_FAMILY.get(x, x) for x in moderator_languages}
    return bool(have & {LANGUAGE_FAMILY.get(x, x) for x in wanted})


def eligible_queues(routing_rules: list[dict[str, Any]], languages: list[str]) -> list[str]:
    """Queues a moderator may draw from: a queue routed by language needs a speaker of it."""
    out = []
    for rule in routing_rules:
        wanted = rule.get("languages")
        if wanted and not speaks(languages, list(wanted)):
            continue
        out.append(str(rule["queue"]))
    return out


def _claimable(moderator_role: str, cutoff: datetime) -> Any:
    """Cases free to claim: open ones, lapsed claims, and escalated ones for seniors."""
    free = [Case.status == CaseStatus.OPEN.value,
            and_(Case.status == CaseStatus.CLAIMED.value, Case.last_activity_at < cutoff)]
    if moderator_role == Role.SENIOR.value:
        free.append(Case.status == CaseStatus.ESCALATED.value)
    condition = or_(*free)
    if moderator_role != Role.SENIOR.value:
        # A case a moderator escalated stays with the seniors, claimed or not.
        condition = and_(condition, Case.escalation_reason.is_(None))
    return condition


def try_claim(session: Session, case_id: int, moderator_id: int, role: str,
              claim_lock: timedelta) -> bool:
    """Claim one case if it is free (or already ours); atomic against any other claimer."""
    now = utcnow()
    result = session.execute(
        update(Case)
        .where(Case.id == case_id,
               or_(_claimable(role, now - claim_lock),
                   and_(Case.status == CaseStatus.CLAIMED.value,
                        Case.assignee_id == moderator_id)))
        .values(status=CaseStatus.CLAIMED.value, assignee_id=moderator_id,
                claimed_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record(session, "case.claimed", "case", case_id, actor_type="moderator",
           actor_id=str(moderator_id))
    return True


def claim_next(session: Session, moderator_id: int, role: str, *, queues: list[str],
               claim_lock: timedelta, exclude_categories: frozenset[str] = frozenset(),
               queue: str | None = None, learning: LearningPick | None = None) -> int | None:
    """Claim the most urgent free case in the moderator's queues; its id, or None.

    The live lane comes first: a call still in progress is harm happening now. With
    ``learning``, the case the text model is least sure of comes first when no deadline
    presses (``workbench.cases.learning``).
    """
    wanted = [queue] if queue else queues
    if queue and queue not in queues:
        return None
    if learning is not None:
        now = utcnow()
        case_id = most_uncertain_case(session, _claimable(role, now - claim_lock), wanted,
                                      exclude_categories, learning, now)
        if case_id is not None and try_claim(session, case_id, moderator_id, role, claim_lock):
            record(session, "case.claimed_for_learning", "case", case_id,
                   actor_type="moderator", actor_id=str(moderator_id))
            return int(case_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(8):  # another claimer may win a candidate; try the next one
        now = utcnow()
        query = (select(Case.id)
                 .where(_claimable(role, now - claim_lock), Case.queue.in_(wanted))
                 .order_by(Case.live.desc(), Case.priority.desc(), Case.due_at, Case.id)
                 .limit(1))
        if exclude_categories:
            query = query.where(Case.primary_category.not_in(sorted(exclude_categories)))
        if postgres:
            query = query.with_for_update(skip_locked=True, of=Case)
        case_id = session.scalar(query)
        if case_id is None:
            return None
        if try_claim(session, case_id, moderator_id, role, claim_lock):
            return int(case_id)
    return None


def touch(session: Session, case_id: int, moderator_id: int) -> bool:
    """Keep our claim alive (the moderator is still working on the case)."""
    result = session.execute(
        update(Case).where(Case.id == case_id, Case.assignee_id == moderator_id,
                           Case.status == CaseStatus.CLAIMED.value)
        .values(last_activity_at=utcnow()).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, case_id: int, moderator_id: int) -> None:
    """Give a claimed case back to its queue (escalated ones back to the seniors)."""
    case = session.get(Case, case_id)
    if case is None or case.assignee_id != moderator_id:
        raise ClaimError("you do not hold this case")
    case.status = (CaseStatus.ESCALATED if case.escalation_reason else CaseStatus.OPEN).value
    case.assignee_id = None
    case.claimed_at = None
    record(session, "case.released", "case", case_id, actor_type="moderator",
           actor_id=str(moderator_id))


def held_by(session: Session, moderator_id: int, *, other_than: int | None = None) -> list[int]:
    """The open cases a moderator holds now, the longest held first."""
    query = (select(Case.id).where(Case.assignee_id == moderator_id,
                                   Case.status == CaseStatus.CLAIMED.value)
             .order_by(Case.claimed_at, Case.id))
    if other_than is not None:
        query = query.where(Case.id != other_than)
    return [int(i) for i in session.scalars(query)]


def room_for_claim(session: Session, moderator_id: int, limit: int) -> None:
    """Refuse a new claim while the moderator already holds ``limit`` cases (0: no limit).

    Raises:
        ClaimError: naming the case to finish or release first.
    """
    held = held_by(session, moderator_id)
    if limit > 0 and len(held) >= limit:
        raise ClaimError(f"finish or release case {held[0]} first: you hold "
                         f"{len(held)} case{'s' * (len(held) != 1)}, the most one may hold "
                         f"at a time is {limit}")


def release_beyond(session: Session, moderator_id: int, keep: int, limit: int) -> list[int]:
    """After claiming ``keep``, give back the earliest other claims beyond ``limit``."""
    if limit <= 0:
        return []
    others = held_by(session, moderator_id, other_than=keep)
    released = []
    for case_id in others[:max(0, len(others) - (limit - 1))]:
        try:
            release(session, case_id, moderator_id)
        except ClaimError:  # a colleague took the lapsed claim meanwhile: not ours to give
            continue
        released.append(case_id)
    return released


def reassign(session: Session, case_id: int, *, from_id: int, to_id: int, reason: str) -> None:
    """Hand a case we hold to another moderator, saying why."""
    if not reason.strip():
        raise ClaimError("say why the case is reassigned")
    case = session.get(Case, case_id)
    if case is None or case.status not in OPEN_CASE_STATUSES:
        raise ClaimError("this case is not open")
    if case.assignee_id not in (None, from_id):
        raise ClaimError("another moderator holds this case")
    target = session.get(Moderator, to_id)
    if target is None or not target.active or target.role not in (Role.MODERATOR.value,
                                                                  Role.SENIOR.value):
        raise ClaimError("choose an active moderator")
    now = utcnow()
    case.assignee_id = to_id
    case.status = CaseStatus.CLAIMED.value
    case.claimed_at = now
    case.last_activity_at = now
    record(session, "case.reassigned", "case", case_id, actor_type="moderator",
           actor_id=str(from_id), data={"to": to_id, "reason": reason})


def holder(session: Session, case_id: int) -> int | None:
    return session.scalar(select(Case.assignee_id).where(Case.id == case_id))


def accounts_of(session: Session, person_id: int) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.person_id == person_id)
                                .order_by(Account.platform_id, Account.id)))
