"""The team's held-apart sets, on which a retrained model must not lose to be promoted.

Held-back moderator decisions come from the same stream as the decisions a candidate
learnt from, so a candidate nearly always looks better on them. Promotion therefore
also compares candidate and active version on sets no training ever sees:

* the team's Hindi and Hinglish chat test set (:mod:`classifiers.chat_test_set`),
  scored as the workbench scores (the model under the lexicon and extortion layer,
  :class:`classifiers.text_lexicon.LexiconLayer`): macro-F1 of "any label flagged"
  against the set's ``abusive`` column, on all of it and on each script (Latin,
  Devanagari), so that gaining Hinglish cannot hide losing Devanagari;
* the English test splits of the shipped datasets (Davidson, OLID, SMS spam: the 20%
  the fixed split keeps out of training; retraining also leaves out decisions that
  repeat one of their texts), mean macro-F1 over every dataset and label.

Each comparison allows a small stated tolerance: retraining on new data moves the
figures by a little for reasons that are not a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from classifiers.chat_test_set import load_chat_test_set, text_key
from classifiers.datasets import shipped_splits
from classifiers.model import TextModel
from classifiers.text_lexicon import LexiconLayer

#: How much lower (macro-F1) a candidate may score on a part of the chat test set and
#: still count as "no loss". A chosen bound, not a measured noise level: on the 143
#: Devanagari messages it is roughly two or three messages turning from right to wrong.
CHAT_TOLERANCE = 0.02
#: The same for the English test splits' mean macro-F1.
ENGLISH_TOLERANCE = 0.01
#: Parts of the chat test set compared, by ``script`` (``None``: every message).
CHAT_PARTS: dict[str, str | None] = {"chat test set": None,
                                     "chat test set, Hinglish (Latin)": "latn",
                                     "chat test set, Hindi (Devanagari)": "deva"}


@dataclass(frozen=True)
class Comparison:
    """Candidate and active version on one held-apart set."""

    name: str
    candidate: float
    active: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """No loss beyond the tolerance.

        Both NaN (nothing measurable, e.g. held-back decisions of one class) is no loss;
        a NaN on one side only is.
        """
        if np.isnan(self.candidate) and np.isnan(self.active):
            return True
        return bool(self.candidate >= self.active - self.tolerance)

    def describe(self) -> str:
        """``name: macro F1 0.700 vs active 0.710 (tolerance 0.02)``."""
        return (f"{self.name}: macro F1 {self.candidate:.3f} vs active {self.active:.3f} "
                f"(tolerance {self.tolerance})")


def flag_any(model: TextModel | LexiconLayer, texts: list[str]) -> np.ndarray:
    """Whether any label of each text reaches its threshold."""
    return np.array([bool(model.flagged(row)) for row in model.score(texts)], dtype=bool)


def chat_scores(model: TextModel, test: pd.DataFrame | None = None) -> dict[str, float]:
    """Macro-F1 per :data:`CHAT_PARTS` of ``model`` under the lexicon layer."""
    test = load_chat_test_set() if test is None else test
    flagged = flag_any(LexiconLayer(model), test["text"].tolist())
    gold = test["abusive"].to_numpy()
    out: dict[str, float] = {}
    for name, script in CHAT_PARTS.items():
        mask = np.ones(len(test), dtype=bool) if script is None \
            else (test["script"] == script).to_numpy()
        out[name] = float(f1_score(gold[mask], flagged[mask], average="macro",
                                   zero_division=0.0))
    return out


def chat_comparisons(candidate: TextModel, active: TextModel) -> list[Comparison]:
    """Candidate against active on each part of the chat test set."""
    test = load_chat_test_set()
    cand, act = chat_scores(candidate, test), chat_scores(active, test)
    return [Comparison(name, cand[name], act[name], CHAT_TOLERANCE) for name in CHAT_PARTS]


@lru_cache(maxsize=1)
def _english_test_keys() -> frozenset[str]:
    return frozenset(text_key(text) for frame in shipped_splits().test.values()
                     for text in frame["text"])


def drop_english_test_texts(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``frame`` without rows whose ``text`` is in a shipped test split, and how many went."""
    keys = _english_test_keys()
    mask = np.array([text_key(text) in keys for text in frame["text"].astype(str)],
                    dtype=bool)
    return frame.loc[~mask], int(mask.sum())
