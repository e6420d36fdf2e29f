"""Find speech stretches as the audio streams past, with silero-vad's packaged model.

silero-vad ships its TorchScript model inside the wheel (``silero_vad/data``), so
loading it reads a local file and never touches the network. The model scores 32 ms
windows one after another; `SpeechDetector` turns those scores into closed stretches
as soon as each one ends, so the caller can transcribe it and drop its audio.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from classifiers.audio.config import VadSettings
from classifiers.audio.resample import FloatArray

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: silero-vad's window at 16 kHz (fixed by the model).
WINDOW = 512
RATE = 16000


class SpeechModel(Protocol):
    """The part of silero-vad's model we use: one window in, one probability out."""

    def __call__(self, x: torch.Tensor, sr: int) -> torch.Tensor: ...

    def reset_states(self) -> None: ...


def load_speech_model() -> SpeechModel:
    """Load silero-vad's packaged TorchScript model (CPU, local file only)."""
    # Heavy: imported on first use, not when the module loads.
    from silero_vad import load_silero_vad

    with warnings.catch_warnings():
        # silero-vad uses importlib.resources.path and torch.jit.load, both deprecated
        # upstream; neither is ours to fix, and the model loads the same.
        warnings.simplefilter("ignore", DeprecationWarning)
        model: SpeechModel = load_silero_vad(onnx=False)
    return model


@dataclass(frozen=True)
class Span:
    """A stretch of speech, in samples at 16 kHz from the start of the recording."""

    start: int
    end: int


class SpeechDetector:
    """Score windows as blocks arrive and report each speech stretch once it closes.

    Args:
        model: silero-vad's model, shared between recordings (states reset here).
        settings: Thresholds and durations.
    """

    def __init__(self, model: SpeechModel, settings: VadSettings) -> None:
        # Heavy: imported on first use, not when the module loads.
        import torch  # here, not at module level: `probe` at upload time needs no torch

        self._torch = torch
        self._model = model
        self._s = settings
        self._floor = 10.0 ** (settings.silence_floor_dbfs / 20.0)
        self._min_silence = int(settings.min_silence_s * RATE)
        self._min_speech = int(settings.min_speech_s * RATE)
        self._pad = int(settings.pad_s * RATE)
        self._max_segment = int(settings.max_segment_s * RATE)
        self._carry: FloatArray = np.zeros(0, dtype=np.float32)
        self._pos = 0  # samples scored so far
        self._start: int | None = None  # start of the open stretch
        self._silence_from: int | None = None  # where the current pause began
        self._last_end = 0  # end of the last padded stretch, so pads never overlap
        self._stale = False  # the model skipped windows and needs a state reset
        self.speech_samples = 0  # unpadded speech, for the speech ratio
        model.reset_states()

    def feed(self, block: FloatArray) -> list[Span]:
        """Score a block; return the stretches (padded) that closed within it."""
        data = np.concatenate([self._carry, block]) if len(self._carry) else block
        n_windows = len(data) // WINDOW
        windows = data[: n_windows * WINDOW].reshape(n_windows, WINDOW)
        # One vectorised pass finds the dead air; only audible windows reach the model.
        loud = np.sqrt(np.mean(np.square(windows), axis=1)) >= self._floor
        closed: list[Span] = []
        for i in range(n_windows):
            span = self._step(self._probability(windows[i]) if loud[i] else self._quiet())
            if span is not None:
                closed.append(span)
        self._carry = data[n_windows * WINDOW :].copy()
        return closed

    def finish(self, total_samples: int) -> list[Span]:
        """Close the stretch still open when the audio ended."""
        if self._start is None:
            return []
        end = self._silence_from if self._silence_from is not None else total_samples
        span = self._close(self._start, end, total_samples)
        self._start = None
        return [span] if span is not None else []

    def _quiet(self) -> float:
        """A window below the silence floor: speech probability 0, model not asked."""
        self._stale = True
        return 0.0

    def _probability(self, window: FloatArray) -> float:
        if self._stale:
            # Skipped windows left the model's recurrent state behind the audio.
            self._model.reset_states()
            self._stale = False
        with self._torch.no_grad():
            return float(self._model(self._torch.from_numpy(window), RATE).item())

    def _step(self, prob: float) -> Span | None:
        """Advance one window; hysteresis between `threshold` and `neg_threshold`."""
        here = self._pos
        self._pos += WINDOW
        if prob >= self._s.threshold:
            self._silence_from = None
            if self._start is None:
                self._start = here
            elif here - self._start >= self._max_segment:
                # Split with no padding between the halves, so no audio is heard twice.
                span = self._close(self._start, here, here)
                self._start = here
                return span
            return None
        if self._start is None or prob >= self._s.neg_threshold:
            return None
        if self._silence_from is None:
            self._silence_from = here
        if here - self._silence_from < self._min_silence:
            return None
        span = self._close(self._start, self._silence_from, self._pos)
        self._start = self._silence_from = None
        return span

    def _close(self, start: int, end: int, limit: int) -> Span | None:
        """A padded span, its end no later than ``limit`` (audio not yet seen)."""
        if end - start < self._min_speech:
            return None
        self.speech_samples += end - start
        span = Span(max(self._last_end, start - self._pad, 0), min(limit, end + self._pad))
        self._last_end = span.end
        return span
