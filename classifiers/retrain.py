"""Learning from moderators: retrain on shipped data plus decisions, promote only if no worse.

Decisions that repeat a message of the chat test set (:mod:`classifiers.chat_test_set`)
or of a shipped English test split are left out: those sets only measure. The most
recent 20% of decisions (by ``decided_at`` when given, else by order) are held back.
The candidate is trained on the shipped training splits plus the older decisions, then
compared with the active version on the held-back decisions and on the held-apart sets
no training sees (:mod:`classifiers.held_apart`: the team's Hindi and Hinglish chat test
set, as a whole and per script, and the English test splits). It is promoted only when
it is not worse on any of them (within each one's stated tolerance); the registry
records why, either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from classifiers.chat_test_set import drop_test_texts
from classifiers.datasets import LABELS, Splits, sha256_frame, shipped_splits
from classifiers.evaluation import evaluate_model, evaluate_probs, f1_thresholds, headline
from classifiers.held_apart import (
    ENGLISH_TOLERANCE,
    Comparison,
    chat_comparisons,
    drop_english_test_texts,
)
from classifiers.model import TextModel
from classifiers.registry import ModelRegistry
from classifiers.training import TrainingRequest, train

logger = logging.getLogger(__name__)

NONE_LABEL = "none"
#: Share of the most recent decisions held back for the comparison.
HOLDOUT_SHARE = 0.2
#: A moderator decision weighs this many shipped rows: they are few, recent and ours.
DECISION_WEIGHT = 3.0
#: How much worse on the shipped tests (mean macro F1) a candidate may be and still count
#: as "not worse": retraining on new data moves the English figures by noise alone.
SHIPPED_TOLERANCE = ENGLISH_TOLERANCE

_ALIASES = {"1": "abusive", "0": NONE_LABEL, "": NONE_LABEL}


@dataclass
class RetrainResult:
    """What a retrain did and why."""

    name: str
    candidate_version: str
    active_version: str
    promoted: bool
    reason: str
    holdout: dict[str, Any] = field(default_factory=dict)
    shipped: dict[str, Any] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)


def decisions_to_frame(decisions: pd.DataFrame) -> pd.DataFrame:
    """Map ``text,label[,decided_at]`` decisions onto label columns.

    ``abusive`` and ``spam_scam`` set their label; ``hate`` sets hate and abusive;
    ``none`` (a dismissal) sets every label to 0; ``1``/``0`` read as abusive/none.
    Labels a decision says nothing about stay unknown (NaN).

    Raises:
        ValueError: a required column is missing or a label is not known.
    """
    missing = {"text", "label"} - set(decisions.columns)
    if missing:
        raise ValueError(f"decisions need columns text,label (missing {sorted(missing)})")
    names = decisions["label"].astype(str).str.strip().str.lower()
    names = names.map(lambda value: _ALIASES.get(value, value))
    unknown = sorted(set(names) - {*LABELS, NONE_LABEL})
    if unknown:
        raise ValueError(f"unknown labels {unknown}; use one of {[*LABELS, NONE_LABEL]}")
    frame = pd.DataFrame({"text": decisions["text"].astype(str).to_numpy()})
    for label in LABELS:
        frame[label] = np.where(names == label, 1.0, np.where(names == NONE_LABEL, 0.0, np.nan))
    frame.loc[(names == "hate").to_numpy(), "abusive"] = 1.0
    if "decided_at" in decisions.columns:
        frame["decided_at"] = pd.to_datetime(decisions["decided_at"], utc=True,
                                             errors="coerce").to_numpy()
    return frame


def split_recent(frame: pd.DataFrame,
                 share: float = HOLDOUT_SHARE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Older decisions and the most recent ``share`` of them."""
    if "decided_at" in frame.columns and frame["decided_at"].notna().any():
        frame = frame.sort_values("decided_at", kind="stable", na_position="first")
    cut = len(frame) - max(1, int(round(len(frame) * share)))
    return frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)


