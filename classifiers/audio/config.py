"""Settings of the voice-recording pipeline, as frozen (hashable) dataclasses.

A frozen `AudioConfig` is the cache key of the loaded models, so two calls with equal
settings share one set of decoders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Longest recording the intake accepts by default (seconds). Calls and rooms run long,
#: but anything past an hour is refused at upload rather than queued.
DEFAULT_MAX_DURATION_S = 3600.0

#: Containers we decode. libsndfile opens more (AIFF, MP3, CAF...), but platforms send
#: these three, and every extra codec is more attack surface on untrusted uploads.
SUPPORTED_FORMATS: frozenset[str] = frozenset({"WAV", "WAVEX", "FLAC", "OGG"})

#: Sample rates outside this range are not speech recordings we can use.
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000


@dataclass(frozen=True)
class KeywordTerm:
    """A word or phrase to spot even when open transcription misses it.

    Attributes:
        phrase: Lower-case words, each in the recogniser's pronunciation dictionary.
        threshold: pocketsphinx keyword-spotting threshold; smaller detects more (and
            more falsely). None derives one from the phrase length in phones, since
            long phrases need a much smaller threshold than short ones.
    """

    phrase: str
    threshold: float | None = None


#: Terms spotted by default: threats, insults and the usual scam asks. Chosen from the
#: CMU dictionary; short words (fewer than 4 phones) are left out because keyword
#: spotting fires on them constantly.
DEFAULT_KEYWORDS: tuple[KeywordTerm, ...] = tuple(
    KeywordTerm(p)
    for p in (
        "idiot",
        "stupid",
        "loser",
        "pathetic",
        "worthless",
        "disgusting",
        "shut up",
        "kill you",
        "hate you",
        "password",
        "bank account",
        "gift card",
        "credit card",
        "send money",
        "wire transfer",
        "verification code",
    )
)


@dataclass(frozen=True)
class VadSettings:
    """How speech stretches are cut from the silero-vad speech probabilities.

    Attributes:
        threshold: Probability at or above which a 32 ms window is speech.
        neg_threshold: Probability below which a window counts as silence again.
        min_silence_s: Silence that ends a stretch (shorter pauses stay inside it).
        min_speech_s: Stretches shorter than this are dropped as clicks.
        pad_s: Audio kept on each side of a stretch so word edges are not clipped.
        max_segment_s: Longer stretches are split, which also bounds the audio held.
        silence_floor_dbfs: Windows quieter than this are silence without asking the
            model, so dead air on long calls costs almost nothing.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_silence_s: float = 0.5
    min_speech_s: float = 0.25
    pad_s: float = 0.1
    max_segment_s: float = 30.0
    silence_floor_dbfs: float = -70.0


@dataclass(frozen=True)
class SphinxSettings:
    """pocketsphinx search settings, tuned for speed on speech stretches.

    The library defaults (``fwdflat`` on, ``maxhmmpf`` 30000) ran at about 0.25-0.3
    times real time on speech here; capping active HMMs per frame at 3000 and skipping
    the flat-lexicon pass ran at about 0.1-0.15 with the same word error rate (0.54)
    on our synthetic test speech. Narrower beams were faster still but garbled words.
    """

    beam: float = 1e-48
    wbeam: float = 7e-29
    maxhmmpf: int = 3000
    fwdflat: bool = False


@dataclass(frozen=True)
class AudioConfig:
    """Everything `analyse_recording` and `probe` need to know.

    Attributes:
        max_duration_s: Longer recordings are refused with ``too_long``.
        asr_model_path: A local `transformers` speech-recognition checkpoint folder to
            use instead of pocketsphinx; nothing is downloaded.
        keywords: Terms to spot with pocketsphinx's keyword search.
        block_s: Seconds of source audio decoded at a time; bounds memory.
        vad: Speech detection settings.
        sphinx: pocketsphinx search settings.
    """

    max_duration_s: float = DEFAULT_MAX_DURATION_S
    asr_model_path: Path | None = None
    keywords: tuple[KeywordTerm, ...] = DEFAULT_KEYWORDS
    block_s: float = 10.0
    vad: VadSettings = field(default_factory=VadSettings)
    sphinx: SphinxSettings = field(default_factory=SphinxSettings)
