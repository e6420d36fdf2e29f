"""Made-up accounts and decisions, for tests, benchmarks and the demo data.

About one account in six behaves like a fraudster (more chargebacks, shared devices,
OTP requests and gifting). Decisions follow a hidden logistic rule that deliberately
differs from the scorecard (OTP abuse and multi-accounting weigh more, reports weigh
nothing), so a model fitted to decisions has something real to learn.
"""

from __future__ import annotations

import numpy as np

from classifiers.fraud.features import (
    FEATURE_NAMES,
    SIGNAL_KINDS,
    AccountRiskFeatures,
    feature_matrix,
)

#: The rule synthetic moderators decide by (log-odds over the scaled features).
HIDDEN_BIAS = -3.5
HIDDEN_WEIGHTS: dict[str, float] = {
    "new_account": 0.8,
    "devices_shared_with_banned": 1.2,
    "phone_shared_with_banned": 1.0,
    "payment_failures": 0.3,
    "chargebacks": 1.0,
    "gift_velocity": 0.6,
    "coin_velocity": 0.2,
    "otp_requests": 1.5,
    "reports_received": 0.0,
    "signal_chargeback": 0.8,
    "signal_payment_failure_burst": 0.5,
    "signal_shared_device": 0.6,
    "signal_otp_abuse": 2.5,
    "signal_gift_velocity": 0.4,
    "signal_multi_account": 2.5,
    "signal_other": 0.0,
}

_FRAUDSTER_SHARE = 0.16


def synthetic_accounts(n: int, seed: int = 0) -> list[AccountRiskFeatures]:
    """``n`` plausible accounts; the same seed gives the same accounts."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < _FRAUDSTER_SHARE

    def counts(normal: float, fraudster: float) -> list[int]:
        rates = np.where(bad, fraudster, normal)
        return [int(v) for v in rng.poisson(rates)]

    ages = np.where(bad, rng.exponential(20.0, n), rng.exponential(400.0, n)).tolist()
    devices = counts(0.02, 0.8)
    phones = (rng.random(n) < np.where(bad, 0.25, 0.005)).tolist()
    failures = counts(0.3, 3.0)
    chargebacks = counts(0.02, 1.0)
    gifts = counts(2.0, 25.0)
    coins = (np.where(bad, rng.exponential(3000.0, n), rng.exponential(300.0, n))).tolist()
    otps = counts(0.5, 6.0)
    reports = counts(0.3, 1.5)
    signals = [_signals(rng, is_bad) for is_bad in bad.tolist()]
    return [
        AccountRiskFeatures(
            account_age_days=round(ages[i], 1),
            devices_shared_with_banned=devices[i],
            phone_shared_with_banned=phones[i],
            payment_failures_30d=failures[i],
            chargebacks_90d=chargebacks[i],
            gifts_sent_24h=gifts[i],
            coins_spent_24h=round(coins[i]),
            otp_requests_24h=otps[i],
            reports_received_30d=reports[i],
            signal_scores=signals[i],
        )
        for i in range(n)
    ]


def _signals(rng: np.random.Generator, bad: bool) -> dict[str, float]:
    chance = 0.12 if bad else 0.01
    return {
        kind: round(float(rng.uniform(0.3, 1.0)), 2)
        for kind in SIGNAL_KINDS
        if rng.random() < chance
    }


def synthetic_decisions(n: int, seed: int = 0) -> tuple[list[AccountRiskFeatures], list[int]]:
    """``n`` accounts and the decisions (1 = fraud) the hidden rule gives them."""
    accounts = synthetic_accounts(n, seed)
    weights = np.array([HIDDEN_WEIGHTS[name] for name in FEATURE_NAMES])
    logits = HIDDEN_BIAS + feature_matrix(accounts) @ weights
    rng = np.random.default_rng(seed + 1)
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-logits))).astype(int).tolist()
    return accounts, labels