def _holdout_score(model: TextModel, holdout: pd.DataFrame) -> tuple[float, dict[str, Any]]:
    """Mean macro F1 at the operating thresholds over labels with both classes."""
    metrics = evaluate_probs(model.probabilities(holdout["text"].tolist()), holdout,
                             model.labels, model.thresholds, f1_thresholds(model))
    values = [scores["macro_f1_at_threshold"] for label, scores in metrics.items()
              if label in model.labels]
    return (float(np.mean(values)) if values else float("nan")), metrics


def _training_request(name: str, family: str, older: pd.DataFrame) -> TrainingRequest:
    base = shipped_splits()
    calibration = older.iloc[::5]
    learn = older.drop(index=calibration.index)
    train_frame = pd.concat([base.train, learn[["text", *LABELS]]], ignore_index=True)
    val_frame = pd.concat([base.val, calibration[["text", *LABELS]]], ignore_index=True)
    weights = np.concatenate([np.ones(len(base.train)), np.full(len(learn), DECISION_WEIGHT)])
    extra = [{"source": "moderator decisions", "rows": len(older), "train_rows": len(learn),
              "calibration_rows": len(calibration), "weight": DECISION_WEIGHT,
              "sha256": sha256_frame(older)}]
    return TrainingRequest(name, family, Splits(train_frame, val_frame, base.test),
                           train_weights=weights, extra_data=extra)


def retrain(registry: ModelRegistry, name: str, decisions: pd.DataFrame,
            family: str | None = None) -> RetrainResult:
    """Train a candidate with moderator decisions; promote it only if it is not worse.

    Args:
        registry: where the active version is read and the candidate written.
        name: model name, e.g. ``"text"``.
        decisions: ``text,label`` and optionally ``decided_at``.
        family: candidate family; defaults to the active version's.
    """
    active = registry.load(name)
    frame, dropped = drop_test_texts(decisions_to_frame(decisions))
    if dropped:
        logger.warning("retrain %s: %d decisions repeat a chat test set message; left out",
                       name, dropped)
    frame, dropped = drop_english_test_texts(frame)
    if dropped:
        logger.warning("retrain %s: %d decisions repeat a shipped test split text; left out",
                       name, dropped)
    older, recent = split_recent(frame)
    candidate = train(_training_request(name, family or active.family, older))
    cand_holdout, cand_holdout_metrics = _holdout_score(candidate, recent)
    act_holdout, act_holdout_metrics = _holdout_score(active, recent)
    cand_shipped = headline(candidate.metadata["metrics"])
    act_shipped = headline(evaluate_model(active, shipped_splits().test))
    comparisons = [Comparison(f"held-back decisions ({len(recent)})", cand_holdout,
                              act_holdout, 0.0),
                   Comparison("English shipped test splits (mean)", cand_shipped, act_shipped,
                              SHIPPED_TOLERANCE),
                   *chat_comparisons(candidate, active)]
    promoted = all(comparison.ok for comparison in comparisons)
    details = "; ".join(comparison.describe() for comparison in comparisons)
    worse = [comparison.name for comparison in comparisons if not comparison.ok]
    result = RetrainResult(
        name, candidate.version, active.version, promoted,
        ("promoted: not worse on any. " if promoted
         else "kept active: worse on " + " and ".join(worse) + ". ") + details,
        {"candidate": cand_holdout_metrics, "active": act_holdout_metrics,
         "candidate_score": cand_holdout, "active_score": act_holdout, "rows": len(recent)},
        {"candidate": cand_shipped, "active": act_shipped}, comparisons)
    candidate.card.metadata["retrain"] = {
        "against": active.version, "promoted": promoted, "reason": result.reason,
        "holdout": result.holdout, "shipped": result.shipped,
        "held_apart": {c.name: {"candidate": c.candidate, "active": c.active,
                                "tolerance": c.tolerance, "ok": c.ok} for c in comparisons}}
    registry.save(candidate)
    if promoted:
        registry.promote(name, candidate.version, result.reason)
    else:
        registry.record(name, candidate.version, "not_promoted_reason", result.reason)
    logger.info("retrain %s: %s", name, result.reason)
    return result
