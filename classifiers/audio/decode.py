"""Open an uploaded recording, refuse what we cannot use, and stream it as 16 kHz mono.

`probe` is cheap (headers plus one short read near the end) so the intake API can call
it at upload time; `stream_16k_mono` reads the file in blocks, so a two-hour call never
sits in memory whole.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from classifiers.audio.config import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SUPPORTED_FORMATS,
    AudioConfig,
)
from classifiers.audio.errors import AudioError, AudioErrorCode
from classifiers.audio.resample import FloatArray, StreamingResampler

logger = logging.getLogger(__name__)

#: The rate every later stage (silero-vad, pocketsphinx) works at.
TARGET_RATE = 16000

#: Frames read from the end of a file to prove the whole body is there.
_TAIL_FRAMES = 1024

AudioSource = Path | str | BinaryIO


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a recording, once checked.

    Attributes:
        format: libsndfile's container name: WAV, WAVEX, FLAC or OGG.
        subtype: The codec or sample encoding, e.g. PCM_16 or VORBIS.
        sample_rate: Samples per second per channel, as stored.
        channels: Number of channels, as stored.
        frames: Samples per channel.
        duration_s: Length in seconds.
        size_bytes: Size of the file.
    """

    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    size_bytes: int


def probe(source: AudioSource, config: AudioConfig | None = None) -> AudioInfo:
    """Check that a recording is one we can analyse, without decoding it.

    Args:
        source: A path, or a seekable binary file object (read from its start).
        config: Supplies the maximum duration; defaults to `AudioConfig()`.

    Returns:
        The recording's format, rate, channels and duration.

    Raises:
        AudioError: empty, unsupported, malformed, truncated or too long.
    """
    config = config or AudioConfig()
    with _opened(source) as (fh, snd, size):
        info = _info(snd, size)
        if info.format in ("WAV", "WAVEX"):
            _check_riff_data_size(fh, size)
        _check_tail(snd, info)
    if info.duration_s > config.max_duration_s:
        raise AudioError(
            AudioErrorCode.TOO_LONG,
            f"recording lasts {info.duration_s:.0f} s; the limit is {config.max_duration_s:.0f} s",
        )
    return info


def stream_16k_mono(source: AudioSource, block_s: float) -> Iterator[FloatArray]:
    """Yield the recording as consecutive 16 kHz mono float32 blocks.

    Args:
        source: A path or a seekable binary file object; `probe` it first.
        block_s: Seconds of source audio decoded per block.

    Raises:
        AudioError: the body turns out unreadable part way (``truncated``).
    """
    with _opened(source) as (_fh, snd, _size):
        resampler = StreamingResampler(snd.samplerate, TARGET_RATE)
        block_frames = max(1024, int(block_s * snd.samplerate))
        while True:
            try:
                block = snd.read(block_frames, dtype="float32", always_2d=True)
            except sf.LibsndfileError as exc:
                raise AudioError(
                    AudioErrorCode.TRUNCATED, f"the audio stops part way through: {exc}"
                ) from exc
            if len(block) == 0:
                break
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            out = resampler.feed(np.ascontiguousarray(mono))
            if len(out):
                yield out
        tail = resampler.flush()
        if len(tail):
            yield tail


@contextmanager
def _opened(source: AudioSource) -> Iterator[tuple[BinaryIO, sf.SoundFile, int]]:
    """Open ``source`` with libsndfile, turning its failures into `AudioError`."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            with _opened_handle(fh) as opened:
                yield opened
    else:
        with _opened_handle(source) as opened:
            yield opened


@contextmanager
def _opened_handle(fh: BinaryIO) -> Iterator[tuple[BinaryIO, sf.SoundFile, int]]:
    try:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(0)
    except (OSError, io.UnsupportedOperation) as exc:
        raise AudioError(AudioErrorCode.NOT_SEEKABLE, "upload a file, not a stream") from exc
    if size == 0:
        raise AudioError(AudioErrorCode.EMPTY_FILE, "the file is empty (0 bytes)")
    try:
        snd = sf.SoundFile(fh)
    except sf.LibsndfileError as exc:
        raise _open_error(exc) from exc
    with snd:
        yield fh, snd, size


def _open_error(exc: sf.LibsndfileError) -> AudioError:
    text = str(exc)
    if "malformed" in text:
        return AudioError(AudioErrorCode.MALFORMED, "the audio file is damaged and cannot be read")
    return AudioError(
        AudioErrorCode.UNSUPPORTED_FORMAT,
        "not a recognised audio file; send WAV, FLAC or OGG",
    )


def _info(snd: sf.SoundFile, size: int) -> AudioInfo:
    if snd.format not in SUPPORTED_FORMATS:
        raise AudioError(
            AudioErrorCode.UNSUPPORTED_FORMAT,
            f"{snd.format} audio is not accepted; send WAV, FLAC or OGG",
        )
    if not MIN_SAMPLE_RATE <= snd.samplerate <= MAX_SAMPLE_RATE:
        raise AudioError(
            AudioErrorCode.UNSUPPORTED_FORMAT,
            f"sample rate {snd.samplerate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz",
        )
    if snd.frames <= 0:
        raise AudioError(AudioErrorCode.EMPTY_FILE, "the file holds no audio samples")
    return AudioInfo(
        format=snd.format,
        subtype=snd.subtype,
        sample_rate=snd.samplerate,
        channels=snd.channels,
        frames=snd.frames,
        duration_s=snd.frames / snd.samplerate,
        size_bytes=size,
    )


def _check_riff_data_size(fh: BinaryIO, size: int) -> None:
    """Refuse a WAV whose ``data`` chunk claims more bytes than the file holds.

    libsndfile quietly plays such a file as far as it goes, which would hide an
    upload cut short by a dropped connection.
    """
    fh.seek(12)  # past "RIFF", the RIFF size and "WAVE"
    while True:
        header = fh.read(8)
        if len(header) < 8:
            return
        chunk_id, chunk_size = struct.unpack("<4sI", header)
        if chunk_id == b"data":
            # 0 and 0xFFFFFFFF mean "length unknown" (streaming writers, RF64 style).
            declared = chunk_size not in (0, 0xFFFFFFFF)
            if declared and fh.tell() + chunk_size > size:
                raise AudioError(
                    AudioErrorCode.TRUNCATED,
                    f"the WAV header promises {chunk_size} bytes of audio but the file "
                    f"holds {size - fh.tell()}",
                )
            return
        fh.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def _check_tail(snd: sf.SoundFile, info: AudioInfo) -> None:
    """Read the last frames: a FLAC cut short fails here, not an hour into decoding."""
    try:
        snd.seek(max(0, info.frames - _TAIL_FRAMES))
        got = len(snd.read(_TAIL_FRAMES, dtype="float32", always_2d=True))
        snd.seek(0)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            AudioErrorCode.TRUNCATED, "the audio ends before the length its header gives"
        ) from exc
    if got < min(_TAIL_FRAMES, info.frames):
        raise AudioError(
            AudioErrorCode.TRUNCATED, "the audio ends before the length its header gives"
        )
