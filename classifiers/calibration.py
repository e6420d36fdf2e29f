"""Turning raw model scores into calibrated probabilities and per-label thresholds."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

#: Default precision each label's threshold is chosen for, on the validation split.
TARGET_PRECISION = 0.90


@dataclass(frozen=True)
class Platt:
    """Platt scaling: ``p = 1 / (1 + exp(-(a * score + b)))``."""

    a: float
    b: float

    def __call__(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities for raw scores."""
        z = np.clip(self.a * scores + self.b, -40.0, 40.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        """The two parameters, for ``metadata.json``."""
        return asdict(self)


def fit_platt(scores: FloatArray, labels: FloatArray) -> Platt:
    """Fit Platt scaling on validation scores of one label."""
    if len(np.unique(labels)) < 2:
        logger.warning("one class only in calibration data; using the identity sigmoid")
        return Platt(1.0, 0.0)
    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(scores.reshape(-1, 1), labels.astype(int))
    return Platt(float(model.coef_[0, 0]), float(model.intercept_[0]))


@dataclass(frozen=True)
class Threshold:
    """A label's operating threshold and how it was chosen."""

    value: float
    rule: str
    val_precision: float
    val_recall: float


def choose_threshold(probs: FloatArray, labels: FloatArray,
                     target_precision: float = TARGET_PRECISION) -> Threshold:
    """The threshold with the best recall among those reaching ``target_precision``.

    When no threshold reaches it (rare labels), the F1-maximising threshold is
    used instead and the rule says so.
    """
    if labels.sum() == 0:
        return Threshold(0.5, "default 0.5 (no positives in validation data)", 0.0, 0.0)
    precision, recall, cuts = precision_recall_curve(labels, probs)
    precision, recall = precision[:-1], recall[:-1]
    ok = np.flatnonzero(precision >= target_precision)
    if len(ok):
        best = ok[np.argmax(recall[ok])]
        rule = f"highest recall at validation precision >= {target_precision:.2f}"
    else:
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        best = int(np.argmax(f1))
        rule = f"max F1 (validation precision never reached {target_precision:.2f})"
    return Threshold(float(cuts[best]), rule, float(precision[best]), float(recall[best]))


def best_f1_threshold(probs: FloatArray, labels: FloatArray) -> float:
    """The threshold maximising F1 of the positive class on validation data."""
    if labels.sum() == 0:
        return 0.5
    precision, recall, cuts = precision_recall_curve(labels, probs)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(cuts[int(np.argmax(f1))])
