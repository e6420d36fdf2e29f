"""Ban evasion: a new or changed account linked to a banned or suspended person.

The restriction follows the account to its platform at once (a delivery), and a case
is opened so a moderator reviews the link and its evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.enforcement import create_deliveries, refresh_account_status
from workbench.enums import ActionStatus, ActionType, Category, DeliveryEvent, ReportSource
from workbench.models import Account, Action, EnforcementDelivery, Report, utcnow
from workbench.models.audit import record
from workbench.upserts import insert_new

log = logging.getLogger(__name__)

#: Restrictions that follow a person to a new account.
FOLLOWS = (ActionType.BAN.value, ActionType.SUSPEND.value)


@dataclass(frozen=True)
class Evasion:
    account_id: int
    action_id: int
    delivery_ids: list[int]
    report_id: int | None


def check_evasion(session: Session, account_ids: list[int]) -> list[Evasion]:
    """Extend bans and suspensions in force to these accounts' platforms where missing."""
    now = utcnow()
    found: list[Evasion] = []
    accounts = session.scalars(select(Account).where(Account.id.in_(account_ids))).all()
    for account in accounts:
        actions = session.scalars(
            select(Action).where(
                Action.person_id == account.person_id, Action.type.in_(FOLLOWS),
                Action.status == ActionStatus.ACTIVE.value,
                or_(Action.ends_at.is_(None), Action.ends_at > now))
            .order_by(Action.id)
        ).all()
        for action in actions:
            if _already_told(session, action.id, account):
                continue
            deliveries = create_deliveries(session, action, only_platform_id=account.platform_id)
            report_id = _open_review(session, account, action)
            record(session, "evasion.detected", "account", account.id,
                   data={"action_id": action.id, "person_id": account.person_id,
                         "report_id": report_id})
            found.append(Evasion(account.id, action.id, [d.id for d in deliveries], report_id))
        if actions:
            refresh_account_status(session, account.person_id)
    return found


def _already_told(session: Session, action_id: int, account: Account) -> bool:
    """Whether a delivery of this action already named this account to its platform."""
    payloads = session.scalars(
        select(EnforcementDelivery.payload).where(
            EnforcementDelivery.action_id == action_id,
            EnforcementDelivery.platform_id == account.platform_id,
            EnforcementDelivery.event == DeliveryEvent.ACTION.value))
    return any(account.platform_user_id in (p.get("user_ids") or []) for p in payloads)


def _open_review(session: Session, account: Account, action: Action) -> int | None:
    """A report (source ``evasion``) that puts the person's case in front of a moderator."""
    evidence = (f"Account linked by shared phone or device to person {action.person_id}, "
                f"under {action.type} (action {action.id}) since "
                f"{action.created_at:%Y-%m-%d}.")
    rows = insert_new(session, Report, [{
        "platform_id": account.platform_id,
        "platform_report_id": f"evasion-{account.id}-{action.id}",
        "reported_account_id": account.id, "category": Category.BAN_EVASION.value,
        "description": evidence, "source": ReportSource.EVASION.value,
        "created_at": utcnow(), "received_at": utcnow(), "status": "pending",
        "call_in_progress": False,
    }], ["platform_id", "platform_report_id"], [Report.id])
    return rows[0].id if rows else None
