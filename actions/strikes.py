"""Strikes: each upheld violation counts against a person for 90 days, and thresholds step up.

A strike is written by ``actions.decisions.decide_case`` for every violation and removed
when an appeal against its action is overturned. After each new strike, the thresholds
(``WORKBENCH_STRIKE_THRESHOLDS``, defaults below) name the next step for the person's
count of strikes in force: a step in ``apply`` mode is applied at once, by the rule
``strikes``; a step in ``propose`` mode is put to a senior (returned with the decision,
written to the audit log, and shown as the next step on the case view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from actions.enforcement import ActionRequest, apply_action
from workbench.enums import ActionStatus, ActionType
from workbench.models import Action, Strike, utcnow
from workbench.models.audit import record
from workbench.rules.strikes import (
    DEFAULT_POLICY,
    StepMode,
    StrikePolicy,
    Threshold,
)

#: The rule name on actions the thresholds apply.
RULE = "strikes"


class StepStatus(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    #: An action already in force is at least as severe; nothing more to do.
    COVERED = "covered"


@dataclass
class StrikeStep:
    """What the thresholds did (or propose) after a new strike."""

    active_strikes: int
    threshold: Threshold
    status: StepStatus
    action_id: int | None = None
    #: Deliveries of the applied action, for the caller to enqueue after commit.
    delivery_ids: list[int] = field(default_factory=list)

    def describe(self) -> str:
        what = self.threshold.describe()
        return {StepStatus.PROPOSED: f"{what} (proposed to a senior)",
                StepStatus.APPLIED: f"{what} (applied)",
                StepStatus.COVERED: f"{what} (already in force)"}[self.status]


def _active(now: datetime) -> Any:
    return (Strike.removed_at.is_(None)) & (Strike.expires_at > now)


def active_strike_count(session: Session, person_id: int, now: datetime | None = None) -> int:
    """Strikes in force on the person: neither expired nor removed by an appeal."""
    now = now or utcnow()
    return int(session.execute(
        select(func.count(Strike.id)).where(Strike.person_id == person_id, _active(now))
    ).scalar_one())


def covering_action(session: Session, person_id: int, threshold: Threshold,
                    now: datetime) -> int | None:
    """An action in force at least as severe as the threshold's step, if there is one."""
    # A minute's slack: the decision's own action was timed a moment before this check.
    wanted_end = now + threshold.duration - timedelta(minutes=1) if threshold.duration else None
    for action_id, kind, ends_at in session.execute(
        select(Action.id, Action.type, Action.ends_at)
        .where(Action.person_id == person_id, Action.status == ActionStatus.ACTIVE.value,
               Action.type.in_([ActionType.BAN.value, threshold.action.value]),
               or_(Action.ends_at.is_(None), Action.ends_at > now))
        .order_by(Action.id)
    ).all():
        if kind == ActionType.BAN.value:
            return int(action_id)
        if threshold.action is ActionType.WARN:
            continue  # a warning is never "in force": each step warns again
        if ends_at is None or (wanted_end is not None and ends_at >= wanted_end):
            return int(action_id)
    return None


def apply_thresholds(session: Session, strike: Strike, policy: StrikePolicy = DEFAULT_POLICY,
                     now: datetime | None = None) -> StrikeStep | None:
    """After ``strike`` was added: the step its person's count reached, applied if so set.

    An applied step is an action decided by the rule ``strikes`` on the strike's case;
    when the violation itself took no action, the strike points at the step's action so
    that overturning it on appeal also removes the strike. The caller commits, then
    enqueues ``delivery_ids``.
    """
    now = now or utcnow()
    session.flush()
    active = active_strike_count(session, strike.person_id, now)
    threshold = policy.step_for(active)
    if threshold is None:
        return None
    step = StrikeStep(active, threshold, StepStatus.PROPOSED)
    covering = covering_action(session, strike.person_id, threshold, now)
    if covering is not None:
        step.status, step.action_id = StepStatus.COVERED, covering
    elif threshold.mode is StepMode.APPLY:
        action = apply_action(session, ActionRequest(
            type=threshold.action, person_id=strike.person_id, policy_reason=strike.category,
            decided_by_rule=RULE, automated=True, case_id=strike.case_id,
            duration=threshold.duration, category=strike.category,
            facts=f"{active} strikes in force in the last {policy.lifetime.days} days "
                  f"(threshold {threshold.strikes}: {threshold.describe()})"))
        step.status, step.action_id = StepStatus.APPLIED, action.id
        step.delivery_ids = [d.id for d in action.deliveries]
        if strike.action_id is None:
            strike.action_id = action.id
    else:
        record(session, "strikes.proposed", "person", strike.person_id, actor_type="rule",
               actor_id=RULE, data={"case_id": strike.case_id, "strikes": active,
                                    "action": threshold.action.value,
                                    "days": threshold.duration.days if threshold.duration
                                    else None})
    return step


@dataclass(frozen=True)
class StrikeView:
    id: int
    category: str
    case_id: int | None
    action_id: int | None
    created_at: datetime
    expires_at: datetime
    removed_at: datetime | None
    #: ``active``, ``expired``, or ``removed`` (its action was overturned on appeal).
    state: str


@dataclass(frozen=True)
class StrikeSummary:
    """A person's strikes for the case view: those in force, the past ones, the next step."""

    person_id: int
    active: list[StrikeView]
    past: list[StrikeView]
    #: The step the strikes in force have reached (already taken or proposed).
    current_step: Threshold | None
    #: What one more upheld violation would bring.
    next_step: Threshold | None


def strike_summary(session: Session, person_id: int, policy: StrikePolicy = DEFAULT_POLICY,
                   now: datetime | None = None) -> StrikeSummary:
    """The person's strikes, newest first, split into in force and past (expired, removed)."""
    now = now or utcnow()
    views = [StrikeView(s.id, s.category, s.case_id, s.action_id, s.created_at, s.expires_at,
                        s.removed_at, "removed" if s.removed_at is not None
                        else "active" if s.expires_at > now else "expired")
             for s in session.scalars(select(Strike).where(Strike.person_id == person_id)
                                      .order_by(Strike.created_at.desc(), Strike.id.desc()))]
    active = [v for v in views if v.state == "active"]
    past = [v for v in views if v.state != "active"]
    return StrikeSummary(person_id, active, past, policy.step_for(len(active)),
                         policy.step_for(len(active) + 1))
