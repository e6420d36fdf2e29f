"""The scikit-learn family: TF-IDF over hashed word and character n-grams, a linear model.

Features are L1-normalised TF-IDF, one block for character n-grams (2-5, inside
words) and one for word uni- and bigrams, as scikit-learn's ``TfidfTransformer
(norm="l1")`` would compute them over the hashed counts (smooth idf, buckets seen
in fewer than ``min_df`` training texts dropped). L1 normalisation is what makes
the hot path cheap: a document's score is a sum of per-occurrence look-ups
divided by a sum of per-occurrence idfs, so scoring needs no sparse matrix at all.
Training builds the exact sparse matrix and fits one logistic regression per label.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from classifiers.explain import WordMap
from classifiers.features import Int64Array, NgramHasher
from classifiers.model import FloatMatrix, ModelCard, Span, TextModel
from classifiers.normalise import normalise_batch

logger = logging.getLogger(__name__)

ARTIFACT = "model.joblib"

#: Texts scored per numpy pass: big enough to amortise, small enough to stay in cache.
CHUNK = 1000


@dataclass(frozen=True)
class SklearnConfig:
    """Hyper-parameters of the sklearn family (recorded in metadata)."""

    char_bits: int = 19
    word_bits: int = 19
    char_min: int = 3
    char_max: int = 5
    min_df: int = 2
    C: float = 4.0  # noqa: N815 - scikit-learn's name
    class_weight: str | None = "balanced"

    def hasher(self) -> NgramHasher:
        """The featuriser this configuration describes."""
        return NgramHasher(self.char_bits, self.word_bits, self.char_min, self.char_max)


@dataclass
class LinearTables:
    """Per-bucket ``[idf, idf * coef_label...]`` rows for each block, plus intercepts."""

    char: NDArray[np.float32]
    word: NDArray[np.float32]
    intercept: NDArray[np.float64]


def _block_scores(table: NDArray[np.float32], doc: Int64Array, bucket: Int64Array,
                  n_docs: int) -> FloatMatrix:
    """Per document: sum of ``idf * coef`` over occurrences / sqrt(sum of ``idf**2``).

    Occurrences are sorted by document, so one ``reduceat`` sums each document's rows.
    """
    rows = np.take(table, bucket, axis=0)
    counts = np.bincount(doc, minlength=n_docs)
    present = counts > 0
    sums = np.zeros((n_docs, table.shape[1]), dtype=np.float64)
    if len(rows):
        starts = (np.cumsum(counts) - counts)[present]
        sums[present] = np.add.reduceat(rows, starts, axis=0)
    denominator = np.sqrt(np.where(sums[:, 0] > 0, sums[:, 0], 1.0))
    return np.asarray(sums[:, 1:] / denominator[:, None], dtype=np.float64)


class SklearnTextModel(TextModel):
    """Hashed TF-IDF + logistic regression per label, Platt-calibrated."""

    family = "sklearn"

    def __init__(self, card: ModelCard, config: SklearnConfig, tables: LinearTables) -> None:
        super().__init__(card)
        self.config = config
        self.hasher = config.hasher()
        self.tables = tables

    def raw_scores(self, texts: list[str]) -> FloatMatrix:
        """Linear decision values, one column per label."""
        parts = [self._raw_chunk(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)]
        if not parts:
            return np.zeros((0, len(self.labels)))
        return np.concatenate(parts)

    def _raw_chunk(self, texts: list[str]) -> FloatMatrix:
        occ = self.hasher.occurrences(normalise_batch(texts))
        n = len(texts)
        return (_block_scores(self.tables.char, occ.char_doc, occ.char_bucket, n)
                + _block_scores(self.tables.word, occ.word_doc, occ.word_bucket, n)
                + self.tables.intercept)

    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """Exact linear contributions of each word's n-grams, summed per word."""
        column = self._check_label(label) + 1
        words = WordMap(text)
        if not words.words:
            return []
        occ = self.hasher.occurrences([words.normalised], spans=True)
        weights = np.zeros(len(words.words))
        # Spans count from the joined batch's leading separator (position 0).
        char_rows = self.tables.char[occ.char_bucket].astype(np.float64)
        char_word = words.word_of(occ.char_span[:, 0])
        _add(weights, char_word, char_rows[:, column] / (char_rows[:, 0].sum() or 1.0))
        word_rows = self.tables.word[occ.word_bucket].astype(np.float64)
        contribution = word_rows[:, column] / (word_rows[:, 0].sum() or 1.0)
        # A bigram shares its weight between its two words.
        _add(weights, words.word_of(occ.word_span[:, 0] - 1), 0.5 * contribution)
        _add(weights, words.word_of(occ.word_span[:, 1] - 2), 0.5 * contribution)
        return words.top_spans(weights, top_k)

    def save_artifact(self, directory: Path) -> None:
        """Store only the buckets seen in training, as float16, compressed."""
        payload: dict[str, Any] = {"config": asdict(self.config),
                                   "intercept": self.tables.intercept}
        for block, table in (("char", self.tables.char), ("word", self.tables.word)):
            used = np.flatnonzero(table[:, 0] > 0).astype(np.uint32)
            payload[f"{block}_index"] = used
            payload[f"{block}_rows"] = table[used].astype(np.float16)
        joblib.dump(payload, directory / ARTIFACT, compress=("xz", 6))

    @classmethod
    def load(cls, directory: Path, card: ModelCard) -> SklearnTextModel:
        """Rebuild the dense look-up tables from a saved artifact."""
        payload = joblib.load(directory / ARTIFACT)
        config = SklearnConfig(**payload["config"])
        tables = LinearTables(
            _dense(payload["char_index"], payload["char_rows"], 1 << config.char_bits),
            _dense(payload["word_index"], payload["word_rows"], 1 << config.word_bits),
            np.asarray(payload["intercept"], dtype=np.float64))
        return cls(card, config, tables)


