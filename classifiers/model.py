"""What every loaded text model offers, whatever its family."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from classifiers.calibration import Platt

logger = logging.getLogger(__name__)

FloatMatrix = NDArray[np.float64]

#: One explanation item: a piece of the original text and how much it pushed the score.
Span = tuple[int, int, float]


@dataclass
class ModelCard:
    """Identity and operating point of a model version (mirrors ``metadata.json``)."""

    name: str
    version: str
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    platt: dict[str, Platt]
    metadata: dict[str, Any] = field(default_factory=dict)


class TextModel(ABC):
    """A versioned text classifier: calibrated probabilities per label, batched.

    Attributes:
        family: ``"sklearn"`` or ``"transformer"``.
    """

    family: ClassVar[str]

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    @property
    def name(self) -> str:
        """The model's registry name, e.g. ``"text"``."""
        return self.card.name

    @property
    def version(self) -> str:
        """The version directory this model was loaded from."""
        return self.card.version

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels scored, in column order."""
        return self.card.labels

    @property
    def thresholds(self) -> dict[str, float]:
        """Per-label probability at or above which a label is flagged."""
        return self.card.thresholds

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything ``metadata.json`` says about this version."""
        return self.card.metadata

    @abstractmethod
    def raw_scores(self, texts: list[str]) -> FloatMatrix:
        """Uncalibrated scores, one row per text and one column per label."""

    def probabilities(self, texts: list[str]) -> FloatMatrix:
        """Calibrated probabilities, one row per text and one column per label."""
        return self.calibrated(self.raw_scores(texts))

    def calibrated(self, raw: FloatMatrix) -> FloatMatrix:
        """Platt-scaled probabilities for a matrix of raw scores."""
        out = np.empty_like(raw)
        for column, label in enumerate(self.labels):
            out[:, column] = self.card.platt[label](raw[:, column])
        return out

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """Calibrated probability of each label for each text."""
        probs = self.probabilities(texts)
        # Column lists then zip: far fewer GC-tracked temporaries than ndarray.tolist() rows.
        columns = [probs[:, index].tolist() for index in range(len(self.labels))]
        return [dict(zip(self.labels, values, strict=True))
                for values in zip(*columns, strict=True)]

    def flagged(self, scores_row: dict[str, float]) -> list[str]:
        """Labels whose probability reaches their threshold."""
        return [label for label in self.labels
                if scores_row.get(label, 0.0) >= self.thresholds[label]]

    @abstractmethod
    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """``(start, end, weight)`` over the original text for the words that pushed
        ``label`` up the most, strongest first."""

    def explain(self, text: str, label: str, top_k: int = 8) -> list[tuple[str, float]]:
        """The tokens of ``text`` that pushed ``label``'s score up, strongest first."""
        return [(text[start:end], weight)
                for start, end, weight in self.explain_spans(text, label, top_k)]

    @abstractmethod
    def save_artifact(self, directory: Path) -> None:
        """Write the fitted parameters (not ``metadata.json``) into ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, card: ModelCard) -> TextModel:
        """Read what :meth:`save_artifact` wrote."""

    def _check_label(self, label: str) -> int:
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}; this model has {list(self.labels)}")
        return self.labels.index(label)
