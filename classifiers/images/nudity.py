"""Nudity and sexual content, scored offline with NudeNet's detector (ONNX, on CPU).

NudeNet finds body parts and says whether each is exposed; the ``sexual_content`` score
is the highest confidence among the exposed intimate parts. Its model ships inside the
pip package (``320n.onnx``), so nothing is fetched at run time. Loading it takes a few
hundred milliseconds, so each process loads it once, on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifiers.images.decode import RGBArray

#: NudeNet labels that make an image sexual content.
SEXUAL_LABELS = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})
#: Score at or above which an image is flagged as sexual content, and the stricter one
#: for accounts whose birth year makes them minors.
FLAG_THRESHOLD = 0.6
MINOR_FLAG_THRESHOLD = 0.35


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
    from nudenet import NudeDetector

    return NudeDetector()


def _score(detections: Sequence[dict[str, Any]]) -> NudityScore:
    labels: dict[str, float] = {}
    for found in detections:
        name, conf = str(found["class"]), round(float(found["score"]), 4)
        labels[name] = max(conf, labels.get(name, 0.0))
    sexual = max((v for k, v in labels.items() if k in SEXUAL_LABELS), default=0.0)
    return NudityScore(sexual, labels)


def score_nudity(images: Sequence[RGBArray]) -> list[NudityScore]:
    """Score a batch of RGB images (one model run per four images)."""
    if not images:
        return []
    # NudeNet reads arrays as OpenCV does: BGR.
    bgr = [np.ascontiguousarray(rgb[:, :, ::-1]) for rgb in images]
    return [_score(found) for found in _detector().detect_batch(bgr)]


def is_flagged(score: NudityScore, minor: bool = False) -> bool:
    """Whether a score crosses the threshold (the stricter one for a minor's account)."""
    return score.sexual_content >= (MINOR_FLAG_THRESHOLD if minor else FLAG_THRESHOLD)
