"""Cutting speech stretches from window probabilities, as blocks stream past.

The model here is a stand-in that calls any loud window speech, so the stretch logic
(pauses bridged, clicks dropped, long stretches split) is checked on exact timings.
The real silero model is exercised by the pipeline tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifiers.audio import VadSettings
from classifiers.audio.vad import RATE, Span, SpeechDetector


class LoudIsSpeech:
    """Speech probability 1 for a loud window, 0 otherwise; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor, sr: int) -> torch.Tensor:
        self.calls += 1
        return torch.tensor(1.0 if float(x.abs().max()) > 0.05 else 0.0)

    def reset_states(self) -> None:
        pass


def signal(parts: list[tuple[str, float]]) -> np.ndarray:
    rng = np.random.default_rng(0)
    pieces = []
    for kind, seconds in parts:
        n = int(seconds * RATE)
        if kind == "tone":
            pieces.append(0.3 * np.sin(np.arange(n) * 0.2))
        else:
            pieces.append(rng.standard_normal(n) * 1e-5)  # below the -70 dBFS floor
    return np.concatenate(pieces).astype(np.float32)


def detect(audio: np.ndarray, block: int, settings: VadSettings) -> tuple[list[Span], int]:
    detector = SpeechDetector(LoudIsSpeech(), settings)
    spans: list[Span] = []
    for i in range(0, len(audio), block):
        spans += detector.feed(audio[i : i + block])
    spans += detector.finish(len(audio))
    return spans, detector.speech_samples


CALL = signal(
    [
        ("quiet", 1.0),
        ("tone", 1.0),
        ("quiet", 0.2),  # a pause inside a sentence
        ("tone", 1.0),
        ("quiet", 1.0),
        ("tone", 0.1),  # a click
        ("quiet", 1.0),
        ("tone", 70.0),  # a monologue past max_segment_s
        ("quiet", 0.3),
    ]
)


def test_pauses_are_bridged_clicks_dropped_and_monologues_split() -> None:
    spans, speech = detect(CALL, 16000, VadSettings())
    seconds = [(round(s.start / RATE, 1), round(s.end / RATE, 1)) for s in spans]
    assert seconds[0] == pytest.approx((0.9, 3.3), abs=0.05)  # padded by 0.1 s
    assert len(spans) == 4  # the click is gone; 70 s became 30 + 30 + 10
    assert [round((s.end - s.start) / RATE) for s in spans[1:]] == [30, 30, 10]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert spans[1].end == spans[2].start  # split halves meet with no overlap
    assert spans[-1].end <= len(CALL)
    assert speech / RATE == pytest.approx(2.2 + 70.0, abs=0.2)


@pytest.mark.parametrize("block", [100, 512, 7000, 160000])
def test_block_size_does_not_change_the_stretches(block: int) -> None:
    assert detect(CALL, block, VadSettings()) == detect(CALL, 16000, VadSettings())


def test_dead_air_never_reaches_the_model() -> None:
    model = LoudIsSpeech()
    detector = SpeechDetector(model, VadSettings())
    detector.feed(signal([("quiet", 60.0), ("tone", 1.0)]))
    assert model.calls == pytest.approx(RATE / 512, abs=2)  # one second of windows
