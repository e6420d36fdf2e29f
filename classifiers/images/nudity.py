"""Nudity and sexual content, scored offline with NudeNet's detector (ONNX, on CPU).

NudeNet finds body parts and says whether each is exposed; the ``sexual_content`` score
is the highest confidence among the exposed intimate parts. Its model ships inside the
pip package (``320n.onnx``), so nothing is fetched at run time. Loading it takes a few
hundred milliseconds, so each process loads it once, on first use.

Which labels count and the thresholds are not constants here: they are read from the
model's ``metadata.json`` in the model registry (``nudenet``: the shipped version under
``classifiers/shipped/nudenet/``, or one promoted under ``$WORKBENCH_MODEL_DIR``), with
how they were calibrated. A version directory never changes once written, so a new
threshold is a new version, promoted.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.images.decode import RGBArray
from classifiers.registry import ModelRegistry, read_metadata

#: The nudity model's name in the model registry.
MODEL_NAME = "nudenet"
#: The workbench label the model's scores are for.
LABEL = "sexual_content"


class NudityModelError(ValueError):
    """The nudity model's metadata is missing something or out of range."""


@dataclass(frozen=True)
class NudityModelCard:
    """What the metadata says: the version, which NudeNet labels make sexual content, and
    the score at or above which an image is flagged (the stricter one for accounts whose
    birth year makes them minors)."""

    version: str
    sexual_labels: frozenset[str]
    threshold: float
    minor_threshold: float


def card_from_metadata(meta: dict[str, Any]) -> NudityModelCard:
    """The card of a ``metadata.json``; NudityModelError names what is wrong."""
    try:
        labels = frozenset(str(x) for x in meta["label_mapping"][LABEL])
        threshold = float(meta["thresholds"][LABEL])
        minor = float(meta["thresholds"][f"{LABEL}_minor"])
        card = NudityModelCard(str(meta["version"]), labels, threshold, minor)
    except (KeyError, TypeError, ValueError) as exc:
        raise NudityModelError(f"nudity model metadata: missing or bad {exc}") from None
    if not labels:
        raise NudityModelError(f"nudity model metadata: no NudeNet labels map to {LABEL}")
    if not 0.0 < minor <= threshold <= 1.0:
        raise NudityModelError("nudity model metadata: thresholds must satisfy "
                               f"0 < minor ({minor}) <= threshold ({threshold}) <= 1")
    return card


@functools.lru_cache(maxsize=8)
def _card_at(directory: str) -> NudityModelCard:
    return card_from_metadata(read_metadata(Path(directory)))


def model_card(registry: ModelRegistry | None = None) -> NudityModelCard:
    """The active nudity model's card (``$WORKBENCH_MODEL_DIR``, else the shipped one)."""
    registry = registry or ModelRegistry.from_env()
    directory = registry.version_dir(MODEL_NAME, registry.active_version(MODEL_NAME))
    return _card_at(str(directory.resolve()))


@dataclass(frozen=True)
class NudityScore:
    """What NudeNet saw in one image.

    Attributes:
        sexual_content: 0 to 1, the highest confidence among exposed intimate parts.
        labels: Every detected label with its highest confidence.
    """

    sexual_content: float
    labels: dict[str, float]


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    # Heavy: imported on first use, not when the module loads.
    from nudenet import NudeDetector

    return NudeDetector()


def _score(detections: Sequence[dict[str, Any]], card: NudityModelCard) -> NudityScore:
    labels: dict[str, float] = {}
    for found in detections:
        name, conf = str(found["class"]), round(float(found["score"]), 4)
        labels[name] = max(conf, labels.get(name, 0.0))
    sexual = max((v for k, v in labels.items() if k in card.sexual_labels), default=0.0)
    return NudityScore(sexual, labels)


def score_nudity(images: Sequence[RGBArray],
                 card: NudityModelCard | None = None) -> list[NudityScore]:
    """Score a batch of RGB images (one model run per four images)."""
    if not images:
        return []
    card = card or model_card()
    # NudeNet reads arrays as OpenCV does: BGR.
    bgr = [np.ascontiguousarray(rgb[:, :, ::-1]) for rgb in images]
    return [_score(found, card) for found in _detector().detect_batch(bgr)]


def is_flagged(score: NudityScore, minor: bool = False,
               card: NudityModelCard | None = None) -> bool:
    """Whether a score crosses the threshold (the stricter one for a minor's account)."""
    card = card or model_card()
    return score.sexual_content >= (card.minor_threshold if minor else card.threshold)
