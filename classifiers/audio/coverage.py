"""Whether a transcript from the US-English recogniser can be trusted as English.

pocketsphinx's bundled model knows only US English: Hindi or Hinglish speech comes out as
a string of common English words ("you got the guts to be all the league"), which the
text classifier would then score as if someone had said them. A recording is given no
transcript when its speaker's known languages leave English out, or when the
recogniser's own word posteriors say it was guessing.

Measured on espeak-ng speech (10 English clips in three voices, 20 Hindi clips in three
voices, half Devanagari and half romanised Hinglish; ``bench/transcript_coverage.py``):
mean word posterior 0.30 to 0.69 for English against 0.24 to 0.44 for Hindi, so the audio
alone separates only in part; the speaker's language is what decides most Hindi speech.
Nothing else measured separated better: the share of recognised words among the 2,000
commonest English comment words (0.80 to 1.00 against 0.60 to 1.00: the recogniser turns
foreign speech into the commonest English words), words per second of speech (2.34 to
3.92 against 1.95 to 3.73), mean word length (3.35 to 4.10 against 2.95 to 4.95), nor
the gap per frame between the word search and a free phone loop (-18.5 to -12.1 against
-23.5 to -11.2), so no word list is shipped for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class TranscriptStatus(StrEnum):
    """What a recording's transcript is worth."""

    #: Transcribed and trusted as English: scored by the text models.
    TRANSCRIBED = "transcribed"
    #: Speech in a language the recogniser does not know: listen to it, nothing is scored.
    NO_TRANSCRIPT_LANGUAGE = "no_transcript_language"


#: Below this mean word posterior, the recogniser was guessing (fitted on the clips above:
#: 2 of 10 English clips fall under it, both in espeak-ng's British voice, which the US
#: model mishears; 16 of 20 Hindi and Hinglish clips do).
MIN_MEAN_CONFIDENCE = 0.38
#: Fewer recognised words than this say too little to judge the audio by; the speaker's
#: language still decides.
MIN_WORDS = 4
#: Languages the bundled model transcribes.
TRANSCRIBED_LANGUAGES = ("en",)


class HeardWord(Protocol):
    """A recognised word with the recogniser's posterior probability for it."""

    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True)
class Coverage:
    """The verdict on one recording's transcript, with what it was based on.

    Attributes:
        status: Whether the transcript is trusted.
        reason: ``speaker_language``, ``low_confidence`` or ``english``.
        mean_confidence: Mean word posterior, None without words.
        words: How many words were recognised.
    """

    status: TranscriptStatus
    reason: str
    mean_confidence: float | None
    words: int

    @property
    def trusted(self) -> bool:
        return self.status is TranscriptStatus.TRANSCRIBED


def speaks_transcribed_language(languages: Sequence[str] | None) -> bool | None:
    """Whether a speaker's known languages include one the model transcribes; None when
    nothing is known."""
    if not languages:
        return None
    families = {code.split("-")[0].lower() for code in languages}
    return bool(families & set(TRANSCRIBED_LANGUAGES))


def judge_transcript(words: Sequence[HeardWord],
                     speaker_languages: Sequence[str] | None = None) -> Coverage:
    """Trust the transcript as English, or not.

    Args:
        words: The recognised words of the whole recording.
        speaker_languages: The speaker's languages as their platform declared them
            (``["hi"]``, ``["hi-Latn", "en"]``); None or empty when unknown.

    Returns:
        ``no_transcript_language`` when the speaker has no English, or when enough words
        were heard with a mean posterior under `MIN_MEAN_CONFIDENCE`; else ``transcribed``.
    """
    mean = (round(sum(w.confidence for w in words) / len(words), 3) if words else None)
    if speaks_transcribed_language(speaker_languages) is False:
        return Coverage(TranscriptStatus.NO_TRANSCRIPT_LANGUAGE, "speaker_language", mean,
                        len(words))
    if mean is not None and len(words) >= MIN_WORDS and mean < MIN_MEAN_CONFIDENCE:
        return Coverage(TranscriptStatus.NO_TRANSCRIPT_LANGUAGE, "low_confidence", mean,
                        len(words))
    return Coverage(TranscriptStatus.TRANSCRIBED, "english", mean, len(words))
