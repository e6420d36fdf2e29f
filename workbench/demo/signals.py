"""The demo's fraud signals, as a payment or sign-up system sends them.

Each carries the details such a system knows (what was bought or sent, for how much,
how it was paid, from which card country, how many accounts share the device); the
``count`` in them is what the fraud model's counted features read (``workbench.cases.risk``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from workbench.demo.traffic import Person, insert_ids
from workbench.enums import SignalKind
from workbench.models import FraudSignal

#: Fraud signals as the platforms send them: what was bought or sent, and how.
PAYMENT_METHODS = ("upi", "upi", "upi", "card", "netbanking", "wallet")
CARD_COUNTRIES = ("IN", "IN", "IN", "IN", "AE", "US", "NG", "GB", "BD")
COIN_PACKS = ((100, 99), (500, 449), (1200, 999), (3000, 2399), (6500, 4999), (15000, 9999))
GIFTS = (("rose", 10), ("teddy", 50), ("heart", 99), ("crown", 500), ("sports car", 2000),
         ("diamond ring", 5000))


def _signal_details(rng: random.Random, kind: str) -> tuple[dict[str, Any], float]:
    """A signal's details (``count`` feeds the fraud model's counted features) and a
    platform score."""
    coins, inr = rng.choice(COIN_PACKS)
    method = rng.choice(PAYMENT_METHODS)
    payment: dict[str, Any] = {"event": "coin_purchase", "coins": coins, "amount_inr": inr,
                               "payment_method": method}
    if method == "card":
        payment["card_country"] = rng.choice(CARD_COUNTRIES)
    if kind == SignalKind.CHARGEBACK:
        n = rng.choices((1, 2, 3, 5), weights=(60, 25, 10, 5))[0]
        return {**payment, "count": n, "chargebacks_30d": n,
                "reason": rng.choice(("fraudulent", "not_received", "duplicate"))}, 0.5 + n * 0.1
    if kind == SignalKind.PAYMENT_FAILURE_BURST:
        n = rng.randint(3, 25)
        return {**payment, "count": n, "window_minutes": rng.choice((10, 30, 60)),
                "distinct_cards": rng.randint(1, 6) if method == "card" else 0,
                "decline_code": rng.choice(("insufficient_funds", "do_not_honour",
                                            "upi_pin_wrong", "risk_declined"))}, min(1.0, n / 25)
    if kind == SignalKind.GIFT_VELOCITY:
        gift, price = rng.choice(GIFTS)
        n = rng.randint(8, 120)
        return {"event": "gift_sent", "count": n, "gift": gift, "coins": n * price,
                "amount_inr": round(n * price * 0.8), "recipients": rng.randint(1, 4),
                "window_hours": 24}, min(1.0, 0.3 + n / 150)
    if kind == SignalKind.OTP_ABUSE:
        n = rng.randint(5, 60)
        return {"event": "signup", "count": n, "phone_country": rng.choice(("IN", "IN", "BD")),
                "window_hours": 24, "numbers_tried": rng.randint(1, 12)}, min(1.0, n / 60)
    if kind in (SignalKind.SHARED_DEVICE, SignalKind.MULTI_ACCOUNT):
        n = rng.randint(2, 14)
        return {"event": "signup", "device_accounts": n,
                "device_model": rng.choice(("Redmi Note 12", "Galaxy M14", "vivo Y16",
                                            "realme C55", "iPhone 11")),
                "emulator": rng.random() < 0.2}, min(1.0, 0.2 + n / 15)
    return {**payment, "note": "VPN exit node and a new card in one hour"}, 0.4


def seed_signals(
    session: Session,
    rng: random.Random,
    count: int,
    accounts: list[Person],
    now: datetime,
) -> list[int]:
    """``count`` signals about the accounts most given to misbehaving."""
    risky = sorted(accounts, key=lambda a: a.bad, reverse=True)[: max(10, len(accounts) // 10)]
    kinds = [k.value for k in SignalKind]
    rows = []
    for i in range(count):
        account = rng.choice(risky)
        kind = rng.choices(kinds, weights=(3, 3, 2, 2, 4, 2, 1))[0]
        details, score = _signal_details(rng, kind)
        # The 24-hour features (gifts, OTPs) count only recent signals: most are recent.
        minutes = rng.randint(5, 24 * 60) if rng.random() < 0.6 else rng.randint(5, 30 * 1440)
        created = now - timedelta(minutes=minutes)
        rows.append(
            {
                "platform_id": account.platform_id,
                "platform_signal_id": f"sig{i:05d}",
                "account_id": account.id,
                "kind": kind,
                "score": round(min(1.0, score * rng.uniform(0.8, 1.1)), 3),
                "details": details,
                "created_at": created,
                "received_at": created,
            }
        )
    return insert_ids(session, FraudSignal, rows)
