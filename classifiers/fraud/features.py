"""What we know about an account's money and sign-up behaviour, as model features.

Every model here (the hand-set scorecard and the one trained on moderators' decisions)
reads the same features, built the same way, so their weights can be read side by side.
Counts are log-scaled (``log1p``): the fifth chargeback says less than the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]

#: Kinds of fraud signal the platforms send (the same strings as ``workbench.enums``).
SIGNAL_KINDS: tuple[str, ...] = (
    "chargeback",
    "payment_failure_burst",
    "shared_device",
    "otp_abuse",
    "gift_velocity",
    "multi_account",
    "other",
)

#: Score given to a signal the platform sent without one.
UNSCORED_SIGNAL = 0.5

#: Accounts younger than this many days count as (partly) new.
NEW_ACCOUNT_DAYS = 90.0

#: Coins are counted per this many (a gift costs tens to thousands of coins).
COIN_UNIT = 100.0


@dataclass(frozen=True, slots=True)
class AccountRiskFeatures:
    """One account's behaviour and signals, as the fraud model reads them.

    Attributes:
        account_age_days: Days since sign-up.
        devices_shared_with_banned: Devices this account shares with banned accounts.
        phone_shared_with_banned: The phone number is on a banned account too.
        payment_failures_30d: Failed payments in the last 30 days.
        chargebacks_90d: Chargebacks in the last 90 days.
        gifts_sent_24h: Gifts sent in the last 24 hours.
        coins_spent_24h: Coins spent in the last 24 hours.
        otp_requests_24h: One-time-password requests in the last 24 hours.
        reports_received_30d: Reports about this account in the last 30 days.
        signal_scores: Highest platform score (0 to 1) per signal kind, keyed by
            `SIGNAL_KINDS`; build it with `aggregate_signals`, which files unknown
            kinds under ``other`` (keys outside `SIGNAL_KINDS` are ignored here).
    """

    account_age_days: float
    devices_shared_with_banned: int = 0
    phone_shared_with_banned: bool = False
    payment_failures_30d: int = 0
    chargebacks_90d: int = 0
    gifts_sent_24h: int = 0
    coins_spent_24h: float = 0.0
    otp_requests_24h: int = 0
    reports_received_30d: int = 0
    signal_scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Feature:
    """One model input: its name, where it comes from, and how it is scaled."""

    name: str
    source: str
    scaling: str


_BEHAVIOUR: tuple[Feature, ...] = (
    Feature("new_account", "account_age_days", "1 at sign-up, falling to 0 at 90 days"),
    Feature("devices_shared_with_banned", "devices_shared_with_banned", "log1p(count)"),
    Feature("phone_shared_with_banned", "phone_shared_with_banned", "1 if shared, else 0"),
    Feature("payment_failures", "payment_failures_30d", "log1p(count)"),
    Feature("chargebacks", "chargebacks_90d", "log1p(count)"),
    Feature("gift_velocity", "gifts_sent_24h", "log1p(count)"),
    Feature("coin_velocity", "coins_spent_24h", f"log1p(coins / {COIN_UNIT:.0f})"),
    Feature("otp_requests", "otp_requests_24h", "log1p(count)"),
    Feature("reports_received", "reports_received_30d", "log1p(count)"),
)

#: Every feature, in the column order of `feature_matrix`.
FEATURES: tuple[Feature, ...] = _BEHAVIOUR + tuple(
    Feature(f"signal_{kind}", f"signal_scores[{kind!r}]", "platform score, 0 to 1")
    for kind in SIGNAL_KINDS
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)

_BEHAVIOUR_GETTER = attrgetter(*(f.source for f in _BEHAVIOUR))
_SIGNALS_GETTER = attrgetter("signal_scores")
_NO_SIGNALS = (0.0,) * len(SIGNAL_KINDS)
_LOG_COLUMNS = [1, 3, 4, 5, 7, 8]  # indexes in _BEHAVIOUR scaled by log1p(count)
_N_BEHAVIOUR = len(_BEHAVIOUR)


def aggregate_signals(signals: Iterable[tuple[str, float | None]]) -> dict[str, float]:
    """Highest score per kind from ``(kind, platform score or None)`` pairs."""
    best: dict[str, float] = {}
    for kind, score in signals:
        key = kind if kind in SIGNAL_KINDS else "other"
        value = UNSCORED_SIGNAL if score is None else min(1.0, max(0.0, float(score)))
        best[key] = max(value, best.get(key, 0.0))
    return best


def raw_matrix(accounts: Sequence[AccountRiskFeatures]) -> FloatMatrix:
    """The inputs as given, one row per account, in `FEATURES` order (for reasons)."""
    n = len(accounts)
    # attrgetter and map keep the per-account work in C: this is the hot loop of a batch.
    behaviour = np.fromiter(
        chain.from_iterable(map(_BEHAVIOUR_GETTER, accounts)),
        dtype=np.float64,
        count=n * _N_BEHAVIOUR,
    ).reshape(n, _N_BEHAVIOUR)
    signals = np.fromiter(
        chain.from_iterable(map(_signal_row, map(_SIGNALS_GETTER, accounts))),
        dtype=np.float64,
        count=n * len(SIGNAL_KINDS),
    ).reshape(n, len(SIGNAL_KINDS))
    return np.hstack([behaviour, signals])


def _signal_row(scores: Mapping[str, float]) -> tuple[float, ...]:
    if not scores:
        return _NO_SIGNALS
    return tuple(scores.get(kind, 0.0) for kind in SIGNAL_KINDS)


def to_features(raw: FloatMatrix) -> FloatMatrix:
    """Scale raw inputs (from `raw_matrix`) into model features, vectorised."""
    x = np.empty_like(raw)
    x[:, 0] = np.clip(1.0 - raw[:, 0] / NEW_ACCOUNT_DAYS, 0.0, 1.0)
    x[:, _LOG_COLUMNS] = np.log1p(np.maximum(raw[:, _LOG_COLUMNS], 0.0))
    x[:, 2] = raw[:, 2] > 0
    x[:, 6] = np.log1p(np.maximum(raw[:, 6], 0.0) / COIN_UNIT)
    x[:, _N_BEHAVIOUR:] = np.clip(raw[:, _N_BEHAVIOUR:], 0.0, 1.0)
    return x


def feature_matrix(accounts: Sequence[AccountRiskFeatures]) -> FloatMatrix:
    """Model features, one row per account, in `FEATURES` order."""
    return to_features(raw_matrix(accounts))
