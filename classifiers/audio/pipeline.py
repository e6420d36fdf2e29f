"""A voice recording in, a timeline of what was said and how harmful it is out.

Decode in blocks -> 16 kHz mono -> silero-vad speech stretches -> for each stretch
(as soon as it ends): transcript with word times, and keyword spotting -> score every
stretch's words with the text classifier in one batch. Only speech is transcribed, and
only the open stretch's audio is held, so memory does not grow with the recording.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from classifiers.audio.config import AudioConfig
from classifiers.audio.coverage import Coverage, judge_transcript
from classifiers.audio.decode import TARGET_RATE, AudioSource, probe, stream_16k_mono
from classifiers.audio.resample import FloatArray
from classifiers.audio.sphinx import (
    KeywordHit,
    KeywordSpotter,
    SphinxTranscriber,
    TimedWord,
    Transcript,
)
from classifiers.audio.vad import Span, SpeechDetector, SpeechModel, load_speech_model

logger = logging.getLogger(__name__)


class TextScorer(Protocol):
    """The text classifier as the audio pipeline sees it."""

    @property
    def thresholds(self) -> dict[str, float]:
        """Score at or above which each label is flagged."""
        ...

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """One ``{label: probability}`` per text, in order."""
        ...


class Transcriber(Protocol):
    """Speech to timed words: pocketsphinx by default, or a transformers checkpoint."""

    name: str

    def transcribe(self, samples: FloatArray, offset_s: float) -> Transcript:
        """Transcribe one stretch of 16 kHz audio starting ``offset_s`` into the call."""
        ...


@dataclass(frozen=True)
class Segment:
    """One speech stretch of the call's timeline.

    Attributes:
        start: Seconds from the start of the recording.
        end: Seconds from the start of the recording.
        transcript: What the recogniser heard.
        keyword_hits: Terms spotted inside this stretch.
        scores: The text classifier's ``{label: probability}`` for the stretch's words
            (transcript plus spotted terms it missed); empty without a scorer or words.
    """

    start: float
    end: float
    transcript: str
    keyword_hits: list[KeywordHit] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    def scored_text(self) -> str:
        """The transcript plus any spotted term it does not already contain."""
        missing = [h.term for h in self.keyword_hits if h.term not in self.transcript]
        return " ".join([self.transcript, *dict.fromkeys(missing)]).strip()


@dataclass(frozen=True)
class RecordingAnalysis:
    """Everything the console shows about one recording.

    Attributes:
        duration_s: Length of the recording.
        sample_rate: Sample rate as uploaded (analysis runs at 16 kHz).
        channels: Channels as uploaded (analysis mixes them to mono).
        format: Container: WAV, WAVEX, FLAC or OGG.
        speech_ratio: Share of the recording that is speech, 0 to 1.
        transcript: The whole transcript, stretches joined in order.
        words: Every recognised word with start, end and confidence.
        segments: The speech stretches, in order.
        keyword_hits: Every spotted term, in order.
        max_scores: Highest score per label over the stretches and the whole transcript.
        flagged: Labels whose highest score reached the scorer's threshold.
        recogniser: Which speech recogniser produced the words.
        processing_s: Wall-clock seconds the analysis took.
        coverage: Whether the transcript is trusted as English (see `judge_transcript`);
            an untrusted one is not scored.
    """

    duration_s: float
    sample_rate: int
    channels: int
    format: str
    speech_ratio: float
    transcript: str
    words: list[TimedWord]
    segments: list[Segment]
    keyword_hits: list[KeywordHit]
    max_scores: dict[str, float]
    flagged: list[str]
    recogniser: str
    processing_s: float
    coverage: Coverage

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for storing next to the recording."""
        return asdict(self)


@dataclass
class _Engine:
    """The loaded models for one configuration; decoders are not thread-safe."""

    speech_model: SpeechModel
    transcriber: Transcriber
    spotter: KeywordSpotter
    lock: threading.Lock = field(default_factory=threading.Lock)


@functools.lru_cache(maxsize=4)
def _engine(config: AudioConfig) -> _Engine:
    transcriber: Transcriber
    if config.asr_model_path is not None:
        # Heavy: imported on first use, not when the module loads.
        from classifiers.audio.hf_asr import TransformersTranscriber

        transcriber = TransformersTranscriber(config.asr_model_path)
    else:
        transcriber = SphinxTranscriber(config.sphinx)
    return _Engine(load_speech_model(), transcriber, KeywordSpotter(config.keywords))


def load_engine(config: AudioConfig) -> None:
    """Load the models for ``config`` now (a worker calls this at start-up).

    Raises:
        AudioConfigError: the ASR model folder or a keyword is wrong.
    """
    _engine(config)


