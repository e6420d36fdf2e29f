"""Metrics for text models on labelled frames (held-out splits or moderator decisions)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from classifiers.model import FloatMatrix, TextModel

logger = logging.getLogger(__name__)

#: Davidson's published figures, for comparison in reports.
DAVIDSON_PAPER = {"weighted_f1": 0.90, "hate_f1": 0.51}
#: OLID sub-task A macro F1: the paper's CNN.
OLID_PAPER_MACRO_F1 = 0.80


def binary_metrics(y: NDArray[np.float64], p: NDArray[np.float64], threshold: float,
                   f1_threshold: float = 0.5) -> dict[str, float]:
    """F1 (macro and per class) at the F1 threshold chosen on validation, ROC-AUC, and
    macro F1, precision and recall at the operating (precision-target) threshold."""
    truth = y.astype(int)
    decided = (p >= f1_threshold).astype(int)
    at_threshold = (p >= threshold).astype(int)
    per_class = f1_score(truth, decided, average=None, labels=[0, 1], zero_division=0.0)
    both = len(np.unique(truth)) == 2
    return {
        "n": float(len(truth)),
        "positives": float(truth.sum()),
        "macro_f1": float(f1_score(truth, decided, average="macro", zero_division=0.0)),
        "macro_f1_at_half": float(f1_score(truth, (p >= 0.5).astype(int), average="macro",
                                           zero_division=0.0)),
        "f1_neg": float(per_class[0]),
        "f1_pos": float(per_class[1]),
        "roc_auc": float(roc_auc_score(truth, p)) if both else float("nan"),
        "macro_f1_at_threshold": float(f1_score(truth, at_threshold, average="macro",
                                                zero_division=0.0)),
        "precision_at_threshold": float(precision_score(truth, at_threshold,
                                                        zero_division=0.0)),
        "recall_at_threshold": float(recall_score(truth, at_threshold, zero_division=0.0)),
    }


def davidson_three_class(probs: FloatMatrix, labels: tuple[str, ...],
                         classes: NDArray[np.int64],
                         f1_thresholds: dict[str, float]) -> dict[str, float]:
    """Davidson's 3-way task from our labels: hate, else offensive (abusive), else neither.

    Each decision uses the label's F1 threshold chosen on validation data.
    """
    hate = probs[:, labels.index("hate")] >= f1_thresholds.get("hate", 0.5)
    abusive = probs[:, labels.index("abusive")] >= f1_thresholds.get("abusive", 0.5)
    predicted = np.where(hate, 0, np.where(abusive, 1, 2))
    per_class = f1_score(classes, predicted, average=None, labels=[0, 1, 2], zero_division=0.0)
    return {"weighted_f1": float(f1_score(classes, predicted, average="weighted")),
            "macro_f1": float(f1_score(classes, predicted, average="macro")),
            "hate_f1": float(per_class[0]), "offensive_f1": float(per_class[1]),
            "neither_f1": float(per_class[2])}


def evaluate_probs(probs: FloatMatrix, frame: pd.DataFrame, labels: tuple[str, ...],
                   thresholds: dict[str, float],
                   f1_thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """Metrics for every label that has both classes among the frame's known rows."""
    f1_thresholds = f1_thresholds or {}
    out: dict[str, Any] = {}
    for column, label in enumerate(labels):
        if label not in frame.columns:
            continue
        y = frame[label].to_numpy(dtype=np.float64)
        known = ~np.isnan(y)
        if len(np.unique(y[known])) < 2:
            continue
        out[label] = binary_metrics(y[known], probs[known, column], thresholds[label],
                                    f1_thresholds.get(label, 0.5))
    if "davidson_class" in frame.columns and {"abusive", "hate"} <= set(labels):
        out["three_class"] = davidson_three_class(
            probs, labels, frame["davidson_class"].to_numpy(dtype=np.int64), f1_thresholds)
    return out


def evaluate_model(model: TextModel, tests: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Metrics of a model on each named test frame."""
    return {name: evaluate_probs(model.probabilities(frame["text"].tolist()), frame,
                                 model.labels, model.thresholds, f1_thresholds(model))
            for name, frame in tests.items()}


def f1_thresholds(model: TextModel) -> dict[str, float]:
    """Each label's F1-maximising validation threshold, from the model's metadata."""
    calibration = model.metadata.get("calibration", {})
    return {label: float(calibration.get(label, {}).get("best_f1_threshold", 0.5))
            for label in model.labels}


def headline(metrics: dict[str, Any]) -> float:
    """Mean macro F1 over every (dataset, label) pair: one number to compare versions."""
    values = [scores["macro_f1"] for per_label in metrics.values()
              for label, scores in per_label.items() if label != "three_class"]
    return float(np.mean(values)) if values else float("nan")
