"""A person's standing across the group, as a platform asks for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.enforcement import STATUS_FOR
from actions.identity import root_person_id
from workbench.api.errors import ApiError
from workbench.enums import ActionStatus
from workbench.models import Account, Action, utcnow


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
            Action.type.in_([t.value for t, _ in STATUS_FOR]),
            or_(Action.ends_at.is_(None), Action.ends_at > now),
        ).order_by(Action.id)
    ).all()
    in_force = [
        {"action_id": a.id, "type": a.type,
         "until": a.ends_at.isoformat() if a.ends_at else None, "reason": a.policy_reason}
        for a in actions
    ]
    types = {a.type for a in actions}
    state = next((status.value for t, status in STATUS_FOR if t.value in types), "active")
    return {"user_id": platform_user_id, "status": state, "actions": in_force}
