"""Reporters: how often each reporter's reports are upheld, and marks on those who abuse it.

Accuracy feeds case priority (``workbench.cases.filing``: reporters' standing). A senior may
mark a reporter account as abusing reporting, with a reason; from then on its reports
add nothing to any case's priority, and a case made only of such reports sinks below
every other. Marks are audited and reversible; cleared marks stay in the history.
Reporters hear the outcome of their reports through the platform (``outcome``
deliveries, written by ``actions.decisions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.cases.filing import rescore_cases
from workbench.cases.policy import CasePolicy
from workbench.enums import OPEN_CASE_STATUSES, Role
from workbench.models import Account, Case, Platform, Report, ReporterMark, utcnow
from workbench.models.audit import record

#: Who may mark a reporter, or clear a mark.
MARKERS = {Role.SENIOR.value}
#: The longest reason kept (a form field, not an essay).
MAX_REASON = 2000


class ReporterError(ValueError):
    """The request cannot be carried out; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReporterAuthorityError(PermissionError):
    """Only seniors mark reporters or clear marks."""


@dataclass(frozen=True)
class ReporterAccuracy:
    """A reporter account's reports by what became of them."""

    account_id: int
    upheld: int = 0
    dismissed: int = 0
    #: Reports in cases not decided yet.
    pending: int = 0

    @property
    def decided(self) -> int:
        return self.upheld + self.dismissed

    @property
    def accuracy(self) -> float | None:
        """The share of decided reports upheld; ``None`` before any was decided."""
        return self.upheld / self.decided if self.decided else None


def accuracy(session: Session, account_ids: Iterable[int]) -> dict[int, ReporterAccuracy]:
    """Each reporter account's upheld, dismissed and pending reports (one query)."""
    ids = set(account_ids)
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for reporter, decision, n in session.execute(
            select(Report.reporter_account_id, Case.decision, func.count(Report.id))
            .join(Case, Case.id == Report.case_id)
            .where(Report.reporter_account_id.in_(ids))
            .group_by(Report.reporter_account_id, Case.decision)
        ).all():
            assert reporter is not None  # selected by reporter_account_id.in_(ids)
            key = {"violation": "upheld", "dismissed": "dismissed"}.get(decision or "", "pending")
            counts[reporter][key] = counts[reporter].get(key, 0) + int(n)
    return {i: ReporterAccuracy(i, **c) for i, c in counts.items()}


@dataclass(frozen=True)
class MarkView:
    id: int
    account_id: int
    reason: str
    marked_by_id: int
    marked_at: datetime
    cleared_at: datetime | None
    cleared_by_id: int | None
    clear_reason: str | None

    @classmethod
    def of(cls, mark: ReporterMark) -> MarkView:
        return cls(mark.id, mark.account_id, mark.reason, mark.marked_by_id, mark.created_at,
                   mark.cleared_at, mark.cleared_by_id, mark.clear_reason)


@dataclass(frozen=True)
class ReporterProfile:
    """What the console shows about a reporter account."""

    account_id: int
    platform: str
    platform_user_id: str
    accuracy: ReporterAccuracy
    #: The mark in force, if any.
    mark: MarkView | None
    #: Every mark, newest first (cleared ones included).
    history: list[MarkView]


def reporter_profile(session: Session, account_id: int) -> ReporterProfile:
    """The reporter's accuracy and marks."""
    row = session.execute(
        select(Account.id, Platform.slug, Account.platform_user_id)
        .join(Platform, Platform.id == Account.platform_id).where(Account.id == account_id)
    ).first()
    if row is None:
        raise ReporterError(f"no account {account_id}", "account_id")
    history = [MarkView.of(m) for m in session.scalars(
        select(ReporterMark).where(ReporterMark.account_id == account_id)
        .order_by(ReporterMark.created_at.desc(), ReporterMark.id.desc()))]
    current = next((m for m in history if m.cleared_at is None), None)
    return ReporterProfile(row.id, row.slug, row.platform_user_id,
                           accuracy(session, [account_id])[account_id], current, history)


