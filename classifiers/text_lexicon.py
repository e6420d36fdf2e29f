"""A text model with the Hindi and Hinglish lexicon and the extortion cues on top.

The shipped models learnt from English tweets and rank Hindi and Hinglish abuse at
chance; the lexicon (:mod:`classifiers.lexicon`) knows the words. Each label the
lexicon has evidence for scores the larger of the model's probability and the
lexicon's; ``extortion`` (:mod:`classifiers.extortion`) is a label of its own.
Explanations show the lexicon's terms first, then the model's words.

The layer keeps the model's name and version: its scores are stored, and its
versions promoted, as the model's. The lexicon is data shipped with the code.
"""

from __future__ import annotations

from typing import Any

from classifiers.explain import merge_spans
from classifiers.extortion import LABEL as EXTORTION
from classifiers.extortion import extortion, extortion_scores
from classifiers.lexicon import Lexicon, shipped_lexicon
from classifiers.model import Span, TextModel

#: Extortion score at or above which a message is flagged.
EXTORTION_THRESHOLD = 0.5


class LexiconLayer:
    """``model``'s scores, raised by lexicon evidence, plus the extortion label."""

    def __init__(self, model: TextModel, lexicon: Lexicon | None = None) -> None:
        self.model = model
        self.lexicon = lexicon or shipped_lexicon()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.model.labels, EXTORTION)

    @property
    def thresholds(self) -> dict[str, float]:
        return {**self.model.thresholds, EXTORTION: EXTORTION_THRESHOLD}

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.metadata

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """Probability of each label for each text (see the module docstring).

        The lexicon and the extortion cues read each distinct text once (chat repeats
        itself: greetings, spam, a copied insult); their results depend on the text alone.
        """
        rows = self.model.score(texts)
        distinct = list(dict.fromkeys(texts))
        found = dict(zip(distinct, zip(self.lexicon.scores_batch(distinct),
                                       extortion_scores(distinct), strict=True), strict=True))
        for row, text in zip(rows, texts, strict=True):
            evidence, threat = found[text]
            for label, value in evidence.items():
                if label in row and value > row[label]:
                    row[label] = value
            row[EXTORTION] = threat
        return rows

    def flagged(self, scores_row: dict[str, float]) -> list[str]:
        """Labels whose probability reaches their threshold."""
        thresholds = self.thresholds
        return [label for label in self.labels
                if scores_row.get(label, 0.0) >= thresholds[label]]

    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """Lexicon terms (or extortion cues) for ``label`` first, then the model's words."""
        if label == EXTORTION:
            return extortion(text).spans[:top_k]
        terms: list[Span] = [(hit.start, hit.end, hit.evidence)
                             for hit in self.lexicon.hits(text) if label in hit.labels]
        terms.sort(key=lambda span: -span[2])
        return merge_spans(terms, self.model.explain_spans(text, label, top_k), top_k)

    def explain(self, text: str, label: str, top_k: int = 8) -> list[tuple[str, float]]:
        """The pieces of ``text`` that pushed ``label`` up, strongest first."""
        return [(text[s:e], w) for s, e, w in self.explain_spans(text, label, top_k)]
