"""Fitting a text model of any family: fit, calibrate on validation, pick thresholds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from classifiers.calibration import (
    TARGET_PRECISION,
    Platt,
    best_f1_threshold,
    choose_threshold,
    fit_platt,
)
from classifiers.chat_test_set import refuse_test_texts
from classifiers.datasets import LABELS, Splits, data_provenance, sha256_frame
from classifiers.evaluation import evaluate_model
from classifiers.language import rows_by_language
from classifiers.model import FloatMatrix, ModelCard, TextModel
from classifiers.text_adapted import (
    AdaptedConfig,
    AdaptedTextModel,
    config_description,
    fit_network,
)
from classifiers.text_ensemble import EnsembleTextModel
from classifiers.text_sklearn import SklearnConfig, SklearnTextModel, fit_tables
from classifiers.text_transformer import TransformerTextModel, embed_texts, fit_head

logger = logging.getLogger(__name__)

FAMILIES = ("sklearn", "transformer", "ensemble", "adapted")

#: The family the ``text`` model uses unless told otherwise (see the table in docs/classifiers.md).
DEFAULT_FAMILY = "sklearn"

Embedder = Callable[[list[str]], NDArray[np.float32]]


def new_version() -> str:
    """A sortable version name from the current UTC time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class TrainingRequest:
    """What to fit and on what.

    Attributes:
        name: registry name, e.g. ``"text"``.
        family: ``"sklearn"``, ``"transformer"``, ``"ensemble"`` or ``"adapted"``.
        splits: training and validation data (tests are evaluated if present).
        target_precision: validation precision each threshold is chosen for.
        train_weights: optional per-row sample weights for ``splits.train``.
        extra_data: description of data beyond the shipped sets (for metadata).
        progress: show progress bars.
        embedder: how the transformer family embeds texts (the bench caches).
        adapted: how the adapted family trains (its defaults when ``None``).
    """

    name: str
    family: str
    splits: Splits
    target_precision: float = TARGET_PRECISION
    train_weights: NDArray[np.float64] | None = None
    extra_data: list[dict[str, Any]] = field(default_factory=list)
    progress: bool = False
    embedder: Embedder | None = None
    adapted: AdaptedConfig | None = None


class CachedEmbedder:
    """Embed each distinct text once (training an ensemble embeds val twice otherwise)."""

    def __init__(self, progress: bool = False) -> None:
        self.progress = progress
        self.vectors: dict[str, NDArray[np.float32]] = {}

    def __call__(self, texts: list[str]) -> NDArray[np.float32]:
        todo = sorted(set(texts) - self.vectors.keys())
        if todo:
            self.vectors.update(zip(todo, embed_texts(todo, self.progress), strict=True))
        return np.stack([self.vectors[text] for text in texts])


def compose_ensemble(parts: list[TextModel], request: TrainingRequest) -> TextModel:
    """An ensemble of already-fitted parts, calibrated on ``request.splits.val``."""
    ensemble = EnsembleTextModel(_uncalibrated_card(request), parts)
    calibration = calibrate(ensemble, ensemble.raw_scores(request.splits.val["text"].tolist()),
                            request.splits.val, request.target_precision)
    _describe(ensemble, request, calibration)
    return ensemble


def _uncalibrated_card(request: TrainingRequest) -> ModelCard:
    return ModelCard(request.name, new_version(), LABELS, {label: 0.5 for label in LABELS},
                     {label: Platt(1.0, 0.0) for label in LABELS})


