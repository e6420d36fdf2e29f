"""The fraud-risk scorecard: a logistic model whose every weight a reviewer can read.

``risk = sigmoid(bias + sum(weight_i * feature_i))``, and each ``weight_i * feature_i``
is returned as that feature's contribution, so the console can say why a score is
high. The weights below were set by hand from what the fraud team treats as strong
evidence; once moderators have made enough decisions, `train_from_decisions` fits the
same model to them (see ``training.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from classifiers.fraud.features import (
    FEATURE_NAMES,
    AccountRiskFeatures,
    FloatMatrix,
    raw_matrix,
    to_features,
)

#: A risk at or above this is shown as medium.
MEDIUM_FROM = 0.3
#: A risk at or above this is shown as high.
HIGH_FROM = 0.7
#: How many reasons each score carries (the strongest first).
MAX_REASONS = 5

#: The hand-set scorecard. An account with nothing against it scores sigmoid(-4) = 0.02.
#: Weights multiply the scaled features of ``features.FEATURES``; in brackets, what one
#: typical case adds to the log-odds.
SCORECARD_BIAS = -4.0
SCORECARD_WEIGHTS: Mapping[str, float] = {
    "new_account": 1.0,  # signed up today (+1.0); nothing after 90 days
    "devices_shared_with_banned": 1.6,  # one device (+1.1), three (+2.2)
    "phone_shared_with_banned": 2.0,  # a banned person's phone number (+2.0)
    "payment_failures": 0.6,  # five failed payments in 30 days (+1.1)
    "chargebacks": 1.8,  # one chargeback (+1.2), three (+2.5)
    "gift_velocity": 0.35,  # fifty gifts in a day (+1.4)
    "coin_velocity": 0.4,  # 10,000 coins in a day (+1.8)
    "otp_requests": 0.5,  # ten one-time passwords in a day (+1.2)
    "reports_received": 0.4,  # ten reports in 30 days (+1.0)
    "signal_chargeback": 1.5,  # platform signals: weight times the platform's 0-1 score
    "signal_payment_failure_burst": 1.0,
    "signal_shared_device": 1.2,
    "signal_otp_abuse": 1.2,
    "signal_gift_velocity": 1.0,
    "signal_multi_account": 1.5,
    "signal_other": 0.5,
}


class RiskBand(StrEnum):
    """How the console shows a risk score."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


_BAND_ARRAY = np.array([RiskBand.LOW, RiskBand.MEDIUM, RiskBand.HIGH], dtype=object)
_NAMES = np.array(FEATURE_NAMES, dtype=object)


class Reason(tuple[str, float, float]):
    """One feature's push on a score: ``(feature, value as given, log-odds contribution)``.

    A plain tuple subclass rather than a NamedTuple: building one is a single C call,
    and a batch of a million accounts builds millions of them.
    """

    __slots__ = ()

    @property
    def feature(self) -> str:
        """The feature's name (see ``features.FEATURES``)."""
        return self[0]

    @property
    def value(self) -> float:
        """The input as given, e.g. 3 chargebacks or 45 days."""
        return self[1]

    @property
    def contribution(self) -> float:
        """What it adds to the log-odds."""
        return self[2]

    def __repr__(self) -> str:
        return f"Reason({self[0]!r}, {self[1]!r}, {self[2]!r})"


class RiskScore(NamedTuple):
    """An account's fraud risk.

    Attributes:
        score: Probability-like risk, 0 to 1.
        band: low, medium or high (see `MEDIUM_FROM`, `HIGH_FROM`).
        reasons: Features that raised the score, largest contribution first.
        model: Name of the model that scored it.
    """

    score: float
    band: RiskBand
    reasons: list[Reason]
    model: str


@dataclass(frozen=True)
class RiskModel:
    """A logistic model over `FEATURE_NAMES`: the scorecard, or one fitted to decisions.

    Attributes:
        name: Shown next to every score it makes.
        bias: The log-odds of an account with every feature at zero.
        weights: Log-odds per unit of each scaled feature.
    """

    name: str
    bias: float
    weights: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"weights for unknown features: {sorted(unknown)}")

    def weight_vector(self) -> FloatMatrix:
        """Weights in feature column order (missing ones are 0)."""
        return np.array([self.weights.get(name, 0.0) for name in FEATURE_NAMES])


SCORECARD = RiskModel("fraud-scorecard-v1", SCORECARD_BIAS, SCORECARD_WEIGHTS)


def score_matrix(features: FloatMatrix, model: RiskModel = SCORECARD) -> FloatMatrix:
    """Risk for scaled feature rows (from `feature_matrix`), without reasons."""
    logits = model.bias + features @ model.weight_vector()
    result: FloatMatrix = 1.0 / (1.0 + np.exp(-logits))
    return result


def score_accounts(
    accounts: Sequence[AccountRiskFeatures],
    model: RiskModel = SCORECARD,
    max_reasons: int = MAX_REASONS,
) -> list[RiskScore]:
    """Score accounts in one vectorised pass, each with the reasons for its score.

    Args:
        accounts: The accounts' features.
        model: The scorecard by default, or a model from `train_from_decisions`.
        max_reasons: Keep at most this many reasons per account.

    Returns:
        One `RiskScore` per account, in order.
    """
    if not accounts:
        return []
    raw = raw_matrix(accounts)
    contributions = to_features(raw) * model.weight_vector()
    scores = 1.0 / (1.0 + np.exp(-(model.bias + contributions.sum(axis=1))))
    bands = (scores >= MEDIUM_FROM).astype(np.int8) + (scores >= HIGH_FROM)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :max_reasons]
    top = np.take_along_axis(contributions, order, axis=1)
    # Sorted descending, so each row's positive contributions come first: flatten them,
    # build every Reason in one pass, then cut the list back into rows.
    raised = top > 0
    with _collector_paused():
        return _build_scores(raw, order, top, raised, scores, bands, model.name)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds its result objects.

    A batch builds about five small, acyclic objects per account; with the collector
    on, it runs every 700 allocations and rescans the growing batch each time, which
    measured at nearly two thirds of `score_accounts`' time. Nothing built here can
    form a cycle, so nothing is left for the collector to find afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_scores(
    raw: FloatMatrix,
    order: npt.NDArray[np.intp],
    top: FloatMatrix,
    raised: npt.NDArray[np.bool_],
    scores: FloatMatrix,
    bands: npt.NDArray[np.int8],
    model_name: str,
) -> list[RiskScore]:
    """Python objects from the batch's arrays."""
    # Sorted descending, so each row's positive contributions come first: flatten them,
    # build every Reason in one pass, then cut the list back into rows.
    reasons = list(
        map(
            Reason,
            zip(
                _NAMES[order[raised]].tolist(),
                np.take_along_axis(raw, order, axis=1)[raised].tolist(),
                np.round(top[raised], 4).tolist(),
                strict=True,
            ),
        )
    )
    ends = np.cumsum(raised.sum(axis=1)).tolist()
    starts = [0, *ends[:-1]]
    return list(
        map(
            RiskScore,
            np.round(scores, 4).tolist(),
            _BAND_ARRAY[bands].tolist(),
            [reasons[a:b] for a, b in zip(starts, ends, strict=True)],
            repeat(model_name, len(scores)),
        )
    )