def _add(weights: FloatMatrix, index: Int64Array, values: FloatMatrix) -> None:
    ok = index >= 0
    np.add.at(weights, index[ok], values[ok])


def _dense(index: NDArray[np.uint32], rows: NDArray[np.float16], size: int) -> NDArray[np.float32]:
    table = np.zeros((size, rows.shape[1]), dtype=np.float32)
    table[index.astype(np.int64)] = rows.astype(np.float32)
    return table


def _tfidf_block(doc: Int64Array, bucket: Int64Array, n_docs: int, bits: int,
                 min_df: int) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    counts = sp.csr_matrix((np.ones(len(doc), dtype=np.float64), (doc, bucket)),
                           shape=(n_docs, 1 << bits))
    df = np.bincount(counts.indices, minlength=1 << bits)
    idf = np.where(df >= min_df, np.log((1 + n_docs) / (1 + df)) + 1.0, 0.0)
    weighted = sp.csr_matrix(counts @ sp.diags(idf))
    row_sums = np.asarray((counts @ sp.diags(idf**2)).sum(axis=1)).ravel()
    scale = sp.diags(1.0 / np.sqrt(np.where(row_sums > 0, row_sums, 1.0)))
    return sp.csr_matrix(scale @ weighted), idf


def fit_tables(train: pd.DataFrame, labels: tuple[str, ...], config: SklearnConfig,
               weights: NDArray[np.float64] | None = None,
               progress: bool = False) -> LinearTables:
    """Fit idf and one logistic regression per label on rows where that label is known.

    Args:
        train: frame with ``text`` and one float column per label (NaN unknown).
        labels: label columns to fit.
        config: hyper-parameters.
        weights: optional per-row sample weights (moderator decisions count more).
        progress: show a progress bar (one step for the features, one per label).
    """
    bar = tqdm(total=1 + len(labels), desc="fit sklearn", unit="step", disable=not progress)
    hasher = config.hasher()
    occ = hasher.occurrences(normalise_batch(train["text"].tolist()))
    n = len(train)
    x_char, idf_char = _tfidf_block(occ.char_doc, occ.char_bucket, n, config.char_bits,
                                    config.min_df)
    x_word, idf_word = _tfidf_block(occ.word_doc, occ.word_bucket, n, config.word_bits,
                                    config.min_df)
    x = sp.hstack([x_char, x_word], format="csr")
    # Most of the 2**20 hashed columns are empty (no n-gram in min_df texts lands there):
    # fitting on the others alone gives the same weights (an empty column's is 0 under the
    # L2 penalty) about three times faster, liblinear's work growing with the columns.
    used = np.flatnonzero(np.bincount(x.indices, minlength=x.shape[1]))
    x_used = sp.csr_matrix(x[:, used])
    bar.update(1)
    coef = np.zeros((len(labels), x.shape[1]))
    intercept = np.zeros(len(labels))
    for index, label in enumerate(labels):
        y = train[label].to_numpy()
        known = ~np.isnan(y)
        clf = LogisticRegression(C=config.C, class_weight=config.class_weight,
                                 solver="liblinear", max_iter=200, random_state=42)
        clf.fit(x_used[known], y[known].astype(int),
                sample_weight=None if weights is None else weights[known])
        coef[index, used], intercept[index] = clf.coef_[0], clf.intercept_[0]
        logger.info("fitted %s on %d texts", label, int(known.sum()))
        bar.set_postfix_str(label)
        bar.update(1)
    bar.close()
    split = 1 << config.char_bits
    return LinearTables(_table(idf_char, coef[:, :split]), _table(idf_word, coef[:, split:]),
                        intercept)


def _table(idf: NDArray[np.float64], coef: NDArray[np.float64]) -> NDArray[np.float32]:
    table = np.column_stack([idf**2, (idf[:, None] * coef.T)])
    # Round-trip through float16 now, so calibration sees exactly what gets shipped.
    return table.astype(np.float16).astype(np.float32)
