"""Reports become cases: one open case per person, with a priority and a due time."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.identity import root_person_id
from workbench.enums import OPEN_CASE_STATUSES, ActionStatus, CaseStatus, ReportStatus
from workbench.models import (
    Account,
    Action,
    Call,
    Case,
    ClassifierScore,
    FraudSignal,
    Message,
    Report,
    utcnow,
)
from workbench.policy import CasePolicy

log = logging.getLogger(__name__)

#: The classifier label that speaks to each report category (others use the top label).
CATEGORY_LABEL = {"harassment": "abusive", "hate": "hate", "spam_scam": "spam_scam",
                  "violent_threat": "abusive", "sexual_content": "abusive"}
#: Restrictive actions that count as history against a person.
HISTORY_ACTIONS = ("warn", "mute", "restrict_calls", "suspend", "ban", "remove_content")


@dataclass(frozen=True)
class PriorityInputs:
    """Everything a case's priority depends on, gathered once."""

    severity: float  # the most severe category's weight, 0..10
    classifier_score: float  # the highest relevant score of the reported content, 0..1
    distinct_reporters: int
    reporter_standing: float  # mean reporter accuracy, 0..1 (0.5 when unknown)
    prior_actions: int
    fraud_signals: int
    fraud_score: float  # the mean platform score of those signals, 0..1
    live: bool


def priority(p: PriorityInputs) -> float:
    """A case's priority: higher is more urgent. The one formula, documented in the README.

    - severity of the worst category: 10 points per severity step (0-100);
    - classifier evidence: up to 30 points for the highest relevant score;
    - distinct reporters: 8 points per doubling (1 reporter: 8, 3: 16, 7: 24);
    - reporters' standing: +-10 points as their past reports were upheld or dismissed;
    - history: 6 points per earlier action (up to 4), and up to 15 for fraud signals;
    - a call still in progress: +200, above any other case, because harm is ongoing.
    """
    score = 10.0 * p.severity
    score += 30.0 * p.classifier_score
    score += 8.0 * math.log2(1 + p.distinct_reporters)
    score += 20.0 * (p.reporter_standing - 0.5)
    score += 6.0 * min(p.prior_actions, 4)
    score += 3.0 * min(p.fraud_signals, 5) * p.fraud_score
    if p.live:
        score += 200.0
    return round(score, 3)


def file_reports(session: Session, report_ids: list[int], policy: CasePolicy) -> list[int]:
    """Put pending reports into their person's open case (opening one if needed).

    Idempotent: reports already in a case are left alone. Returns the touched case ids.
    """
    reports = session.scalars(
        select(Report).where(Report.id.in_(report_ids), Report.status == ReportStatus.PENDING.value)
        .order_by(Report.id)
    ).all()
    by_person: dict[int, list[Report]] = {}
    for report in reports:
        person_id = root_person_id(session, report.reported.person_id)
        by_person.setdefault(person_id, []).append(report)
    touched = []
    now = utcnow()
    for person_id, person_reports in by_person.items():
        case = _open_case(session, person_id, person_reports[0], policy)
        for report in person_reports:
            report.case_id = case.id
            report.status = ReportStatus.CASED.value
            report.cased_at = now
        session.flush()
        rescore_case(session, case, policy)
        touched.append(case.id)
    return touched


def _open_case(session: Session, person_id: int, first: Report, policy: CasePolicy) -> Case:
    existing = session.scalars(
        select(Case).where(Case.person_id == person_id, Case.status.in_(OPEN_CASE_STATUSES))
    ).first()
    if existing is not None:
        return existing
    case = Case(
        person_id=person_id,
        status=CaseStatus.OPEN.value,
        primary_category=first.category,
        due_at=first.created_at + timedelta(hours=policy.deadline_for(first.category)),
        platform_id=first.platform_id,
    )
    try:
        with session.begin_nested():
            session.add(case)
    except IntegrityError:
        # Another worker opened this person's case a moment ago: use it.
        return session.scalars(
            select(Case).where(Case.person_id == person_id, Case.status.in_(OPEN_CASE_STATUSES))
        ).one()
    return case


