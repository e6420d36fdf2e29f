"""Mapping per-word evidence in the normalised text back to the original text."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from classifiers.features import word_bounds
from classifiers.model import Span
from classifiers.normalise import normalise_with_offsets


class WordMap:
    """Words of a text's normalised form, with their spans in the original text."""

    def __init__(self, text: str) -> None:
        self.normalised, offsets = normalise_with_offsets(text)
        bounds = word_bounds(self.normalised)
        self.words = [self.normalised[start:end] for start, end in bounds]
        self.starts = np.array([start for start, _ in bounds], dtype=np.int64)
        self.original: list[tuple[int, int]] = [
            (offsets[start][0], offsets[end - 1][1]) for start, end in bounds]

    def word_of(self, positions: NDArray[np.int64]) -> NDArray[np.int64]:
        """Index of the word holding each normalised position (-1 before the first)."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def top_spans(self, weights: NDArray[np.float64], top_k: int) -> list[Span]:
        """The ``top_k`` words with the largest positive weight, as original spans.

        Words that normalise to one original span (a spaced-out word) are merged.
        """
        merged: dict[tuple[int, int], float] = {}
        for index, weight in enumerate(weights.tolist()):
            merged[self.original[index]] = merged.get(self.original[index], 0.0) + weight
        ranked = sorted(merged.items(), key=lambda item: item[1], reverse=True)
        return [(start, end, round(weight, 6)) for (start, end), weight in ranked[:top_k]
                if weight > 0]


def merge_spans(first: list[Span], second: list[Span], top_k: int = 8) -> list[Span]:
    """``first`` (e.g. lexicon terms) then the spans of ``second`` that overlap none of them.

    Both lists are ``(start, end, weight)`` over the same original text.
    """
    merged = list(first)
    for start, end, weight in second:
        if all(end <= s or start >= e for s, e, _ in merged):
            merged.append((start, end, weight))
    return merged[:top_k]
