"""Voice recordings: decode, find speech, transcribe, spot keywords, score.

The public surface, for the intake API (`probe` at upload, to refuse bad files with a
422) and the classify job (`analyse_recording`). Pure functions of audio and settings:
no Flask, no database.
"""

from classifiers.audio.config import (
    DEFAULT_KEYWORDS,
    DEFAULT_MAX_DURATION_S,
    AudioConfig,
    KeywordTerm,
    SphinxSettings,
    VadSettings,
)
from classifiers.audio.coverage import Coverage, TranscriptStatus, judge_transcript
from classifiers.audio.decode import AudioInfo, AudioSource, probe
from classifiers.audio.errors import AudioConfigError, AudioError, AudioErrorCode
from classifiers.audio.pipeline import (
    RecordingAnalysis,
    Segment,
    TextScorer,
    analyse_recording,
    load_engine,
)
from classifiers.audio.sphinx import KeywordHit, TimedWord

__all__ = [
    "DEFAULT_KEYWORDS",
    "DEFAULT_MAX_DURATION_S",
    "AudioConfig",
    "AudioConfigError",
    "AudioError",
    "AudioErrorCode",
    "AudioInfo",
    "Coverage",
    "AudioSource",
    "KeywordHit",
    "KeywordTerm",
    "RecordingAnalysis",
    "Segment",
    "SphinxSettings",
    "TextScorer",
    "TimedWord",
    "TranscriptStatus",
    "VadSettings",
    "analyse_recording",
    "judge_transcript",
    "load_engine",
    "probe",
]
