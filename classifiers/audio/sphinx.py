"""Transcription and keyword spotting with pocketsphinx's bundled US-English model.

Two decoders: one searches the bundled language model for an open transcript, the
other runs keyword spotting for the configured terms, which catches words the open
search turns into something else. Both work on one speech stretch at a time.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
from pocketsphinx import Decoder

from classifiers.audio.config import KeywordTerm, SphinxSettings
from classifiers.audio.errors import AudioConfigError
from classifiers.audio.resample import FloatArray

logger = logging.getLogger(__name__)

#: pocketsphinx's frame rate (frames per second) with the bundled model.
FRAME_RATE = 100.0

#: Threshold exponent per phone past the third: 4 phones -> 1e-4, 6 -> 1e-12, 8 -> 1e-20.
#: Long phrases need a far smaller threshold to fire at all. Fitted on espeak-ng speech
#: (36 sentence recordings, 4 voices): 4 per phone found 22 of 60 spoken terms with no
#: false hit; 5 found 23 but heard "send money" in "seven in the morning".
_EXPONENT_PER_PHONE = 4.0
_MIN_EXPONENT = 3.0
_MAX_EXPONENT = 45.0

_ALTERNATE = re.compile(r"\(\d+\)$")
_KWS_SEARCH = "keywords"


@dataclass(frozen=True)
class TimedWord:
    """A recognised word, timed in seconds from the start of the recording."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Transcript:
    """The words of one speech stretch."""

    text: str
    words: list[TimedWord]


@dataclass(frozen=True)
class KeywordHit:
    """A spotted term, timed in seconds from the start of the recording."""

    term: str
    start: float
    end: float


def to_pcm16(samples: FloatArray) -> bytes:
    """Float samples in [-1, 1] to the little-endian 16-bit PCM pocketsphinx reads."""
    clipped = np.clip(samples, -1.0, 1.0) * 32767.0
    return clipped.astype("<i2").tobytes()


class SphinxTranscriber:
    """Open-vocabulary transcription with the bundled language model.

    Args:
        settings: Search beams; see `SphinxSettings`.
    """

    name = "pocketsphinx-en-us"

    def __init__(self, settings: SphinxSettings) -> None:
        self._decoder = Decoder(
            loglevel="FATAL",
            beam=settings.beam,
            wbeam=settings.wbeam,
            maxhmmpf=settings.maxhmmpf,
            fwdflat=settings.fwdflat,
        )

    def transcribe(self, samples: FloatArray, offset_s: float) -> Transcript:
        """Transcribe one stretch of 16 kHz audio that starts ``offset_s`` into the call."""
        d = self._decoder
        d.start_utt()
        d.process_raw(to_pcm16(samples), full_utt=True)
        d.end_utt()
        words: list[TimedWord] = []
        for seg in d.seg() or []:
            token = _ALTERNATE.sub("", seg.word.strip())
            if not token or token.startswith(("<", "[")):
                continue  # silence, sentence marks and noise fillers
            words.append(
                TimedWord(
                    word=token,
                    start=round(offset_s + seg.start_frame / FRAME_RATE, 2),
                    end=round(offset_s + (seg.end_frame + 1) / FRAME_RATE, 2),
                    confidence=round(min(1.0, max(0.0, float(seg.prob))), 3),
                )
            )
        return Transcript(" ".join(w.word for w in words), words)


class KeywordSpotter:
    """pocketsphinx keyword search over a configurable list of terms.

    Args:
        terms: The terms; every word must be in the pronunciation dictionary.

    Raises:
        AudioConfigError: a term has a word the dictionary does not know.
    """

    def __init__(self, terms: tuple[KeywordTerm, ...]) -> None:
        self.terms = terms
        self._decoder: Decoder | None = None
        if not terms:
            return
        # No language model: this decoder only ever runs the keyword search.
        decoder = Decoder(loglevel="FATAL", lm=None)
        lines = [f"{phrase} /{thr:g}/" for phrase, thr in _thresholds(decoder, terms)]
        fd, path = tempfile.mkstemp(suffix=".kws", text=True)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            decoder.add_kws(_KWS_SEARCH, path)
        finally:
            os.unlink(path)
        decoder.activate_search(_KWS_SEARCH)
        self._decoder = decoder

    def spot(self, samples: FloatArray, offset_s: float) -> list[KeywordHit]:
        """Find the terms in one stretch of 16 kHz audio starting ``offset_s`` in."""
        if self._decoder is None:
            return []
        d = self._decoder
        d.start_utt()
        d.process_raw(to_pcm16(samples), full_utt=True)
        d.end_utt()
        hits = {
            (
                seg.word.strip(),
                round(offset_s + seg.start_frame / FRAME_RATE, 2),
                round(offset_s + (seg.end_frame + 1) / FRAME_RATE, 2),
            )
            for seg in d.seg() or []
        }
        return [KeywordHit(term, start, end) for term, start, end in sorted(hits, key=_by_time)]


def _thresholds(decoder: Decoder, terms: tuple[KeywordTerm, ...]) -> list[tuple[str, float]]:
    """Each term, normalised, with its threshold; refuses words not in the dictionary."""
    result = []
    for term in terms:
        phrase = " ".join(term.phrase.lower().split())
        if not phrase:
            raise AudioConfigError("a keyword term is empty")
        phones = 0
        for word in phrase.split():
            pron = decoder.lookup_word(word)
            if pron is None:
                raise AudioConfigError(
                    f"keyword {term.phrase!r}: {word!r} is not in the pocketsphinx dictionary"
                )
            phones += len(pron.split())
        result.append((phrase, term.threshold or default_threshold(phones)))
    return result


def default_threshold(phones: int) -> float:
    """Keyword threshold for a phrase of ``phones`` phones (see `_EXPONENT_PER_PHONE`)."""
    exponent = min(_MAX_EXPONENT, max(_MIN_EXPONENT, _EXPONENT_PER_PHONE * (phones - 3)))
    return math.pow(10.0, -exponent)


def _by_time(hit: tuple[str, float, float]) -> tuple[float, str]:
    return hit[1], hit[0]