class _RecentAudio:
    """The last ``keep`` samples of the stream, addressed by absolute sample index."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._base = 0
        self._data: FloatArray = np.zeros(0, dtype=np.float32)

    def append(self, block: FloatArray) -> None:
        data = np.concatenate([self._data, block])
        drop = max(0, len(data) - self._keep)
        self._data = data[drop:]
        self._base += drop

    def slice(self, start: int, end: int) -> FloatArray:
        if start < self._base:
            raise RuntimeError(f"speech from sample {start} was already dropped")
        return self._data[start - self._base : end - self._base]


def analyse_recording(
    source: AudioSource,
    config: AudioConfig | None = None,
    scorer: TextScorer | None = None,
    speaker_languages: list[str] | None = None,
) -> RecordingAnalysis:
    """Analyse one voice recording end to end.

    Args:
        source: A path, or a seekable binary file object.
        config: Pipeline settings; defaults to `AudioConfig()`.
        scorer: The text classifier; None leaves every score empty.
        speaker_languages: The speaker's declared languages, if known: a speaker with no
            English gets no transcript scored.

    Returns:
        The timeline, transcript, keyword hits and scores.

    Raises:
        AudioError: the recording is refused (the same checks as `probe`).
        AudioConfigError: the configured model folder or a keyword is wrong.
    """
    started = time.perf_counter()
    config = config or AudioConfig()
    info = probe(source, config)
    engine = _engine(config)
    with engine.lock:
        heard = _listen(source, config, engine)
    coverage = judge_transcript(heard.words, speaker_languages)
    # An untrusted transcript is English words the speaker never said: scoring it would
    # flag (or clear) them for something else.
    segments, max_scores, flagged = _score(heard.segments, scorer if coverage.trusted else None)
    elapsed = time.perf_counter() - started
    logger.info(
        "analysed %.1f s of audio in %.2f s: %d speech stretches, %d keyword hits",
        info.duration_s,
        elapsed,
        len(segments),
        sum(len(s.keyword_hits) for s in segments),
    )
    return RecordingAnalysis(
        duration_s=info.duration_s,
        sample_rate=info.sample_rate,
        channels=info.channels,
        format=info.format,
        speech_ratio=round(min(1.0, heard.speech_samples / TARGET_RATE / info.duration_s), 4),
        transcript=" ".join(s.transcript for s in segments if s.transcript),
        words=heard.words,
        segments=segments,
        keyword_hits=[h for s in segments for h in s.keyword_hits],
        max_scores=max_scores,
        flagged=flagged,
        recogniser=engine.transcriber.name,
        processing_s=round(elapsed, 3),
        coverage=coverage,
    )


@dataclass
class _Heard:
    """What streaming produced, before scoring."""

    segments: list[Segment] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)
    speech_samples: int = 0

    def add(self, engine: _Engine, samples: FloatArray, span: Span) -> None:
        offset = span.start / TARGET_RATE
        transcript = engine.transcriber.transcribe(samples, offset)
        self.words.extend(transcript.words)
        self.segments.append(
            Segment(
                start=round(offset, 2),
                end=round(span.end / TARGET_RATE, 2),
                transcript=transcript.text,
                keyword_hits=engine.spotter.spot(samples, offset),
            )
        )


def _listen(source: AudioSource, config: AudioConfig, engine: _Engine) -> _Heard:
    """Stream the audio through VAD and transcribe each stretch as soon as it closes."""
    vad = config.vad
    keep_s = config.block_s + vad.max_segment_s + vad.min_silence_s + 2 * vad.pad_s + 1.0
    recent = _RecentAudio(int(keep_s * TARGET_RATE))
    detector = SpeechDetector(engine.speech_model, vad)
    heard = _Heard()
    total = 0
    for block in stream_16k_mono(source, config.block_s):
        recent.append(block)
        total += len(block)
        for span in detector.feed(block):
            heard.add(engine, recent.slice(span.start, span.end), span)
    for span in detector.finish(total):
        heard.add(engine, recent.slice(span.start, span.end), span)
    heard.speech_samples = detector.speech_samples
    return heard


def _score(
    segments: list[Segment], scorer: TextScorer | None
) -> tuple[list[Segment], dict[str, float], list[str]]:
    """Score every stretch and the whole transcript in one batch call."""
    texts = [s.scored_text() for s in segments]
    batch = [t for t in texts if t]
    if scorer is None or not batch:
        return segments, {}, []
    results = scorer.score([*batch, " ".join(batch)])
    by_text = iter(results[:-1])
    scored = [
        replace(s, scores=dict(next(by_text))) if t else s
        for s, t in zip(segments, texts, strict=True)
    ]
    max_scores: dict[str, float] = {}
    for result in results:
        for label, value in result.items():
            max_scores[label] = max(value, max_scores.get(label, 0.0))
    thresholds = scorer.thresholds
    flagged = sorted(k for k, v in max_scores.items() if k in thresholds and v >= thresholds[k])
    return scored, max_scores, flagged
