"""Everything a moderator reads before deciding a case, gathered in a bounded number of queries.

The person across the group (every linked account, its standing, earlier reports and
actions, fraud signals and risk), each report with the reported content in its
conversation, recordings with their transcripts, classifier scores with the words that
drove them, and, for calls, one timeline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from workbench.cases.images import CaseImages, load_images
from workbench.cases.live_calls import CallState, LiveCall, call_states
from workbench.cases.policy import DEFAULT_SEVERITY
from workbench.cases.triage import NO_TRANSCRIPT, platform_slugs
from workbench.enums import ActionStatus, TranscriptStatus
from workbench.models import (
    Account,
    Action,
    Appeal,
    Call,
    CallParticipant,
    Case,
    CaseNote,
    ClassifierScore,
    EnforcementDelivery,
    FraudSignal,
    Message,
    Moderator,
    Person,
    Recording,
    Report,
    StatementOfReasons,
    Strike,
    utcnow,
)
from workbench.models.conversations import neighbours

#: Messages shown before and after a reported one, in its conversation.
CONTEXT_MESSAGES = 5
#: Reported items whose context is loaded (a case with hundreds of reports shows the first).
MAX_CONTENT_ITEMS = 10


@dataclass
class ContentItem:
    """A reported message with the conversation around it."""

    message: Message
    before: list[Message]
    after: list[Message]
    score: ClassifierScore | None
    #: Scores by other models before ``score`` (the first opinion, when the review model
    #: gave a second: workbench.cases.review), oldest first.
    earlier: list[ClassifierScore] = field(default_factory=list)

    @property
    def explained(self) -> ClassifierScore | None:
        """The newest scores with an explanation: what the message's highlights show (a
        second opinion that flags nothing keeps the first's highlights)."""
        for score in [self.score, *reversed(self.earlier)]:
            if score is not None and score.explanation:
                return score
        return None


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # joined, left, chat, recording, segment
    text: str
    account: str | None = None
    scores: dict[str, float] | None = None
    offset_s: float | None = None


@dataclass
class CallView:
    call: Call
    platform: str
    entries: list[TimelineEntry]
    #: Where the call stands: in progress, ending after a decision, ended.
    state: LiveCall | None = None


@dataclass(frozen=True)
class Evidence:
    """One block of reported content on the case page, in the order it is shown.

    ``kind`` is ``message``, ``image``, ``recording`` or ``call``;
    ``category`` is the most severe category reported about this item, which is
    the policy reason offered first when deciding about it.
    """

    kind: str
    item_id: int
    category: str
    severity: float
    at: datetime
    index: int  # into ``items``, ``images.reported``, ``recordings`` or ``calls``


@dataclass(frozen=True)
class ReportSummary:
    """The reports as one line: how many, from how many reporters, by category."""

    reports: int
    reporters: int
    categories: list[tuple[str, int]]

    def describe(self) -> str:
        r, p = self.reports, self.reporters
        cats = ", ".join(f"{c} {n}" for c, n in self.categories)
        line = f"{r} report{'s' * (r != 1)} from {p} reporter{'s' * (p != 1)}"
        return f"{line}: {cats}" if cats else line


