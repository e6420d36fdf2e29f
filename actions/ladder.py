"""What the next decision on a person will do: the strike ladder's step, and what is in force.

The case page shows this before a moderator confirms ("this warning is strike 2: it
suspends for 1 day"), and the server refuses to stack a second action of a kind already
in force (a human mute on top of an automated one) unless the decision says it means to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.enforcement import ActionError, ActionRequest
from actions.strikes import active_strike_count, covering_action
from workbench.enums import ActionStatus, ActionType
from workbench.models import Action, utcnow
from workbench.rules.strikes import DEFAULT_POLICY, StepMode, StrikePolicy, Threshold

#: Kinds that last on the whole person: a second one while the first is in force stacks.
LASTING = {ActionType.MUTE, ActionType.RESTRICT_CALLS, ActionType.SUSPEND, ActionType.BAN}


class StackingError(ActionError):
    """An action of this kind is already in force, and the decision did not confirm another."""

    field = "confirm_stack"


@dataclass(frozen=True)
class InForce:
    """One lasting action in force on the person, and who or what decided it."""

    id: int
    type: str
    ends_at: datetime | None
    automated: bool
    decided_by: str
    review_state: str | None

    def describe(self) -> str:
        until = f" until {self.ends_at:%Y-%m-%d %H:%M} UTC" if self.ends_at else ""
        who = "automated, " + (self.review_state or "reviewed") if self.automated \
            else "by a person"
        return f"{self.type.replace('_', ' ')} #{self.id}{until} ({who}: {self.decided_by})"


@dataclass(frozen=True)
class LadderOutlook:
    """What one more upheld violation brings, and the lasting actions in force now."""

    #: The strike number the next violation would be.
    next_strike: int
    #: The step the ladder takes at that count, if any.
    step: Threshold | None
    #: A lasting action already in force at least as severe as the step (nothing more then).
    step_covered_by: int | None
    in_force: list[InForce]

    def describe_step(self) -> str:
        """One sentence for the decision panel."""
        head = f"A violation here is strike {self.next_strike}"
        if self.step is None:
            return f"{head}: the strike ladder takes no further step."
        what = self.step.describe()
        if self.step_covered_by is not None:
            return f"{head}: the ladder's step ({what}) is already covered by action " \
                   f"#{self.step_covered_by} in force."
        if self.step.mode is StepMode.PROPOSE:
            return f"{head}: it proposes to a senior: {what}."
        return f"{head}: it will also {what}, at once."

    def same_kind(self, kind: ActionType) -> list[InForce]:
        return [a for a in self.in_force if a.type == kind.value]


def lasting_in_force(session: Session, person_id: int,
                     now: datetime | None = None) -> list[InForce]:
    """The person's lasting actions in force now, oldest first."""
    now = now or utcnow()
    rows = session.execute(
        select(Action.id, Action.type, Action.ends_at, Action.automated,
               Action.decided_by_rule, Action.decided_by_id, Action.review_state)
        .where(Action.person_id == person_id, Action.status == ActionStatus.ACTIVE.value,
               Action.type.in_([k.value for k in LASTING]),
               or_(Action.ends_at.is_(None), Action.ends_at > now))
        .order_by(Action.created_at, Action.id)).all()
    return [InForce(r.id, r.type, r.ends_at, bool(r.automated),
                    r.decided_by_rule or f"moderator {r.decided_by_id}", r.review_state)
            for r in rows]


def ladder_outlook(session: Session, person_id: int, policy: StrikePolicy = DEFAULT_POLICY,
                   now: datetime | None = None) -> LadderOutlook:
    """What the strike ladder does on the person's next upheld violation, and what is in force."""
    now = now or utcnow()
    next_strike = active_strike_count(session, person_id, now) + 1
    step = policy.step_for(next_strike)
    covered = covering_action(session, person_id, step, now) if step is not None else None
    return LadderOutlook(next_strike, step, covered, lasting_in_force(session, person_id, now))


def people_with_in_force(session: Session, person_ids: set[int], kind: ActionType,
                         now: datetime | None = None) -> set[int]:
    """Which of these people already have a lasting action of ``kind`` in force."""
    if kind not in LASTING or not person_ids:
        return set()
    now = now or utcnow()
    return set(session.scalars(
        select(Action.person_id).where(
            Action.person_id.in_(person_ids), Action.type == kind.value,
            Action.status == ActionStatus.ACTIVE.value,
            or_(Action.ends_at.is_(None), Action.ends_at > now)).distinct()))


def check_stacking(session: Session, request: ActionRequest, confirmed: bool) -> None:
    """Refuse a second lasting action of a kind already in force, unless ``confirmed``.

    Raises:
        StackingError: one is in force and the decision did not say it means another.
    """
    if request.type not in LASTING or confirmed:
        return
    same = [a for a in lasting_in_force(session, request.person_id)
            if a.type == request.type.value]
    if same:
        raise StackingError(
            f"a {request.type.value.replace('_', ' ')} is already in force on this person "
            f"({same[0].describe()}); to add another on top, tick the confirmation and "
            "decide again")
