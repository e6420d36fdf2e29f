"""A person's standing across the group, as a platform asks for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.identity import root_person_id
from workbench.api.errors import ApiError
from workbench.enums import ActionStatus, ActionType
from workbench.models import Account, Action, utcnow

#: Restrictions in force, most severe first; the first one found is the person's status.
STANDING: tuple[tuple[ActionType, str], ...] = (
    (ActionType.BAN, "banned"),
    (ActionType.SUSPEND, "suspended"),
    (ActionType.RESTRICT_CALLS, "restricted"),
    (ActionType.MUTE, "muted"),
)


def user_status(session: Session, platform_id: int, platform_user_id: str) -> dict[str, Any]:
    """``active``, or the most severe action in force with its end (None: permanent)."""
    account = session.execute(
        select(Account).where(Account.platform_id == platform_id,
                              Account.platform_user_id == platform_user_id)
    ).scalar_one_or_none()
    if account is None:
        raise ApiError(404, "unknown_user", f"no user {platform_user_id!r} on this platform")
    person_id = root_person_id(session, account.person_id)
    now = utcnow()
    actions = session.scalars(
        select(Action).where(
            Action.person_id == person_id,
            Action.status == ActionStatus.ACTIVE.value,
            Action.type.in_([t.value for t, _ in STANDING]),
            or_(Action.ends_at.is_(None), Action.ends_at > now),
        ).order_by(Action.id)
    ).all()
    in_force = [
        {"action_id": a.id, "type": a.type,
         "until": a.ends_at.isoformat() if a.ends_at else None, "reason": a.policy_reason}
        for a in actions
    ]
    types = {a.type for a in actions}
    state = next((word for t, word in STANDING if t.value in types), "active")
    return {"user_id": platform_user_id, "status": state, "actions": in_force}