def _fit_family(request: TrainingRequest) -> tuple[TextModel, FloatMatrix]:
    """Fit the model and return it with its raw scores on the validation split."""
    card = _uncalibrated_card(request)
    train, val = request.splits.train, request.splits.val
    if request.family == "sklearn":
        config = SklearnConfig()
        tables = fit_tables(train, LABELS, config, request.train_weights, request.progress)
        sk_model = SklearnTextModel(card, config, tables)
        return sk_model, sk_model.raw_scores(val["text"].tolist())
    if request.family == "transformer":
        embed = request.embedder or (lambda texts: embed_texts(texts, request.progress))
        coef, intercept = fit_head(embed(train["text"].tolist()), train, LABELS,
                                   request.train_weights)
        tf_model = TransformerTextModel(card, coef, intercept)
        tf_model.embedder = embed
        return tf_model, tf_model.raw_from_embeddings(embed(val["text"].tolist()))
    if request.family == "ensemble":
        embedder = request.embedder or CachedEmbedder(request.progress)
        parts = [train(replace(request, family=family, embedder=embedder,
                               splits=Splits(train, val, {})))
                 for family in ("sklearn", "transformer")]
        ensemble = EnsembleTextModel(card, parts)
        return ensemble, ensemble.raw_scores(val["text"].tolist())
    if request.family == "adapted":
        adapted_config = request.adapted or AdaptedConfig()
        network, losses = fit_network(train, LABELS, adapted_config, request.train_weights,
                                      request.progress)
        adapted = AdaptedTextModel.fitted(card, adapted_config, network)
        adapted.losses = losses
        return adapted, adapted.raw_scores(val["text"].tolist())
    raise ValueError(f"unknown family {request.family!r}; choose from {FAMILIES}")


def calibrate(model: TextModel, raw_val: FloatMatrix, val: pd.DataFrame,
              target_precision: float) -> dict[str, Any]:
    """Fit Platt scaling and choose thresholds on validation data, in place."""
    details: dict[str, Any] = {}
    for column, label in enumerate(model.labels):
        y = val[label].to_numpy(dtype=np.float64)
        known = ~np.isnan(y)
        platt = fit_platt(raw_val[known, column], y[known])
        probs = platt(raw_val[known, column])
        threshold = choose_threshold(probs, y[known], target_precision)
        model.card.platt[label] = platt
        model.card.thresholds[label] = threshold.value
        details[label] = {"platt": platt.to_dict(), **asdict(threshold),
                          "best_f1_threshold": best_f1_threshold(probs, y[known])}
    return details


def train(request: TrainingRequest) -> TextModel:
    """Fit, calibrate and (when the splits have tests) evaluate a model; fill its metadata.

    Raises:
        ValueError: a training or validation text is on the chat test set.
    """
    refuse_test_texts(request.splits.train["text"], "the training split")
    refuse_test_texts(request.splits.val["text"], "the validation split")
    logger.info("training %s (%s) on %d texts", request.name, request.family,
                len(request.splits.train))
    model, raw_val = _fit_family(request)
    calibration = calibrate(model, raw_val, request.splits.val, request.target_precision)
    _describe(model, request, calibration)
    return model


def _describe(model: TextModel, request: TrainingRequest, calibration: dict[str, Any]) -> None:
    """Fill ``metadata.json`` (evaluating on the test splits, if there are any)."""
    model.card.metadata["calibration"] = calibration
    metrics = evaluate_model(model, request.splits.test) if request.splits.test else {}
    model.card.metadata = {
        "name": model.name, "version": model.version, "family": model.family,
        "labels": list(model.labels), "thresholds": dict(model.thresholds),
        "target_precision": request.target_precision, "calibration": calibration,
        "metrics": metrics,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": {
            "files": data_provenance(), "extra": request.extra_data,
            "train_rows": len(request.splits.train), "val_rows": len(request.splits.val),
            "train_sha256": sha256_frame(request.splits.train),
            "val_sha256": sha256_frame(request.splits.val),
        },
        "splits": "70/10/20 stratified per dataset, random_state=42",
        # Which languages the model may score (classifiers.text_lexicon.unread_languages).
        "rows_by_language": rows_by_language(request.splits.train["text"].tolist()),
        "config": _config(model),
        "promotions": [],
    }


def _config(model: TextModel) -> dict[str, Any]:
    if isinstance(model, SklearnTextModel):
        return asdict(model.config)
    if isinstance(model, AdaptedTextModel):
        return {**config_description(model.config), "loss_per_epoch": model.losses}
    if isinstance(model, EnsembleTextModel):
        return {"combination": "mean of calibrated part probabilities, Platt re-calibrated",
                "parts": {part.family: part.version for part in model.parts}}
    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_transformer import HEAD_C, encoder_pointer

    return {"head": "logistic regression per label, class_weight=balanced", "C": HEAD_C,
            "encoder": encoder_pointer()}
