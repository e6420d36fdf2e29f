"""Refusing bad uploads and decoding good ones: formats, damage, length, resampling."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from scipy.signal import resample_poly

from classifiers.audio import AudioConfig, AudioError, AudioErrorCode, analyse_recording, probe
from classifiers.audio.decode import stream_16k_mono
from classifiers.audio.pipeline import load_engine
from classifiers.audio.resample import StreamingResampler

RATE = 16000


def tone(seconds: float, rate: int = RATE, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_silent_flac(path: Path, seconds: int, rate: int = 8000) -> Path:
    """A long silent FLAC written a minute at a time (digital silence packs tiny)."""
    minute = np.zeros(rate * 60, dtype=np.int16)
    with sf.SoundFile(path, "w", rate, 1, "PCM_16", format="FLAC") as out:
        for _ in range(seconds // 60):
            out.write(minute)
    return path


def refused(source: Path | io.BytesIO, config: AudioConfig | None = None) -> AudioError:
    with pytest.raises(AudioError) as caught:
        probe(source, config)
    return caught.value


@pytest.fixture(scope="module")
def two_hours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_silent_flac(tmp_path_factory.mktemp("long") / "two_hours.flac", 2 * 3600)


def test_wav_flac_ogg_are_accepted_with_their_facts(tmp_path: Path) -> None:
    stereo = np.stack([tone(2.0, 44100), tone(2.0, 44100, 220.0)], axis=1)
    for fmt, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")):
        path = tmp_path / f"call.{fmt.lower()}"
        sf.write(path, stereo, 44100, subtype=subtype, format=fmt)
        info = probe(path)
        assert (info.format, info.sample_rate, info.channels) == (fmt, 44100, 2)
        assert info.duration_s == pytest.approx(2.0, abs=0.01)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert refused(empty).code is AudioErrorCode.EMPTY_FILE
    assert refused(io.BytesIO(b"")).code is AudioErrorCode.EMPTY_FILE


def test_picture_and_random_bytes_are_refused(tmp_path: Path) -> None:
    picture = tmp_path / "avatar.png"
    Image.new("RGB", (32, 32), "red").save(picture)
    noise = tmp_path / "noise.wav"
    noise.write_bytes(np.random.default_rng(7).bytes(50_000))
    for path in (picture, noise):
        error = refused(path)
        assert error.code is AudioErrorCode.UNSUPPORTED_FORMAT
        assert "WAV, FLAC or OGG" in error.message


def test_mp3_and_aiff_are_refused_even_though_libsndfile_reads_them(tmp_path: Path) -> None:
    for fmt in ("MP3", "AIFF"):
        path = tmp_path / f"voice.{fmt.lower()}"
        sf.write(path, tone(1.0), RATE, format=fmt)
        error = refused(path)
        assert error.code is AudioErrorCode.UNSUPPORTED_FORMAT
        assert fmt in error.message
    with pytest.raises(AudioError) as caught:
        analyse_recording(tmp_path / "voice.mp3")
    assert caught.value.code is AudioErrorCode.UNSUPPORTED_FORMAT


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_file_cut_short_is_refused_as_truncated(tmp_path: Path, fmt: str) -> None:
    whole = io.BytesIO()
    sf.write(whole, tone(3.0), RATE, format=fmt, subtype="PCM_16")
    data = whole.getvalue()
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    assert refused(cut).code is AudioErrorCode.TRUNCATED
    assert probe(io.BytesIO(data)).duration_s == pytest.approx(3.0)


def test_ogg_with_only_its_first_pages_is_refused() -> None:
    whole = io.BytesIO()
    sf.write(whole, tone(3.0), RATE, format="OGG", subtype="VORBIS")
    # An Ogg stream has no total length to check against, but without its setup
    # headers it cannot be decoded at all.
    head = whole.getvalue()[:200]
    assert refused(io.BytesIO(head)).code in (
        AudioErrorCode.MALFORMED,
        AudioErrorCode.UNSUPPORTED_FORMAT,
    )


def test_two_hour_file_is_refused_above_the_limit(two_hours: Path) -> None:
    assert two_hours.stat().st_size < 1_000_000
    error = refused(two_hours, AudioConfig(max_duration_s=3600))
    assert error.code is AudioErrorCode.TOO_LONG
    assert "7200" in error.message
    assert probe(two_hours, AudioConfig(max_duration_s=3 * 3600)).duration_s == 7200


def test_two_hour_file_streams_in_bounded_memory(two_hours: Path, tmp_path: Path) -> None:
    config = AudioConfig(max_duration_s=3 * 3600)
    load_engine(config)
    ten_minutes = write_silent_flac(tmp_path / "ten.flac", 600)
    peaks = {}
    for name, path in (("10 min", ten_minutes), ("2 h", two_hours)):
        tracemalloc.start()
        result = analyse_recording(path, config)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.speech_ratio == 0.0 and result.segments == []
    whole_file_16k = 7200 * RATE * 4  # what holding the decoded call would cost: 460 MB
    assert peaks["2 h"] < whole_file_16k / 20
    assert peaks["2 h"] < 1.5 * peaks["10 min"] + 2_000_000, peaks


def test_streaming_decode_matches_decoding_at_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    stereo = (rng.standard_normal((44100 * 5 + 77, 2)) * 0.1).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    streamed = np.concatenate(list(stream_16k_mono(path, block_s=0.37)))
    at_once = resample_poly(stereo.mean(axis=1).astype(np.float64), 160, 441)
    assert len(streamed) == len(at_once)
    assert np.abs(streamed - at_once).max() < 1e-5


@pytest.mark.parametrize("rate_in", [8000, 11025, 16000, 22050, 48000])
def test_resampler_is_seamless_across_blocks(rate_in: int) -> None:
    rng = np.random.default_rng(rate_in)
    signal = rng.standard_normal(rate_in * 2 + 13).astype(np.float32)
    resampler = StreamingResampler(rate_in, RATE)
    pieces, i = [], 0
    while i < len(signal):
        step = int(rng.integers(1, 5000))
        pieces.append(resampler.feed(signal[i : i + step]))
        i += step
    pieces.append(resampler.flush())
    expected = resample_poly(signal.astype(np.float64), resampler.up, resampler.down)
    got = np.concatenate(pieces)
    assert len(got) == len(expected)
    assert np.abs(got - expected).max() < 1e-5


def test_file_object_is_read_from_its_start_and_a_pipe_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, tone(1.5), RATE, format="WAV")
    buffer.seek(100)
    assert probe(buffer).duration_s == pytest.approx(1.5)

    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    with pytest.raises(AudioError) as caught:
        probe(Pipe())  # type: ignore[arg-type]
    assert caught.value.code is AudioErrorCode.NOT_SEEKABLE