def rescore_case(session: Session, case: Case, policy: CasePolicy) -> None:
    """Recompute a case's categories, priority, due time, language and queue."""
    reports = session.scalars(select(Report).where(Report.case_id == case.id)).all()
    if not reports:
        return
    categories = Counter(r.category for r in reports)
    worst = max(categories, key=lambda c: (policy.severity_of(c), categories[c]))
    live = _live(session, reports)
    language = _language(session, case.person_id, reports)
    signals, signal_score = _fraud(session, case.person_id)
    inputs = PriorityInputs(
        severity=policy.severity_of(worst),
        classifier_score=_classifier_score(session, reports),
        distinct_reporters=len({r.reporter_account_id for r in reports if r.reporter_account_id}),
        reporter_standing=_reporter_standing(session, reports),
        prior_actions=_prior_actions(session, case.person_id),
        fraud_signals=signals,
        fraud_score=signal_score,
        live=live,
    )
    case.primary_category = worst
    case.categories = dict(categories)
    case.report_count = len(reports)
    case.reporter_count = inputs.distinct_reporters
    case.priority = priority(inputs)
    case.due_at = _due(reports, policy)
    case.live = live
    case.language = language
    case.queue = policy.route(list(categories), language, live)
    session.flush()


def _due(reports: list[Report], policy: CasePolicy) -> datetime:
    return min(r.created_at + timedelta(hours=policy.deadline_for(r.category)) for r in reports)


def _live(session: Session, reports: list[Report]) -> bool:
    call_ids = [r.call_id for r in reports if r.call_in_progress and r.call_id]
    if not call_ids:
        return False
    ended = session.execute(
        select(func.count(Call.id)).where(Call.id.in_(call_ids), Call.ended_at.is_not(None))
    ).scalar_one()
    return ended < len(set(call_ids))


def _classifier_score(session: Session, reports: list[Report]) -> float:
    best = 0.0
    by_message = {r.message_id: r.category for r in reports if r.message_id}
    by_recording = {r.recording_id: r.category for r in reports if r.recording_id}
    for content_type, wanted in (("message", by_message), ("recording", by_recording)):
        if not wanted:
            continue
        rows = session.execute(
            select(ClassifierScore.content_id, ClassifierScore.scores).where(
                ClassifierScore.content_type == content_type,
                ClassifierScore.content_id.in_(list(wanted)),
            )
        ).all()
        for content_id, scores in rows:
            label = CATEGORY_LABEL.get(wanted[content_id])
            values = [float(v) for v in scores.values()] or [0.0]
            best = max(best, float(scores.get(label, max(values))) if label else max(values))
    return best


def _reporter_standing(session: Session, reports: list[Report]) -> float:
    """Mean accuracy of the reporters' earlier decided reports (Laplace-smoothed)."""
    reporters = {r.reporter_account_id for r in reports if r.reporter_account_id}
    if not reporters:
        return 0.5
    rows = session.execute(
        select(Report.reporter_account_id, Case.decision, func.count(Report.id))
        .join(Case, Case.id == Report.case_id)
        .where(Report.reporter_account_id.in_(reporters),
               Case.decision.in_(("violation", "dismissed")))
        .group_by(Report.reporter_account_id, Case.decision)
    ).all()
    upheld: Counter[int] = Counter()
    decided: Counter[int] = Counter()
    for reporter, decision, n in rows:
        decided[reporter] += n
        if decision == "violation":
            upheld[reporter] += n
    return sum((upheld[r] + 1) / (decided[r] + 2) for r in reporters) / len(reporters)


def _prior_actions(session: Session, person_id: int) -> int:
    return int(session.execute(
        select(func.count(Action.id)).where(
            Action.person_id == person_id, Action.type.in_(HISTORY_ACTIONS),
            Action.status != ActionStatus.REVERSED.value,
        )
    ).scalar_one())


def _fraud(session: Session, person_id: int) -> tuple[int, float]:
    count, mean = session.execute(
        select(func.count(FraudSignal.id), func.avg(FraudSignal.score))
        .join(Account, Account.id == FraudSignal.account_id)
        .where(Account.person_id == person_id)
    ).one()
    return int(count), (float(mean) if mean is not None else 0.5) if count else 0.0


def _language(session: Session, person_id: int, reports: list[Report]) -> str | None:
    message_ids = [r.message_id for r in reports if r.message_id]
    if message_ids:
        langs = session.scalars(
            select(Message.language).where(Message.id.in_(message_ids),
                                           Message.language.is_not(None))
        ).all()
        if langs:
            return Counter(langs).most_common(1)[0][0]
    for languages in session.scalars(
        select(Account.languages).where(Account.person_id == person_id)
    ):
        if languages:
            return str(languages[0])
    return None
