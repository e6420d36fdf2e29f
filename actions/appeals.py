"""Appeals: filed by a platform for its user, decided by a different (senior) moderator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from actions.automation import settle_by_appeal
from actions.enforcement import REVERSAL, new_delivery, reverse_action
from actions.statements import RESTRICTIVE
from workbench.enums import ActionType, AppealStatus, DeliveryEvent, Role
from workbench.models import Account, Action, Appeal, EnforcementDelivery, Strike, utcnow
from workbench.models.audit import record

#: How long after an action its user may appeal (configurable by the caller).
DEFAULT_WINDOW = timedelta(days=20)
#: Who may decide appeals.
DECIDERS = {Role.SENIOR.value}


class AppealError(ValueError):
    """The appeal cannot be filed or decided as asked; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class AppealDecision:
    appeal_id: int
    overturned: bool
    delivery_ids: list[int] = field(default_factory=list)


def check_appealable(session: Session, platform_id: int, user_id: str, action_id: int,
                     filed_at: datetime, window: timedelta = DEFAULT_WINDOW) -> Account:
    """The appellant's account, if this user may appeal this action now."""
    account = session.scalars(select(Account).where(
        Account.platform_id == platform_id, Account.platform_user_id == user_id)).first()
    if account is None:
        raise AppealError(f"no user {user_id!r} on this platform", "user_id")
    action = session.get(Action, action_id)
    if action is None or action.person_id != account.person_id:
        raise AppealError(f"action {action_id} does not concern this user", "action_id")
    if ActionType(action.type) not in RESTRICTIVE:
        raise AppealError(f"a {action.type} cannot be appealed", "action_id")
    if filed_at - action.created_at > window:
        raise AppealError(f"the {window.days}-day window to appeal action {action_id} has "
                          "closed", "action_id")
    return account


def decide_appeal(session: Session, appeal_id: int, *, moderator_id: int, role: str,
                  overturn: bool, note: str) -> AppealDecision:
    """Uphold or overturn; overturning lifts the action everywhere and removes its strike."""
    appeal = session.execute(
        select(Appeal).where(Appeal.id == appeal_id).with_for_update()).scalar_one_or_none()
    if appeal is None:
        raise AppealError(f"no appeal {appeal_id}")
    if role not in DECIDERS:
        raise AppealError("appeals are decided by senior moderators")
    if appeal.status != AppealStatus.OPEN.value:
        raise AppealError(f"appeal {appeal_id} is already {appeal.status}")
    action = session.get_one(Action, appeal.action_id)
    if action.decided_by_id == moderator_id:
        raise AppealError("a different moderator than the one who acted must decide")
    now = utcnow()
    out = AppealDecision(appeal.id, overturn)
    if overturn:
        if ActionType(action.type) in REVERSAL and action.status == "active":
            lifting = reverse_action(session, action.id, policy_reason="appeal overturned",
                                     decided_by_id=moderator_id, facts=note)
            out.delivery_ids += [d.id for d in lifting.deliveries]
        session.execute(update(Strike).where(Strike.action_id == action.id,
                                             Strike.removed_at.is_(None))
                        .values(removed_at=now))
    settle_by_appeal(session, action, moderator_id, overturn)
    appeal.status = (AppealStatus.OVERTURNED if overturn else AppealStatus.UPHELD).value
    appeal.decided_by_id = moderator_id
    appeal.decided_at = now
    appeal.decision_note = note
    out.delivery_ids.append(_tell_user(session, appeal, action).id)
    record(session, "appeal.decided", "appeal", appeal.id, actor_type="moderator",
           actor_id=str(moderator_id), data={"overturned": overturn, "action_id": action.id})
    return out


def _tell_user(session: Session, appeal: Appeal, action: Action) -> EnforcementDelivery:
    account = session.get_one(Account, appeal.account_id)
    delivery = new_delivery(session, appeal.platform_id, action.person_id,
                            DeliveryEvent.APPEAL_OUTCOME, action_id=action.id)
    delivery.payload = {
        "event": DeliveryEvent.APPEAL_OUTCOME.value, "delivery_id": delivery.id,
        "sequence": delivery.sequence, "appeal_id": appeal.platform_appeal_id,
        "action_id": action.id, "user_ids": [account.platform_user_id],
        "outcome": appeal.status, "note": appeal.decision_note,
    }
    return delivery
