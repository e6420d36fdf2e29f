"""Fraud risk per account: gather each account's features from the database, in batches."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from workbench.enums import AccountStatus
from workbench.models import Account, AccountDevice, FraudSignal, Report, utcnow

#: Signal kinds whose ``details.count`` (default 1) feeds a behaviour feature.
_COUNTED = {"payment_failure_burst": "payment_failures_30d", "chargeback": "chargebacks_90d",
            "otp_abuse": "otp_requests_24h", "gift_velocity": "gifts_sent_24h"}
_WINDOWS = {"payment_failures_30d": 30, "chargebacks_90d": 90, "otp_requests_24h": 1,
            "gifts_sent_24h": 1}
#: The signal kind whose ``details.coins`` (the coins the gifts cost) are coins spent.
_SPENDING = "gift_velocity"
#: More coins than anyone buys in a day: a larger value is a platform's bug, capped.
_MAX_COINS = 10_000_000


def account_features(session: Session, account_ids: list[int]) -> dict[int, Any]:
    """``AccountRiskFeatures`` for each account, in a fixed number of queries."""
    # Heavy: imported on first use, not when the module loads.
    from classifiers.fraud import AccountRiskFeatures, aggregate_signals

    now = utcnow()
    ages = dict(session.execute(select(Account.id, Account.created_at)
                                .where(Account.id.in_(account_ids))).all())
    banned = aliased(Account)
    other_device = aliased(AccountDevice)
    devices = dict(session.execute(
        select(AccountDevice.account_id, func.count(func.distinct(other_device.device_id)))
        .join(other_device, other_device.device_id == AccountDevice.device_id)
        .join(banned, banned.id == other_device.account_id)
        .where(AccountDevice.account_id.in_(account_ids), banned.id != AccountDevice.account_id,
               banned.status == AccountStatus.BANNED.value)
        .group_by(AccountDevice.account_id)).all())
    phones = set(session.scalars(
        select(Account.id).join(banned, banned.phone_hash == Account.phone_hash)
        .where(Account.id.in_(account_ids), banned.id != Account.id,
               banned.status == AccountStatus.BANNED.value)))
    reports = dict(session.execute(
        select(Report.reported_account_id, func.count(Report.id))
        .where(Report.reported_account_id.in_(account_ids),
               Report.created_at >= now - timedelta(days=30))
        .group_by(Report.reported_account_id)).all())
    counted: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    coins: dict[int, float] = defaultdict(float)
    scored: dict[int, list[tuple[str, float | None]]] = defaultdict(list)
    for account_id, kind, score, details, created in session.execute(
        select(FraudSignal.account_id, FraudSignal.kind, FraudSignal.score,
               FraudSignal.details, FraudSignal.created_at)
        .where(FraudSignal.account_id.in_(account_ids),
               FraudSignal.created_at >= now - timedelta(days=90))
    ).all():
        scored[account_id].append((kind, score))
        feature = _COUNTED.get(kind)
        if feature and created >= now - timedelta(days=_WINDOWS[feature]):
            count = (details or {}).get("count", 1)
            counted[account_id][feature] += count if isinstance(count, int) else 1
        if kind == _SPENDING and created >= now - timedelta(days=1):
            coins[account_id] += _coins(details)
    return {
        account_id: AccountRiskFeatures(
            account_age_days=max(0.0, (now - ages[account_id]).total_seconds() / 86400),
            devices_shared_with_banned=int(devices.get(account_id, 0)),
            phone_shared_with_banned=account_id in phones,
            reports_received_30d=int(reports.get(account_id, 0)),
            signal_scores=aggregate_signals(scored[account_id]),
            coins_spent_24h=min(coins[account_id], _MAX_COINS),
            **counted[account_id],
        )
        for account_id in account_ids if account_id in ages
    }


def _coins(details: dict[str, Any] | None) -> float:
    """The coins a gift signal says were spent; nothing when the value is not a count."""
    value = (details or {}).get("coins")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 <= value <= _MAX_COINS else 0.0
