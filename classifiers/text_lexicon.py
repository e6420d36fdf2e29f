"""A text model with the Hindi and Hinglish lexicon and the extortion cues on top.

The shipped models learnt from English tweets and rank Hindi and Hinglish abuse at
chance; the lexicon (:mod:`classifiers.lexicon`) knows the words. Each label the
lexicon has evidence for scores the larger of the model's probability and the
lexicon's; ``extortion`` (:mod:`classifiers.extortion`) is a label of its own.
Explanations show the lexicon's terms first, then the model's words.

A model does not score a language it has not learnt: for a text wholly in a language
the model's training split held fewer than :data:`MIN_LANGUAGE_ROWS` texts of
(``rows_by_language`` in its metadata, :func:`unread_languages`), the model's labels
score 0 and the model gives no explanation words; the lexicon and the extortion cues
still score it. A model trained on English tweets reads Hinglish function words
(``main``, ``se``, ``aap``) as abuse, since the only Hinglish it saw was abusive.

The layer keeps the model's name and version: its scores are stored, and its
versions promoted, as the model's. The lexicon is data shipped with the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.explain import merge_spans
from classifiers.extortion import LABEL as EXTORTION
from classifiers.extortion import extortion, extortion_scores
from classifiers.language import ENGLISH, SUPPORTED_LANGUAGES, Reading
from classifiers.lexicon import Lexicon, shipped_lexicon
from classifiers.model import Span, TextModel

#: Extortion score at or above which a message is flagged.
EXTORTION_THRESHOLD = 0.5
#: Texts of a language a model's training split must hold for the model to score it.
MIN_LANGUAGE_ROWS = 200
#: The metadata key with the training split's texts per language (``training.py``).
ROWS_BY_LANGUAGE = "rows_by_language"


def unread_languages(metadata: Mapping[str, Any]) -> frozenset[str]:
    """Languages other than English the model learnt from fewer than
    :data:`MIN_LANGUAGE_ROWS` texts of; none when the metadata does not say (a model
    trained before it was recorded reads everything, as it always did)."""
    rows = metadata.get(ROWS_BY_LANGUAGE)
    if rows is None:
        return frozenset()
    return frozenset(language for language in SUPPORTED_LANGUAGES
                     if language != ENGLISH and int(rows.get(language, 0)) < MIN_LANGUAGE_ROWS)


class LexiconLayer:
    """``model``'s scores, raised by lexicon evidence, plus the extortion label."""

    def __init__(self, model: TextModel, lexicon: Lexicon | None = None) -> None:
        self.model = model
        self.lexicon = lexicon or shipped_lexicon()
        self.unread = unread_languages(model.metadata)

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

    def model_unread(self, text: str, reading: Reading | None = None) -> bool:
        """Whether ``text`` is wholly in a language the model has not learnt (``reading``:
        the text already read by the caller, so its language is not identified again)."""
        if not self.unread:
            return False
        return (reading or Reading(text)).other_language() in self.unread

    def score(self, texts: list[str],
              readings: Mapping[str, Reading] | None = None) -> list[dict[str, float]]:
        """Probability of each label for each text (see the module docstring).

        The language check, the lexicon and the extortion cues read each distinct text
        once (chat repeats itself: greetings, spam, a copied insult); their results
        depend on the text alone. The model scores only the texts it can read.
        ``readings`` holds texts the caller has read (:class:`Reading`), whose language
        is then not identified again.
        """
        distinct = list(dict.fromkeys(texts))
        known = readings or {}
        unread = {text for text in distinct if self.model_unread(text, known.get(text))}
        read = [text for text in distinct if text not in unread]
        by_text = dict(zip(read, self.model.score(read), strict=True)) if read else {}
        nothing = dict.fromkeys(self.model.labels, 0.0)
        rows = [dict(by_text.get(text, nothing)) for text in texts]
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

    def explain_spans(self, text: str, label: str, top_k: int = 8,
                      reading: Reading | None = None) -> list[Span]:
        """Lexicon terms (or extortion cues) for ``label`` first, then the model's words
        (``reading``: as for :meth:`model_unread`)."""
        if label == EXTORTION:
            return extortion(text).spans[:top_k]
        terms: list[Span] = [(hit.start, hit.end, hit.evidence)
                             for hit in self.lexicon.hits(text) if label in hit.labels]
        terms.sort(key=lambda span: -span[2])
        words = ([] if self.model_unread(text, reading)
                 else self.model.explain_spans(text, label, top_k))
        return merge_spans(terms, words, top_k)

    def explain(self, text: str, label: str, top_k: int = 8) -> list[tuple[str, float]]:
        """The pieces of ``text`` that pushed ``label`` up, strongest first."""
        return [(text[s:e], w) for s, e, w in self.explain_spans(text, label, top_k)]
