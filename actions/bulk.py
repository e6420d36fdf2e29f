"""Bulk decisions: a senior applies one decision to many cases (a spam wave), and may undo it.

Each case is decided through ``actions.decisions.decide_case`` in its own savepoint, so
one case that cannot be decided (already closed, claimed by someone else) is reported
and the others still go through. A ``BulkOperation`` keeps one row per case with what
was done (action, strike-threshold action, strike, deliveries), which is exactly what
``undo_bulk`` reverses within a short window: every action lifted everywhere (lifting
deliveries go out), strikes removed, cases reopened.

Callers commit, then enqueue the returned ``delivery_ids``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from actions.decisions import Decision, DecisionError, decide_case
from actions.enforcement import ActionError, ActionRequest, AuthorityError, reverse_action
from actions.ladder import check_stacking
from actions.strikes import StepStatus
from workbench.enums import (
    OPEN_CASE_STATUSES,
    ActionStatus,
    ActionType,
    CaseStatus,
    Category,
    DeliveryEvent,
    Role,
)
from workbench.models import (
    Action,
    BulkOperation,
    BulkOperationItem,
    Case,
    CaseNote,
    EnforcementDelivery,
    Report,
    Strike,
    utcnow,
)
from workbench.models.audit import record
from workbench.rules.strikes import StrikePolicy

log = logging.getLogger(__name__)

#: Who may decide in bulk (checked here, on the server, whatever the page offered).
DECIDERS = {Role.SENIOR.value}
#: The most cases one bulk decision may take: a wave, not the whole queue.
MAX_CASES = 500
#: How long after a bulk decision it may be undone (``WORKBENCH_BULK_UNDO_MINUTES``).
DEFAULT_UNDO_WINDOW = timedelta(minutes=10)
#: Actions a bulk decision may take: lasting actions on the person, each of which undo
#: can lift again (a warning cannot be unsent; content removal needs one item per case).
BULK_ACTIONS = {ActionType.MUTE, ActionType.RESTRICT_CALLS, ActionType.SUSPEND, ActionType.BAN}
#: The policy reason of the lifting actions undo applies.
UNDO_REASON = "bulk decision undone"


class BulkError(ValueError):
    """The bulk request cannot be carried out; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BulkAuthorityError(PermissionError):
    """Only seniors decide in bulk or undo."""


@dataclass(frozen=True)
class ActionTemplate:
    """The action to apply to each case's person."""

    type: ActionType
    policy_reason: str
    duration: timedelta | None = None
    facts: str | None = None
    note_to_user: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type.value, "policy_reason": self.policy_reason,
                "days": self.duration / timedelta(days=1) if self.duration else None,
                "facts": self.facts, "note_to_user": self.note_to_user}

    def request(self, case: Case, moderator_id: int, category: str | None) -> ActionRequest:
        return ActionRequest(
            type=self.type, person_id=case.person_id, policy_reason=self.policy_reason,
            decided_by_id=moderator_id, case_id=case.id, duration=self.duration,
            category=category or case.primary_category,
            facts=self.facts or f"Case {case.id}, decided with others in bulk",
            note_to_user=self.note_to_user)


@dataclass
class BulkItemResult:
    """What happened to one case: decided (with what), or why not."""

    case_id: int
    decided: bool
    error: str | None = None
    action_id: int | None = None
    step_action_id: int | None = None
    strike_id: int | None = None
    delivery_ids: list[int] = field(default_factory=list)


@dataclass
class BulkResult:
    bulk_id: int
    items: list[BulkItemResult]
    #: Deliveries of every decided case, to enqueue after commit.
    delivery_ids: list[int]

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.decided)

    @property
    def failed(self) -> list[BulkItemResult]:
        return [i for i in self.items if not i.decided]


def _check_role(role: str) -> None:
    if role not in DECIDERS:
        raise BulkAuthorityError("bulk decisions are for senior moderators")


def _check_request(case_ids: list[int], decision: Decision, template: ActionTemplate | None,
                   reason: str) -> list[int]:
    ids = list(dict.fromkeys(case_ids))  # the order given, each case once
    if not ids:
        raise BulkError("select at least one case", "case_ids")
    if len(ids) > MAX_CASES:
        raise BulkError(f"at most {MAX_CASES} cases at once", "case_ids")
    if not reason.strip():
        raise BulkError("say why these cases are decided together", "reason")
    if template is not None:
        if decision is Decision.DISMISSED:
            raise BulkError("a dismissal takes no action", "action_template")
        if template.type not in BULK_ACTIONS:
            raise BulkError(f"a bulk decision cannot {template.type.value.replace('_', ' ')}",
                            "action_template")
    return ids


