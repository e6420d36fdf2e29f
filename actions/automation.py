"""Reviewing what a model's rules did alone: confirm it, or overturn it everywhere.

An action a model's rule applies (``actions.enforcement.awaits_review``) is in force at
once and waits, ``pending``, for a senior. Confirming records the review; overturning
lifts the action on every platform through ``reverse_action`` and removes any strike that
rested on it. Both are audited. An appeal decided on such an action settles it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from actions.enforcement import (
    REVERSAL,
    ActionRequest,
    AuthorityError,
    check_authority,
    reverse_action,
)
from workbench.enums import ActionStatus, ActionType, ReviewState, Role
from workbench.models import Action, Strike, utcnow
from workbench.models.audit import record

#: Who may review automated actions (moderators too where the settings allow).
REVIEWERS = frozenset({Role.SENIOR.value})
#: The policy reason on the action that lifts an overturned one.
OVERTURN_REASON = "automation overturned"


class ReviewError(ValueError):
    """The review cannot be recorded as asked; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class AutomationReview:
    action_id: int
    state: ReviewState
    #: Deliveries of the lifting action, for the caller to enqueue after commit.
    delivery_ids: list[int] = field(default_factory=list)


def pending_review(session: Session, limit: int = 50) -> list[Action]:
    """Automated actions waiting for review, oldest first."""
    return list(session.scalars(
        select(Action).where(Action.review_state == ReviewState.PENDING.value)
        .order_by(Action.created_at, Action.id).limit(limit)))


def pending_count(session: Session) -> int:
    """How many automated actions wait for review."""
    return int(session.execute(select(func.count(Action.id)).where(
        Action.review_state == ReviewState.PENDING.value)).scalar_one())


def review_automated(session: Session, action_id: int, *, moderator_id: int, role: str,
                     confirm: bool, note: str | None = None,
                     reviewers: frozenset[str] = REVIEWERS) -> AutomationReview:
    """Confirm or overturn one automated action; the caller commits, then enqueues.

    Overturning needs the authority to take the reversal (a moderator may lift a mute,
    not a suspension or a ban).

    Raises:
        ReviewError: the role may not review (or not lift this action), or the action is
            not waiting for review.
    """
    if role not in reviewers:
        raise ReviewError("automated actions are reviewed by senior moderators")
    action = session.execute(select(Action).where(Action.id == action_id)
                             .with_for_update()).scalar_one_or_none()
    if action is None:
        raise ReviewError(f"no action {action_id}", "action_id")
    if action.review_state != ReviewState.PENDING.value:
        raise ReviewError(f"action {action_id} is not waiting for review"
                          + (f" (already {action.review_state})" if action.review_state
                             else ""), "action_id")
    out = AutomationReview(action.id, ReviewState.CONFIRMED if confirm
                           else ReviewState.OVERTURNED)
    if not confirm:
        out.delivery_ids = _overturn(session, action, moderator_id, role, note)
    action.review_state = out.state.value
    action.reviewed_by_id = moderator_id
    action.reviewed_at = utcnow()
    record(session, f"automation.{out.state.value}", "action", action.id,
           actor_type="moderator", actor_id=str(moderator_id),
           data={"rule": action.decided_by_rule, "model_version": action.model_version,
                 "type": action.type, "note": note, "delivery_ids": out.delivery_ids})
    return out


def _overturn(session: Session, action: Action, moderator_id: int, role: str,
              note: str | None) -> list[int]:
    """Lift the action everywhere if it is still in force; its strikes go either way."""
    ids: list[int] = []
    kind = ActionType(action.type)
    if kind in REVERSAL and action.status == ActionStatus.ACTIVE.value:
        try:
            check_authority(role, ActionRequest(type=REVERSAL[kind], person_id=action.person_id,
                                                policy_reason=OVERTURN_REASON,
                                                decided_by_id=moderator_id))
        except AuthorityError as exc:
            raise ReviewError(str(exc)) from None
        lifting = reverse_action(
            session, action.id, policy_reason=OVERTURN_REASON, decided_by_id=moderator_id,
            facts=note or f"Automated {action.type} {action.id} "
                          f"({action.decided_by_rule}) overturned on review.")
        ids = [d.id for d in lifting.deliveries]
    session.execute(update(Strike).where(Strike.action_id == action.id,
                                         Strike.removed_at.is_(None))
                    .values(removed_at=utcnow()))
    return ids


def settle_by_appeal(session: Session, action: Action, moderator_id: int,
                     overturned: bool) -> None:
    """An appeal decided on an automated action is its review as well."""
    if action.review_state != ReviewState.PENDING.value:
        return
    action.review_state = (ReviewState.OVERTURNED if overturned
                           else ReviewState.CONFIRMED).value
    action.reviewed_by_id = moderator_id
    action.reviewed_at = utcnow()