def marked_reporters(session: Session, account_ids: Iterable[int] | None = None) -> set[int]:
    """The accounts (of ``account_ids``, or all) marked as abusing reporting now."""
    query = select(ReporterMark.account_id).where(ReporterMark.cleared_at.is_(None))
    if account_ids is not None:
        query = query.where(ReporterMark.account_id.in_(set(account_ids)))
    return set(session.scalars(query))


def _check(role: str, reason: str) -> str:
    if role not in MARKERS:
        raise ReporterAuthorityError("only a senior moderator may mark reporters")
    reason = reason.strip()
    if not reason:
        raise ReporterError("say why", "reason")
    if len(reason) > MAX_REASON:
        raise ReporterError(f"the reason is over {MAX_REASON} characters", "reason")
    return reason


def _rescore_open_cases(session: Session, account_id: int, policy: CasePolicy) -> list[int]:
    """Re-score the open cases this reporter's reports are in, so the change shows at once."""
    session.flush()
    case_ids = sorted({case_id for case_id in session.scalars(
        select(Report.case_id).join(Case, Case.id == Report.case_id)
        .where(Report.reporter_account_id == account_id,
               Case.status.in_(OPEN_CASE_STATUSES))) if case_id is not None})
    rescore_cases(session, case_ids, policy)
    return case_ids


def mark_reporter(session: Session, account_id: int, *, moderator_id: int, role: str,
                  reason: str, policy: CasePolicy) -> ReporterMark:
    """Mark a reporter account as abusing reporting; its open cases are re-scored.

    Raises:
        ReporterAuthorityError: the role is not senior.
        ReporterError: no such account, no reason, or already marked.
    """
    reason = _check(role, reason)
    if session.get(Account, account_id) is None:
        raise ReporterError(f"no account {account_id}", "account_id")
    if marked_reporters(session, [account_id]):
        raise ReporterError("this reporter is already marked", "account_id")
    mark = ReporterMark(account_id=account_id, reason=reason, marked_by_id=moderator_id)
    session.add(mark)
    session.flush()
    cases = _rescore_open_cases(session, account_id, policy)
    record(session, "reporter.marked", "account", account_id, actor_type="moderator",
           actor_id=str(moderator_id), data={"mark_id": mark.id, "reason": reason,
                                             "rescored_case_ids": cases})
    return mark


def unmark_reporter(session: Session, account_id: int, *, moderator_id: int, role: str,
                    reason: str, policy: CasePolicy) -> ReporterMark:
    """Clear the mark in force (kept in the history); its open cases are re-scored."""
    reason = _check(role, reason)
    mark = session.scalars(select(ReporterMark).where(
        ReporterMark.account_id == account_id, ReporterMark.cleared_at.is_(None))).first()
    if mark is None:
        raise ReporterError("this reporter is not marked", "account_id")
    mark.cleared_at = utcnow()
    mark.cleared_by_id = moderator_id
    mark.clear_reason = reason
    cases = _rescore_open_cases(session, account_id, policy)
    record(session, "reporter.unmarked", "account", account_id, actor_type="moderator",
           actor_id=str(moderator_id), data={"mark_id": mark.id, "reason": reason,
                                             "rescored_case_ids": cases})
    return mark


def current_marks(session: Session, *, limit: int = 50,
                  before_id: int | None = None) -> list[MarkView]:
    """Marks in force, newest first, a page at a time (keyset on the mark id)."""
    query = select(ReporterMark).where(ReporterMark.cleared_at.is_(None))
    if before_id is not None:
        query = query.where(ReporterMark.id < before_id)
    return [MarkView.of(m) for m in session.scalars(
        query.order_by(ReporterMark.id.desc()).limit(max(1, min(limit, 200))))]