def bulk_decide(session: Session, case_ids: list[int], *, moderator_id: int, role: str,
                decision: Decision, action_template: ActionTemplate | None, reason: str,
                category: str | None = None,
                strikes: StrikePolicy | None = None, stack: bool = False) -> BulkResult:
    """Decide every case the same way; a case that cannot be decided is reported, not fatal.

    A case whose person already has an action of the template's kind in force is refused
    (``actions.ladder.check_stacking``) unless ``stack`` says to add another on top.

    Raises:
        BulkAuthorityError: the role is not senior.
        BulkError: nothing selected, too many cases, an unknown case, no reason, or a
            template that does not fit (an action on a dismissal, one undo could not lift).
    """
    _check_role(role)
    ids = _check_request(case_ids, decision, action_template, reason)
    if category is None and action_template is not None \
            and action_template.policy_reason in set(Category):
        # Recorded under the reason chosen for the wave, not each case's worst category.
        category = action_template.policy_reason
    known = set(session.scalars(select(Case.id).where(Case.id.in_(ids))))
    missing = [i for i in ids if i not in known]
    if missing:
        raise BulkError(f"no case {missing[0]}", "case_ids")
    op = BulkOperation(moderator_id=moderator_id, decision=decision.value, reason=reason.strip(),
                       action_template=action_template.as_json() if action_template else None,
                       case_count=len(ids), decided_count=0)
    session.add(op)
    session.flush()  # on SQLite this opens the transaction the savepoints nest in
    items = [_decide_one(session, op, case_id, moderator_id, role, decision, action_template,
                         category, strikes, stack) for case_id in ids]
    op.decided_count = sum(1 for i in items if i.decided)
    record(session, "bulk.decided", "bulk_operation", op.id, actor_type="moderator",
           actor_id=str(moderator_id),
           data={"decision": decision.value, "template": op.action_template,
                 "reason": op.reason, "decided": [i.case_id for i in items if i.decided],
                 "failed": {str(i.case_id): i.error for i in items if not i.decided}})
    return BulkResult(op.id, items, [d for i in items for d in i.delivery_ids])


def _decide_one(session: Session, op: BulkOperation, case_id: int, moderator_id: int, role: str,
                decision: Decision, template: ActionTemplate | None, category: str | None,
                strikes: StrikePolicy | None, stack: bool = False) -> BulkItemResult:
    try:
        with session.begin_nested():
            case = session.get_one(Case, case_id)
            request = template.request(case, moderator_id, category) if template else None
            if request is not None:
                check_stacking(session, request, stack)
            out = decide_case(session, case_id, moderator_id=moderator_id, role=role,
                              decision=decision, category=category, action=request,
                              note=f"bulk {op.id}: {op.reason}", strikes=strikes)
    except (DecisionError, ActionError, AuthorityError) as exc:
        session.add(BulkOperationItem(bulk_id=op.id, case_id=case_id, outcome="failed",
                                      error=str(exc)))
        return BulkItemResult(case_id, False, str(exc))
    step = out.strike_step
    result = BulkItemResult(
        case_id, True, action_id=out.action_id, strike_id=out.strike_id,
        step_action_id=step.action_id if step and step.status is StepStatus.APPLIED else None,
        delivery_ids=list(out.delivery_ids))
    session.add(BulkOperationItem(
        bulk_id=op.id, case_id=case_id, outcome="decided", action_id=result.action_id,
        step_action_id=result.step_action_id, strike_id=result.strike_id,
        delivery_ids=result.delivery_ids))
    return result


@dataclass
class BulkUndo:
    bulk_id: int
    reopened_case_ids: list[int] = field(default_factory=list)
    lifted_action_ids: list[int] = field(default_factory=list)
    removed_strike_ids: list[int] = field(default_factory=list)
    #: Lifting deliveries, to enqueue after commit.
    delivery_ids: list[int] = field(default_factory=list)