@dataclass
class CaseContext:
    case: Case
    person: Person
    reports: Sequence[Any]
    accounts: Sequence[Any]
    items: list[ContentItem]
    recordings: list[tuple[Recording, ClassifierScore | None]]
    calls: list[CallView]
    actions: list[Action]
    deliveries: dict[int, list[EnforcementDelivery]]
    statements: dict[int, StatementOfReasons]
    appeals: dict[int, list[Appeal]]
    signals: list[Any]
    strikes: list[Strike]
    notes: list[Any]
    earlier_reports: dict[str, int]
    earlier_cases: list[Case]
    platforms: dict[int, str]
    senders: dict[int, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    #: Reported images and the frames of the calls shown (``workbench.cases.images``).
    images: CaseImages = field(default_factory=CaseImages)

    @property
    def lead_account(self) -> Account | None:
        """The account the header names: the one the reported content came from (the most
        reported of the person's accounts in this case, the first reported on a tie), not
        merely the person's first account."""
        by_id: dict[int, Account] = {a.Account.id: a.Account for a in self.accounts}
        reported = Counter(r.Report.reported_account_id for r in self.reports
                           if r.Report.reported_account_id in by_id)
        if reported:
            return by_id[reported.most_common(1)[0][0]]  # first counted wins a tie
        return self.accounts[0].Account if self.accounts else None

    @property
    def report_summary(self) -> ReportSummary:
        by_category = Counter(r.Report.category for r in self.reports)
        reporters = {r.Report.reporter_account_id for r in self.reports
                     if r.Report.reporter_account_id}
        return ReportSummary(len(self.reports), len(reporters),
                             sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def lead_category(self) -> str:
        """The category reported about the first evidence block (the case's otherwise)."""
        return self.evidence[0].category if self.evidence else self.case.primary_category

    @property
    def top_score(self) -> tuple[str, float] | None:
        """The highest classifier score on any reported item, as (label, score)."""
        best: tuple[str, float] | None = None
        scores = [it.score for it in self.items] + [s for _r, s in self.recordings]
        for score in scores:
            for label, value in ((score.scores or {}) if score else {}).items():
                if best is None or float(value) > best[1]:
                    best = (label, float(value))
        return best

    @property
    def live_call_id(self) -> int | None:
        """The call still in progress, not yet decided to end, that a report is about."""
        for call in self.calls:
            if call.state is not None and call.state.can_end:
                return call.call.id
        return None

    @property
    def live_call(self) -> LiveCall | None:
        """Where the call this live case is about stands (None for a case that is not live)."""
        if not self.case.live:
            return None
        states = [c.state for c in self.calls if c.state is not None]
        return min(states, key=lambda s: _URGENCY.index(s.state), default=None)


#: The call a live case shows first: one to end, then one the platform has not heard of.
_URGENCY = (CallState.IN_PROGRESS, CallState.NOT_REACHED, CallState.ENDING, CallState.ENDED)


def _platforms(session: Session) -> dict[int, str]:
    return platform_slugs(session)


def load_case(session: Session, case_id: int,
              severity: Callable[[str], float] | None = None) -> CaseContext | None:
    """The whole picture of one case, or None if there is no such case.

    ``severity`` ranks categories (``CasePolicy.severity_of``); the most severe reported
    item comes first in ``evidence`` and its content is loaded first.
    """
    if severity is None:
        severity = lambda c: DEFAULT_SEVERITY.get(c, 1.0)  # noqa: E731
    case = session.get(Case, case_id)
    if case is None:
        return None
    person = session.get_one(Person, case.person_id)
    platforms = _platforms(session)
    reporter, reported = aliased(Account), aliased(Account)
    reports = session.execute(
        select(Report, reporter.platform_user_id.label("reporter_uid"),
               reporter.username.label("reporter_name"),
               reported.platform_user_id.label("reported_uid"),
               reported.username.label("reported_name"))
        .outerjoin(reporter, reporter.id == Report.reporter_account_id)
        .join(reported, reported.id == Report.reported_account_id)
        .where(Report.case_id == case.id).order_by(Report.created_at, Report.id)
    ).all()
    accounts = session.execute(
        select(Account, func.count(FraudSignal.id).label("signals"))
        .outerjoin(FraudSignal, FraudSignal.account_id == Account.id)
        .where(Account.person_id == person.id)
        .group_by(Account.id).order_by(Account.platform_id, Account.id)).all()
    account_ids = [a.Account.id for a in accounts]
    worst = _worst_categories(reports, severity)
    message_ids = sorted({r.Report.message_id for r in reports if r.Report.message_id},
                         key=lambda i: -severity(worst[("message", i)]))
    recording_ids = [r.Report.recording_id for r in reports if r.Report.recording_id]
    call_ids = sorted({r.Report.call_id for r in reports if r.Report.call_id})
    items = _content_items(session, message_ids[:MAX_CONTENT_ITEMS])
    recordings = _recordings(session, recording_ids, call_ids)
    # A reported call recording brings its whole call's timeline with it.
    call_ids = sorted(set(call_ids) | {r.call_id for r, _ in recordings if r.call_id})
    actions = list(session.scalars(select(Action).where(Action.person_id == person.id)
                                   .order_by(Action.created_at.desc(), Action.id.desc())))
    action_ids = [a.id for a in actions]
    ctx = CaseContext(
        case=case, person=person, reports=reports, accounts=accounts, items=items,
        recordings=recordings,
        calls=_calls(session, call_ids, platforms, recordings),
        actions=actions,
        deliveries=_by(session.scalars(select(EnforcementDelivery).where(or_(
            EnforcementDelivery.action_id.in_(action_ids),
            EnforcementDelivery.case_id == case.id)).order_by(EnforcementDelivery.id)),
            lambda d: d.action_id or 0),
        statements={s.action_id: s for s in session.scalars(
            select(StatementOfReasons).where(StatementOfReasons.action_id.in_(action_ids)))},
        appeals=_by(session.scalars(select(Appeal).where(Appeal.action_id.in_(action_ids))
                                    .order_by(Appeal.id)), lambda a: a.action_id),
        signals=list(session.execute(
            select(FraudSignal, Account.platform_id, Account.platform_user_id)
            .join(Account, Account.id == FraudSignal.account_id)
            .where(FraudSignal.account_id.in_(account_ids))
            .order_by(FraudSignal.created_at.desc()).limit(50)).all()),
        strikes=list(session.scalars(select(Strike).where(Strike.person_id == person.id)
                                     .order_by(Strike.created_at.desc()))),
        notes=list(session.execute(
            select(CaseNote, Moderator.display_name, Moderator.email)
            .outerjoin(Moderator, Moderator.id == CaseNote.moderator_id)
            .where(CaseNote.case_id == case.id).order_by(CaseNote.created_at)).all()),
        earlier_reports=dict(Counter(dict(session.execute(
            select(Report.category, func.count(Report.id))
            .where(Report.reported_account_id.in_(account_ids),
                   or_(Report.case_id.is_(None), Report.case_id != case.id))
            .group_by(Report.category)).all()))),
        earlier_cases=list(session.scalars(
            select(Case).where(Case.person_id == person.id, Case.id != case.id)
            .order_by(Case.created_at.desc()).limit(20))),
        platforms=platforms,
    )
    senders = {m.sender_account_id for it in items for m in (it.before + [it.message] + it.after)}
    ctx.images = load_images(session, [r.Report for r in reports], call_ids, platforms,
                             severity)
    ctx.evidence = _evidence(ctx, worst, severity)
    states = call_states(session, [c.call.id for c in ctx.calls])
    for view in ctx.calls:
        view.state = states.get(view.call.id)
    ctx.senders = dict(session.execute(
        select(Account.id, func.coalesce(Account.username, Account.platform_user_id))
        .where(Account.id.in_(senders))).all())
    return ctx


def _worst_categories(reports: Sequence[Any],
                      severity: Callable[[str], float]) -> dict[tuple[str, int], str]:
    """For each reported item, keyed (kind, id), the most severe category reported."""
    out: dict[tuple[str, int], str] = {}
    for row in reports:
        r = row.Report
        for kind, item_id in (("message", r.message_id), ("recording", r.recording_id),
                              ("call", r.call_id)):
            if item_id is None:
                continue
            seen = out.get((kind, item_id))
            if seen is None or severity(r.category) > severity(seen):
                out[(kind, item_id)] = r.category
    return out


def _evidence(ctx: CaseContext, worst: dict[tuple[str, int], str],
              severity: Callable[[str], float]) -> list[Evidence]:
    """Every block of reported content, the most severe first, then the earliest."""
    out: list[Evidence] = []
    recording_category: dict[int, str] = {}
    for i, item in enumerate(ctx.items):
        cat = worst.get(("message", item.message.id), ctx.case.primary_category)
        out.append(Evidence("message", item.message.id, cat, severity(cat),
                            item.message.sent_at, i))
    for i, (rec, _score) in enumerate(ctx.recordings):
        cat = worst.get(("recording", rec.id)) or worst.get(("call", rec.call_id or 0)) \
            or ctx.case.primary_category
        if rec.call_id:
            recording_category[rec.call_id] = cat
        out.append(Evidence("recording", rec.id, cat, severity(cat), rec.recorded_at, i))
    for i, cv in enumerate(ctx.calls):
        cat = worst.get(("call", cv.call.id)) or recording_category.get(cv.call.id) \
            or ctx.case.primary_category
        out.append(Evidence("call", cv.call.id, cat, severity(cat),
                            cv.call.started_at or ctx.case.created_at, i))
    for i, view in enumerate(ctx.images.reported):
        cat = view.category or ctx.case.primary_category
        out.append(Evidence("image", view.image.id, cat, severity(cat),
                            view.image.captured_at, i))
    order = {"message": 0, "image": 1, "recording": 2, "call": 3}
    out.sort(key=lambda e: (-e.severity, order.get(e.kind, 3), e.at))
    return out


def _by(rows: Any, key: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def _scores(session: Session, content_type: str, ids: list[int]) -> dict[int, ClassifierScore]:
    # The newest model's scores win.
    return {content_id: history[-1]
            for content_id, history in _score_history(session, content_type, ids).items()}


def _score_history(session: Session, content_type: str,
                   ids: list[int]) -> dict[int, list[ClassifierScore]]:
    """Every model's scores of each item, oldest first."""
    if not ids:
        return {}
    out: dict[int, list[ClassifierScore]] = {}
    for score in session.scalars(
            select(ClassifierScore).where(ClassifierScore.content_type == content_type,
                                          ClassifierScore.content_id.in_(ids))
            .order_by(ClassifierScore.id)):
        out.setdefault(score.content_id, []).append(score)
    return out


def _content_items(session: Session, message_ids: list[int]) -> list[ContentItem]:
    if not message_ids:
        return []
    # Two round trips whatever the number of reported messages: the neighbours' ids of
    # every one, then all the messages shown.
    around = neighbours(session, message_ids, CONTEXT_MESSAGES)
    shown = set(message_ids).union(*around.values())
    messages = {m.id: m for m in session.scalars(select(Message).where(
        Message.id.in_(shown)))}
    history = _score_history(session, "message", [i for i in message_ids if i in messages])
    items = []
    for message_id in dict.fromkeys(message_ids):
        m = messages.get(message_id)
        if m is None:
            continue
        context = sorted((messages[i] for i in around[message_id] if i in messages),
                         key=lambda c: (c.sent_at, c.id))
        before = [c for c in context if (c.sent_at, c.id) < (m.sent_at, m.id)]
        after = [c for c in context if (c.sent_at, c.id) > (m.sent_at, m.id)]
        scores = history.get(m.id, [])
        items.append(ContentItem(m, before, after, scores[-1] if scores else None,
                                 scores[:-1]))
    return items


def _recordings(session: Session, recording_ids: list[int],
                call_ids: list[int]) -> list[tuple[Recording, ClassifierScore | None]]:
    conditions = []
    if recording_ids:
        conditions.append(Recording.id.in_(recording_ids))
    if call_ids:
        conditions.append(Recording.call_id.in_(call_ids))
    if not conditions:
        return []
    recordings = list(session.scalars(select(Recording).where(or_(*conditions))
                                      .order_by(Recording.recorded_at, Recording.id)))
    scores = _scores(session, "recording", [r.id for r in recordings])
    return [(r, scores.get(r.id)) for r in recordings]


def _calls(session: Session, call_ids: list[int], platforms: dict[int, str],
           recordings: list[tuple[Recording, ClassifierScore | None]]) -> list[CallView]:
    """Each reported call as one timeline: joins and leaves, chat, recorded speech."""
    out = []
    for call in session.scalars(select(Call).where(Call.id.in_(call_ids)).order_by(Call.id)):
        names = dict(session.execute(
            select(Account.id, func.coalesce(Account.username, Account.platform_user_id))
            .join(CallParticipant, CallParticipant.account_id == Account.id)
            .where(CallParticipant.call_id == call.id)).all())
        entries: list[TimelineEntry] = []
        for p in call.participants:
            if p.joined_at:
                entries.append(TimelineEntry(p.joined_at, "joined", "joined the call",
                                             names.get(p.account_id)))
            if p.left_at:
                entries.append(TimelineEntry(p.left_at, "left", "left the call",
                                             names.get(p.account_id)))
        start = call.started_at or min((e.at for e in entries), default=None)
        if start is not None and names:
            end = call.ended_at or utcnow()
            for m in session.scalars(
                    select(Message).where(Message.sender_account_id.in_(list(names)),
                                          Message.recipient_account_id.in_(list(names)),
                                          Message.sent_at >= start, Message.sent_at <= end)
                    .order_by(Message.sent_at).limit(200)):
                entries.append(TimelineEntry(m.sent_at, "chat", m.text,
                                             names.get(m.sender_account_id)))
        for recording, _score in recordings:
            if recording.call_id != call.id:
                continue
            heard = recording.transcript_status != TranscriptStatus.NO_TRANSCRIPT_LANGUAGE
            for seg in recording.segments:
                scores = (seg.scores or {}).get("scores") or {}
                entries.append(TimelineEntry(
                    recording.recorded_at + timedelta(seconds=seg.start_s), "speech",
                    (seg.transcript or "") if heard else NO_TRANSCRIPT,
                    names.get(recording.owner_account_id),
                    scores={k: float(v) for k, v in scores.items()}, offset_s=seg.start_s))
        entries.sort(key=lambda e: e.at)
        out.append(CallView(call, platforms.get(call.platform_id, "?"), entries))
    return out


def in_force(actions: list[Action]) -> list[Action]:
    """The person's actions still in force now."""
    now = utcnow()
    return [a for a in actions if a.status == ActionStatus.ACTIVE.value
            and (a.ends_at is None or a.ends_at > now)]
