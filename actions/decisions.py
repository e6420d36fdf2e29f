"""Deciding a case: the action (if any), the case's outcome, the strike, and reporter feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.enforcement import (
    ActionRequest,
    AuthorityError,
    apply_action,
    check_authority,
    new_deliveries,
    write_payloads,
)
from actions.strikes import StepStatus, StrikeStep, apply_thresholds
from workbench.enums import (
    OPEN_CASE_STATUSES,
    ActionType,
    CaseStatus,
    DeliveryEvent,
    ReportSource,
    Role,
)
from workbench.models import Case, Report, Strike, utcnow
from workbench.models.audit import record
from workbench.models.reports import OPEN_CASE_PREDICATE
from workbench.rules.strikes import DEFAULT_POLICY, STRIKE_LIFETIME, StrikePolicy
from workbench.upserts import insert_new


class Decision(StrEnum):
    VIOLATION = "violation"
    DISMISSED = "dismissed"
    #: Safety resources sent to a person at risk: the case is closed with no strike.
    WELFARE = "welfare"


class DecisionError(ValueError):
    """The case cannot be decided as asked."""


@dataclass
class CaseDecision:
    case_id: int
    action_id: int | None
    #: Deliveries to enqueue once the caller has committed (actions and outcomes).
    delivery_ids: list[int] = field(default_factory=list)
    #: The strike a violation gave, and what the strike thresholds applied or propose.
    strike_id: int | None = None
    strike_step: StrikeStep | None = None
    #: The escalated case that puts a proposed step to a senior, if any.
    proposal_case_id: int | None = None


def decide_case(
    session: Session,
    case_id: int,
    *,
    moderator_id: int,
    role: str,
    decision: Decision,
    category: str | None = None,
    action: ActionRequest | None = None,
    note: str | None = None,
    strikes: StrikePolicy | None = None,
) -> CaseDecision:
    """Close a case as a violation (with an optional action) or as dismissed.

    A violation is a strike; ``strikes`` (default: the documented thresholds) says what
    the person's count of strikes brings next (``strike_step``). The caller commits,
    then enqueues ``delivery_ids``.
    """
    # NO KEY UPDATE: the case's key never changes here, and a stronger lock would wait
    # on (and deadlock with) the foreign-key checks of reports being filed into it.
    case = session.execute(
        select(Case).where(Case.id == case_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if case is None:
        raise DecisionError(f"no case {case_id}")
    if case.status not in OPEN_CASE_STATUSES:
        raise DecisionError(f"case {case_id} is already {case.status}")
    if case.assignee_id not in (None, moderator_id):
        raise DecisionError(f"case {case_id} is claimed by another moderator")
    if decision is Decision.DISMISSED and action is not None:
        raise DecisionError("a dismissed case takes no action")
    if decision is Decision.WELFARE and (action is None
                                         or action.type is not ActionType.WELFARE_CHECK):
        raise DecisionError("a welfare decision sends a welfare check, and nothing else")
    out = CaseDecision(case_id=case.id, action_id=None)
    if action is not None:
        check_authority(role, action)
        applied = apply_action(session, action)
        out.action_id = applied.id
        out.delivery_ids += [d.id for d in applied.deliveries]
    now = utcnow()
    case.status = (CaseStatus.DISMISSED if decision is Decision.DISMISSED
                   else CaseStatus.ACTIONED).value
    case.decision = decision.value
    case.decided_category = category or case.primary_category
    case.decided_by_id = moderator_id
    case.decided_at = now
    case.assignee_id = None
    if decision is Decision.VIOLATION:
        strike = Strike(person_id=case.person_id, action_id=out.action_id, case_id=case.id,
                        category=case.decided_category, expires_at=now + STRIKE_LIFETIME)
        session.add(strike)
        out.strike_step = apply_thresholds(session, strike, strikes or DEFAULT_POLICY, now)
        out.strike_id = strike.id
        out.delivery_ids += out.strike_step.delivery_ids if out.strike_step else []
        if out.strike_step is not None and out.strike_step.status is StepStatus.PROPOSED:
            # A step no rule may take alone (a ban, by default) waits in the seniors' lane.
            out.proposal_case_id = put_to_seniors(
                session, case, f"strikes: {out.strike_step.active_strikes} in force; "
                               f"the thresholds propose: {out.strike_step.threshold.describe()}")
    out.delivery_ids += outcome_deliveries(session, case, decision)
    record(session, "case.decided", "case", case.id, actor_type="moderator",
           actor_id=str(moderator_id),
           data={"decision": decision.value, "category": case.decided_category,
                 "action_id": out.action_id, "note": note})
    return out


def put_to_seniors(session: Session, decided: Case, reason: str, hours: float = 24.0) -> int:
    """Open an escalated case about ``decided``'s person, for a step a senior must take.

    ``decided`` has just been closed (its new status is flushed here, so the person has
    no open case of their own left); if reports opened one meanwhile, that case is
    escalated with the reason instead. Returns the escalated case's id.
    """
    session.flush()
    now = utcnow()
    insert_new(
        session, Case,
        [{"person_id": decided.person_id, "status": CaseStatus.ESCALATED.value,
          "queue": decided.queue, "priority": decided.priority,
          "primary_category": decided.decided_category or decided.primary_category,
          "due_at": now + timedelta(hours=hours), "platform_id": decided.platform_id,
          "language": decided.language, "report_count": 0, "reporter_count": 0,
          "live": False, "escalation_reason": reason, "created_at": now, "updated_at": now}],
        ["person_id"], [Case.id], index_where=OPEN_CASE_PREDICATE,
    )
    case = session.execute(select(Case).where(
        Case.person_id == decided.person_id, Case.status.in_(OPEN_CASE_STATUSES))
        .with_for_update(key_share=True)).scalar_one()
    if case.escalation_reason != reason:
        case.escalation_reason = "; ".join(filter(None, [case.escalation_reason, reason]))
        if case.status == CaseStatus.OPEN.value:
            case.status = CaseStatus.ESCALATED.value
    return case.id


def outcome_deliveries(session: Session, case: Case, decision: Decision) -> list[int]:
    """Tell each reporting platform the outcome for its reporters (nothing about the person)."""
    reports = session.execute(
        select(Report.platform_id, Report.platform_report_id)
        .where(Report.case_id == case.id, Report.source == ReportSource.USER.value)
        .order_by(Report.platform_id, Report.platform_report_id)
    ).all()
    by_platform: dict[int, list[str]] = {}
    for platform_id, report_id in reports:
        by_platform.setdefault(platform_id, []).append(report_id)
    deliveries = new_deliveries(session, case.person_id, list(by_platform),
                                DeliveryEvent.OUTCOME, case_id=case.id)
    write_payloads(session, [(d, {
        "event": DeliveryEvent.OUTCOME.value,
        "delivery_id": d.id,
        "sequence": d.sequence,
        "report_ids": by_platform[d.platform_id],
        "outcome": "no_violation_found" if decision is Decision.DISMISSED else "action_taken",
    }) for d in deliveries])
    return [d.id for d in deliveries]


def escalate_case(session: Session, case_id: int, *, moderator_id: int, role: str,
                  reason: str) -> None:
    """Hand a case to the seniors, with the reason; it leaves the moderator's hands.

    Only the moderator holding the case, or a senior, may: otherwise anyone could take
    a case away from the colleague (or the senior) working it.
    """
    if not reason.strip():
        raise DecisionError("say why the case is escalated")
    case = session.execute(
        select(Case).where(Case.id == case_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if case is None or case.status not in OPEN_CASE_STATUSES:
        raise DecisionError(f"case {case_id} is not open")
    holding = case.status == CaseStatus.CLAIMED.value and case.assignee_id == moderator_id
    if not holding and role != Role.SENIOR.value:
        raise AuthorityError(f"case {case_id} is not yours: claim it before escalating it")
    case.status = CaseStatus.ESCALATED.value
    case.escalation_reason = reason
    case.assignee_id = None
    case.claimed_at = None
    record(session, "case.escalated", "case", case.id, actor_type="moderator",
           actor_id=str(moderator_id), data={"reason": reason})
