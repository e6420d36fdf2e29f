"""Reports become cases: one open case per person, with a priority and a due time."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.language import weighted_language
from workbench.cases.policy import CasePolicy
from workbench.enums import OPEN_CASE_STATUSES, ActionStatus, CaseStatus, ReportStatus
from workbench.models import (
    Account,
    Action,
    Call,
    Case,
    ClassifierScore,
    FraudSignal,
    Message,
    Person,
    Report,
    ReporterMark,
    utcnow,
)
from workbench.models.reports import OPEN_CASE_PREDICATE
from workbench.upserts import insert_new, one_of, update_by_id

log = logging.getLogger(__name__)

#: The classifier label that speaks to each report category (others use the top label).
CATEGORY_LABEL = {"harassment": "abusive", "hate": "hate", "spam_scam": "spam_scam",
                  "violent_threat": "abusive", "sexual_content": "abusive",
                  "extortion": "extortion"}
#: The partial unique index's predicate, literally (a bound IN cannot be batched).
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
    # Every report came from reporters marked as abusing reporting: the case sinks.
    marked_only: bool = False


def priority(p: PriorityInputs) -> float:
    """A case's priority: higher is more urgent. The one formula, documented in docs/console.md.

    - severity of the worst category: 10 points per severity step (0-100);
    - classifier evidence: up to 30 points for the highest relevant score;
    - distinct reporters: 8 points per doubling (1 reporter: 8, 3: 16, 7: 24);
    - reporters' standing: +-10 points as their past reports were upheld or dismissed;
    - history: 6 points per earlier action (up to 4), and up to 15 for fraud signals;
    - a call still in progress: +200, above any other case, because harm is ongoing;
    - only reports from reporters marked as abusing reporting: -1000, below every other
      case (reports from marked reporters count for nothing in the parts above).
    """
    score = 10.0 * p.severity
    score += 30.0 * p.classifier_score
    score += 8.0 * math.log2(1 + p.distinct_reporters)
    score += 20.0 * (p.reporter_standing - 0.5)
    score += 6.0 * min(p.prior_actions, 4)
    score += 3.0 * min(p.fraud_signals, 5) * p.fraud_score
    if p.live:
        score += 200.0
    if p.marked_only:
        score -= 1000.0
    return round(score, 3)


def file_reports(session: Session, report_ids: list[int], policy: CasePolicy) -> list[int]:
    """Put pending reports into their person's open case (opening one if needed).

    Works a batch at a time, in a fixed number of queries whatever the batch size.
    Idempotent: reports already in a case are left alone. Returns the touched case ids.
    """
    rows = session.execute(
        select(Report.id, Report.platform_id, Report.category, Report.created_at,
               Account.person_id)
        .join(Account, Account.id == Report.reported_account_id)
        .where(one_of(session, Report.id, report_ids),
               Report.status == ReportStatus.PENDING.value)
        .order_by(Report.id)
    ).all()
    if not rows:
        return []
    roots = root_person_ids(session, {r.person_id for r in rows})
    firsts: dict[int, Any] = {}
    for r in rows:
        firsts.setdefault(roots[r.person_id], r)
    cases = _open_cases(session, firsts, policy)
    now = utcnow()
    update_by_id(session, Report, [
        {"id": r.id, "case_id": cases[roots[r.person_id]], "status": ReportStatus.CASED.value,
         "cased_at": now} for r in rows])
    touched = sorted(set(cases.values()))
    rescore_cases(session, touched, policy)
    return touched


def root_person_ids(session: Session, person_ids: set[int]) -> dict[int, int]:
    """Each person id mapped to the person it was merged into (itself if never merged)."""
    roots = {p: p for p in person_ids}
    pending = set(person_ids)
    for _ in range(16):  # merge chains are short; this bounds a corrupted one
        merged = {person: into for person, into in session.execute(
            select(Person.id, Person.merged_into_id)
            .where(one_of(session, Person.id, list(pending)), Person.merged_into_id.is_not(None))
        ).all() if into is not None}
        if not merged:
            break
        for original, current in roots.items():
            if current in merged:
                roots[original] = merged[current]
        pending = set(merged.values())
    return roots


def _open_cases(session: Session, firsts: dict[int, Any], policy: CasePolicy) -> dict[int, int]:
    """The open case id of each person, opening the missing ones in one statement."""
    open_cases = _open_case_ids(session, list(firsts))
    # In person order: two jobs opening cases for the same people insert them in the same
    # order, so one waits for the other instead of each waiting for the other (a deadlock).
    missing = sorted(p for p in firsts if p not in open_cases)
    if missing:
        now = utcnow()
        opened = insert_new(
            session, Case,
            [{"person_id": p, "status": CaseStatus.OPEN.value, "queue": "general",
              "priority": 0.0, "primary_category": firsts[p].category,
              "due_at": firsts[p].created_at
              + timedelta(hours=policy.deadline_for(firsts[p].category)),
              "platform_id": firsts[p].platform_id, "report_count": 0, "reporter_count": 0,
              "live": False, "created_at": now, "updated_at": now} for p in missing],
            ["person_id"], [Case.person_id, Case.id],
            # Another worker may open a person's case at the same moment: the partial
            # unique index decides, and both then use the one that exists.
            index_where=OPEN_CASE_PREDICATE,
        )
        # A case this transaction inserted is locked by it until it ends; only those
        # another worker opened first are looked up (and locked) again.
        open_cases.update({person: case for person, case in opened})
        raced = [p for p in missing if p not in open_cases]
        if raced:
            open_cases.update(_open_case_ids(session, raced))
    return open_cases


def _open_case_ids(session: Session, person_ids: list[int]) -> dict[int, int]:
    """Each person's open case, locked until the transaction ends (in id order).

    A case being decided meanwhile holds the same lock: filing waits for the decision,
    then finds the case closed and opens a new one, instead of slipping a report into a
    case whose decision (and the reporters' outcome) never saw it.
    """
    return dict(session.execute(
        select(Case.person_id, Case.id)
        .where(one_of(session, Case.person_id, person_ids),
               Case.status.in_(OPEN_CASE_STATUSES))
        .order_by(Case.id).with_for_update(key_share=True)
    ).all())


def rescore_cases(session: Session, case_ids: list[int], policy: CasePolicy) -> None:
    """Recompute categories, priority, due time, language and queue of these cases."""
    if not case_ids:
        return
    facts = CaseFacts.gather(session, case_ids)
    updates = []
    for case_id in case_ids:
        reports = facts.reports.get(case_id, [])
        if not reports:
            continue
        person_id = facts.person[case_id]
        categories = Counter(r.category for r in reports)
        worst = max(categories, key=lambda c: (policy.severity_of(c), categories[c]))
        reporters = {r.reporter_account_id for r in reports if r.reporter_account_id}
        # A marked reporter's reports add nothing; a case of nothing else sinks.
        marked_only = all(r.reporter_account_id in facts.marked for r in reports)
        counted = [r for r in reports if r.reporter_account_id not in facts.marked] or reports
        heard = reporters - facts.marked
        live = any(r.call_in_progress and r.call_id in facts.calls_in_progress for r in reports)
        language = facts.language(reports, person_id, policy.languages)
        signals, signal_score = facts.fraud.get(person_id, (0, 0.0))
        inputs = PriorityInputs(
            severity=max(policy.severity_of(r.category) for r in counted),
            classifier_score=facts.classifier_score(counted),
            distinct_reporters=len(heard),
            reporter_standing=facts.reporter_standing(heard),
            prior_actions=facts.prior_actions.get(person_id, 0),
            fraud_signals=signals,
            fraud_score=signal_score,
            live=live,
            marked_only=marked_only,
        )
        updates.append({
            "id": case_id,
            "primary_category": worst,
            "categories": dict(categories),
            "report_count": len(reports),
            "reporter_count": len(reporters),
            "priority": priority(inputs),
            "due_at": min(r.created_at + timedelta(hours=policy.deadline_for(r.category))
                          for r in reports),
            "live": live,
            "language": language,
            "queue": policy.route(list(categories), language, live),
            "updated_at": utcnow(),
        })
    update_by_id(session, Case, updates)


@dataclass
class CaseFacts:
    """What priority needs to know about a set of cases, read in a handful of queries."""

    person: dict[int, int]
    reports: dict[int, list[Any]]
    scores: dict[tuple[str, int], dict[str, float]]
    standing: dict[int, tuple[int, int]]
    prior_actions: dict[int, int]
    fraud: dict[int, tuple[int, float]]
    calls_in_progress: set[int]
    message_language: dict[int, tuple[str, int]]  # language and length of the text
    person_language: dict[int, str]
    marked: set[int]

    @classmethod
    def gather(cls, session: Session, case_ids: list[int]) -> CaseFacts:
        person = dict(session.execute(
            select(Case.id, Case.person_id).where(one_of(session, Case.id, case_ids))).all())
        reports: dict[int, list[Any]] = {}
        for r in session.execute(
            select(Report.case_id, Report.category, Report.created_at,
                   Report.reporter_account_id, Report.message_id, Report.recording_id,
                   Report.call_id, Report.call_in_progress)
            .where(one_of(session, Report.case_id, case_ids))
        ).all():
            reports.setdefault(r.case_id, []).append(r)
        all_reports = [r for rs in reports.values() for r in rs]
        people = list(set(person.values()))
        return cls(
            person=person,
            reports=reports,
            scores=_scores(session, all_reports),
            standing=_standing(session, {r.reporter_account_id for r in all_reports
                                         if r.reporter_account_id}),
            prior_actions=dict(session.execute(
                select(Action.person_id, func.count(Action.id))
                .where(one_of(session, Action.person_id, people),
                       Action.type.in_(HISTORY_ACTIONS),
                       Action.status != ActionStatus.REVERSED.value)
                .group_by(Action.person_id)).all()),
            fraud={p: (int(n), float(avg) if avg is not None else 0.5)
                   for p, n, avg in session.execute(
                       select(Account.person_id, func.count(FraudSignal.id),
                              func.avg(FraudSignal.score))
                       .join(Account, Account.id == FraudSignal.account_id)
                       .where(one_of(session, Account.person_id, people))
                       .group_by(Account.person_id)).all()},
            calls_in_progress=_calls_in_progress(session, {
                r.call_id for r in all_reports if r.call_id and r.call_in_progress}),
            message_language=_message_language(session, {
                r.message_id for r in all_reports if r.message_id}),
            person_language={p: str(langs[0]) for p, langs in session.execute(
                select(Account.person_id, Account.languages)
                .where(one_of(session, Account.person_id, people))
                .order_by(Account.id)).all() if langs},
            marked=_marked(session, {
                r.reporter_account_id for r in all_reports if r.reporter_account_id}),
        )

    def classifier_score(self, reports: list[Any]) -> float:
        best = 0.0
        for r in reports:
            for key in (("message", r.message_id), ("recording", r.recording_id)):
                scores = self.scores.get(key)
                if not scores:
                    continue
                label = CATEGORY_LABEL.get(r.category)
                values = [float(v) for v in scores.values()] or [0.0]
                value = float(scores[label]) if label in scores else max(values)
                best = max(best, value)
        return best

    def reporter_standing(self, reporters: set[int]) -> float:
        """Mean accuracy of the reporters' earlier decided reports (Laplace-smoothed)."""
        if not reporters:
            return 0.5
        total = 0.0
        for reporter in reporters:
            upheld, decided = self.standing.get(reporter, (0, 0))
            total += (upheld + 1) / (decided + 2)
        return total / len(reporters)

    def language(self, reports: list[Any], person_id: int,
                 allowed: tuple[str, ...]) -> str | None:
        """The reported messages' language, each weighted by its length (one report of a
        message counts once); the person's own language when no message says, if it is
        one of ``allowed``."""

        messages = {r.message_id for r in reports if r.message_id in self.message_language
                    and self.message_language[r.message_id][0] in allowed}
        found = weighted_language(self.message_language[m] for m in sorted(messages))
        if found:
            return found
        own = self.person_language.get(person_id)
        return own if own in allowed else None


# The lookups below ask nothing when they have nothing to ask about: for a report that
# names no message or call, sent alone as a platform may, two statements fewer a job.


def _calls_in_progress(session: Session, call_ids: set[int]) -> set[int]:
    if not call_ids:
        return set()
    return set(session.scalars(select(Call.id).where(
        one_of(session, Call.id, sorted(call_ids)), Call.ended_at.is_(None))))


def _message_language(session: Session, message_ids: set[int]) -> dict[int, tuple[str, int]]:
    if not message_ids:
        return {}
    return {m: (lang, int(length or 0)) for m, lang, length in session.execute(
        select(Message.id, Message.language, func.length(Message.text))
        .where(one_of(session, Message.id, sorted(message_ids)),
               Message.language.is_not(None))).all()}


def _marked(session: Session, reporters: set[int]) -> set[int]:
    if not reporters:
        return set()
    return set(session.scalars(select(ReporterMark.account_id).where(
        one_of(session, ReporterMark.account_id, sorted(reporters)),
        ReporterMark.cleared_at.is_(None))))


def _scores(session: Session, reports: list[Any]) -> dict[tuple[str, int], dict[str, float]]:
    out: dict[tuple[str, int], dict[str, float]] = {}
    for content_type, ids in (("message", {r.message_id for r in reports if r.message_id}),
                              ("recording", {r.recording_id for r in reports if r.recording_id})):
        if not ids:
            continue
        for content_id, scores in session.execute(
            select(ClassifierScore.content_id, ClassifierScore.scores)
            .where(ClassifierScore.content_type == content_type,
                   one_of(session, ClassifierScore.content_id, sorted(ids)))
            .order_by(ClassifierScore.id)
        ).all():
            # A second opinion (workbench.cases.review) may raise a label, never lower it:
            # each label's highest score over the models that scored the item.
            seen = out.setdefault((content_type, content_id), {})
            for label, value in (scores or {}).items():
                seen[label] = max(float(value), seen.get(label, 0.0))
    return out


def _standing(session: Session, reporters: set[int]) -> dict[int, tuple[int, int]]:
    if not reporters:
        return {}
    out: dict[int, tuple[int, int]] = {}
    for reporter, decision, n in session.execute(
        select(Report.reporter_account_id, Case.decision, func.count(Report.id))
        .join(Case, Case.id == Report.case_id)
        .where(one_of(session, Report.reporter_account_id, sorted(reporters)),
               Case.decision.in_(("violation", "dismissed")))
        .group_by(Report.reporter_account_id, Case.decision)
    ).all():
        assert reporter is not None  # selected by reporter_account_id in reporters
        upheld, decided = out.get(reporter, (0, 0))
        out[reporter] = (upheld + (n if decision == "violation" else 0), decided + n)
    return out
