"""Polyphase resampling in blocks, equal to resampling the whole signal at once.

`scipy.signal.resample_poly` treats the edges of each call as zero, so resampling a
long recording block by block naively leaves clicks at every block boundary. Here each
block is resampled with enough real samples on both sides for the filter, and only the
middle is kept: the output matches one `resample_poly` call over the whole signal
while never holding more than one block.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

#: Same anti-aliasing design as `resample_poly`'s default (Kaiser window, beta 5).
_HALF_LEN_PER_RATE = 10
_KAISER_BETA = 5.0


def design_filter(up: int, down: int) -> npt.NDArray[np.float64]:
    """The FIR low-pass `resample_poly` designs for ``up``/``down`` (it scales by ``up``)."""
    # Heavy: imported on first use, not when the module loads.
    from scipy.signal import firwin  # scipy.signal takes a second to import; probe needs none

    max_rate = max(up, down)
    half_len = _HALF_LEN_PER_RATE * max_rate
    taps: npt.NDArray[np.float64] = firwin(
        2 * half_len + 1, 1.0 / max_rate, window=("kaiser", _KAISER_BETA)
    )
    return taps


class StreamingResampler:
    """Resample a mono signal fed in blocks of any size.

    Args:
        rate_in: Sample rate of the blocks fed in.
        rate_out: Sample rate of the blocks returned.
    """

    def __init__(self, rate_in: int, rate_out: int) -> None:
        g = math.gcd(rate_in, rate_out)
        self.up = rate_out // g
        self.down = rate_in // g
        if self.identity:
            self._taps = np.ones(1)
            half_in = 0
        else:
            self._taps = design_filter(self.up, self.down)
            half_in = math.ceil(((len(self._taps) - 1) // 2) / self.up) + 1
        # Context is a whole number of `down` steps, so block starts map to whole outputs.
        self._pad = self.down * math.ceil(half_in / self.down)
        # Input from absolute index `_next - _pad` on; the first `_pad` are zeros, as
        # resample_poly pads the start of a signal with zeros.
        self._buf: FloatArray = np.zeros(self._pad, dtype=np.float32)
        self._next = 0
        self._seen = 0
        self._emitted = 0

    @property
    def identity(self) -> bool:
        """True when no resampling is needed."""
        return self.up == self.down

    def feed(self, block: FloatArray) -> FloatArray:
        """Add input; return every output sample that no later input can change."""
        if self.identity:
            self._emitted += len(block)
            return block
        self._seen += len(block)
        self._buf = np.concatenate([self._buf, block.astype(np.float32, copy=False)])
        ready = self._seen - self._pad - self._next
        steps = ready // self.down if ready > 0 else 0
        return self._emit(self._next + steps * self.down)

    def flush(self) -> FloatArray:
        """Return the remaining output once the input has ended."""
        if self.identity:
            return np.zeros(0, dtype=np.float32)
        total_out = math.ceil(self._seen * self.up / self.down)
        remaining = total_out - self._emitted
        if remaining <= 0:
            return np.zeros(0, dtype=np.float32)
        steps = math.ceil(remaining / self.up)
        end = self._next + steps * self.down
        zeros_needed = end + self._pad - (self._next - self._pad + len(self._buf))
        if zeros_needed > 0:
            self._buf = np.concatenate([self._buf, np.zeros(zeros_needed, dtype=np.float32)])
        return self._emit(end)[:remaining]

    def _emit(self, end: int) -> FloatArray:
        """Resample input up to absolute index ``end`` (a multiple of `down` past `_next`)."""
        if end <= self._next:
            return np.zeros(0, dtype=np.float32)
        n_in = end - self._next
        chunk = self._buf[: n_in + 2 * self._pad]
        # Heavy: imported on first use, not when the module loads.
        from scipy.signal import resample_poly

        out = resample_poly(chunk, self.up, self.down, window=self._taps)
        skip = self._pad * self.up // self.down
        n_out = n_in * self.up // self.down
        result = np.asarray(out[skip : skip + n_out], dtype=np.float32)
        self._buf = self._buf[n_in:]
        self._next = end
        self._emitted += n_out
        return result
