"""The combination: the mean of its parts' calibrated probabilities.

``text-ensemble`` is the sklearn and transformer families; ``text-review`` the sklearn
and adapted families (``classifiers combine``). Its own Platt scaling and thresholds are
fitted on the validation split over that mean. A saved version holds each part in a
sub-directory named by its family (``sklearn/``, ``transformer/``, ``adapted/``), each
a complete version directory of its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from classifiers.model import FloatMatrix, ModelCard, Span, TextModel
from classifiers.registry import load_version_dir, write_version

logger = logging.getLogger(__name__)

#: The parts of a version whose metadata does not name them.
PART_NAMES = ("sklearn", "transformer")


class EnsembleTextModel(TextModel):
    """Average of calibrated part probabilities, re-calibrated."""

    family = "ensemble"

    def __init__(self, card: ModelCard, parts: list[TextModel]) -> None:
        super().__init__(card)
        self.parts = parts

    def raw_scores(self, texts: list[str]) -> FloatMatrix:
        """Mean calibrated probability of the parts (the ensemble's raw score)."""
        stacked = np.stack([part.probabilities(texts) for part in self.parts])
        return np.asarray(stacked.mean(axis=0), dtype=np.float64)

    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """Each part's word weights, halved and summed per span."""
        self._check_label(label)
        merged: dict[tuple[int, int], float] = {}
        for part in self.parts:
            for start, end, weight in part.explain_spans(text, label, top_k=64):
                merged[(start, end)] = merged.get((start, end), 0.0) + weight / len(self.parts)
        ranked = sorted(merged.items(), key=lambda item: item[1], reverse=True)[:top_k]
        return [(start, end, round(weight, 6)) for (start, end), weight in ranked]

    def save_artifact(self, directory: Path) -> None:
        """Write each part as a complete version directory under ``directory``."""
        families = [part.family for part in self.parts]
        if len(set(families)) != len(families):
            raise ValueError(f"an ensemble's parts must be of different families: {families}")
        for part in self.parts:
            write_version(directory / part.family, part)

    @classmethod
    def load(cls, directory: Path, card: ModelCard) -> EnsembleTextModel:
        """Load the parts from their sub-directories."""
        names = list(card.metadata.get("config", {}).get("parts") or PART_NAMES)
        return cls(card, [load_version_dir(str(directory / name)) for name in names])