def undo_bulk(session: Session, bulk_id: int, *, moderator_id: int, role: str,
              window: timedelta = DEFAULT_UNDO_WINDOW, now: datetime | None = None,
              rescore: Callable[[Session, list[int]], None] | None = None) -> BulkUndo:
    """Reverse everything a bulk decision did, within ``window`` of it.

    Each action it applied (and each strike-threshold action) is lifted everywhere, its
    strikes are removed and its cases reopened. Reporters were already told the outcome:
    those deliveries are detached from the case, so that the next decision's outcome
    (later in sequence) reaches them. ``rescore`` (for example ``workbench.cases.
    rescore_cases`` with the policy) is called with the reopened cases.

    Raises:
        BulkAuthorityError: the role is not senior.
        BulkError: no such bulk decision, already undone, or the window has closed.
    """
    _check_role(role)
    now = now or utcnow()
    op = session.execute(select(BulkOperation).where(BulkOperation.id == bulk_id)
                         .with_for_update()).scalar_one_or_none()
    if op is None:
        raise BulkError(f"no bulk decision {bulk_id}", "bulk_id")
    if op.undone_at is not None:
        raise BulkError(f"bulk decision {bulk_id} was already undone", "bulk_id")
    if now - op.created_at > window:
        raise BulkError(f"bulk decision {bulk_id} can no longer be undone: the "
                        f"{window / timedelta(minutes=1):g}-minute window has closed", "bulk_id")
    out = BulkUndo(bulk_id)
    for item in op.items:
        if item.outcome == "decided":
            _undo_item(session, op, item, moderator_id, now, out)
    op.undone_at = now
    op.undone_by_id = moderator_id
    if rescore is not None and out.reopened_case_ids:
        rescore(session, out.reopened_case_ids)
    record(session, "bulk.undone", "bulk_operation", op.id, actor_type="moderator",
           actor_id=str(moderator_id),
           data={"reopened_case_ids": out.reopened_case_ids,
                 "lifted_action_ids": out.lifted_action_ids,
                 "removed_strike_ids": out.removed_strike_ids})
    return out


def _undo_item(session: Session, op: BulkOperation, item: BulkOperationItem, moderator_id: int,
               now: datetime, out: BulkUndo) -> None:
    lifting: list[int] = []
    for action_id in (item.step_action_id, item.action_id):  # the later one first
        action = session.get(Action, action_id) if action_id else None
        if action is None or action.status != ActionStatus.ACTIVE.value:
            continue  # already lifted (expired, or overturned on appeal)
        lifted = reverse_action(session, action.id, policy_reason=UNDO_REASON,
                                decided_by_id=moderator_id,
                                facts=f"Bulk decision {op.id} was undone by a senior")
        out.lifted_action_ids.append(action.id)
        lifting += [d.id for d in lifted.deliveries]
    strike = session.get(Strike, item.strike_id) if item.strike_id else None
    if strike is not None and strike.removed_at is None:
        strike.removed_at = now
        out.removed_strike_ids.append(strike.id)
    _reopen(session, op, item.case_id, moderator_id)
    item.outcome = "undone"
    item.undo_delivery_ids = lifting
    out.reopened_case_ids.append(item.case_id)
    out.delivery_ids += lifting


def _reopen(session: Session, op: BulkOperation, case_id: int, moderator_id: int) -> None:
    """Open the case again; a newer open case of the person is folded into it."""
    case = session.execute(select(Case).where(Case.id == case_id)
                           .with_for_update()).scalar_one()
    # The person's one open case may have been opened by new reports meanwhile.
    newer = session.execute(select(Case).where(
        Case.person_id == case.person_id, Case.id != case.id,
        Case.status.in_(OPEN_CASE_STATUSES)).with_for_update()).scalar_one_or_none()
    if newer is not None:
        session.execute(update(Report).where(Report.case_id == newer.id)
                        .values(case_id=case.id))
        newer.status, newer.assignee_id = CaseStatus.DISMISSED.value, None
        session.add(CaseNote(case_id=newer.id, moderator_id=moderator_id,
                             text=f"Merged into case {case.id}: bulk decision {op.id} was undone"))
        session.flush()  # the open-case index allows one open case per person
        record(session, "case.merged", "case", newer.id, actor_type="moderator",
               actor_id=str(moderator_id), data={"into": case.id, "bulk_id": op.id})
    session.execute(update(EnforcementDelivery).where(
        EnforcementDelivery.case_id == case.id,
        EnforcementDelivery.event == DeliveryEvent.OUTCOME.value).values(case_id=None))
    case.status = CaseStatus.OPEN.value
    case.decision = case.decided_category = None
    case.decided_by_id = case.decided_at = None
    case.assignee_id = case.claimed_at = None
    record(session, "case.reopened", "case", case.id, actor_type="moderator",
           actor_id=str(moderator_id), data={"bulk_id": op.id})
