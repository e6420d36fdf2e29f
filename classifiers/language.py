"""Which language each message is in, restricted to the languages the users write.

HARMONI's users write English, Hindi in Devanagari and Hindi in Latin letters
(Hinglish, ``"hi-Latn"``), often in one message. Identification only ever answers
with a configured language (by default :data:`DEFAULT_LANGUAGES`; more Indian
languages from :data:`SUPPORTED_LANGUAGES` may be added) or ``"und"`` when unsure.
A general-purpose identifier on two words of chat guesses Hausa, Maltese or
Afrikaans; those answers never reach a case.

How a message is read:

* Each word is assigned by its script: Devanagari is ``"hi"`` (``"mr"`` when
  Marathi is configured and ``py3langid`` is sure of it), Bengali ``"bn"``,
  Gurmukhi ``"pa"``, Gujarati ``"gu"``, Tamil ``"ta"``, Telugu ``"te"``,
  Kannada ``"kn"``, Malayalam ``"ml"``, Arabic script ``"ur"``.
* Latin words are Hinglish when enough of them are on the shipped list of common
  romanised Hindi words (``resources/hinglish_words.txt``, see its README);
  otherwise English when ``py3langid`` gives English (and its close kin) enough
  probability; otherwise undetermined. Hinglish and English in one message are
  split word by word (see :func:`_latin_letters`). Words common in both
  (:data:`AMBIGUOUS_WORDS`: ``to``, ``main``, ``ho`` ...) count for neither.
* The language with most letters is the message's language; a message where a
  second language holds at least :data:`MIXED_MIN_SHARE` of the letters is mixed.
  What is stored on a message is the language its reader needs
  (:func:`reader_language`): for English mixed with Hindi or Hinglish, the latter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ENGLISH = "en"
HINDI = "hi"
HINGLISH = "hi-Latn"
UNDETERMINED = "und"
WORD_LIST = Path(__file__).parent / "resources" / "hinglish_words.txt"

#: What a deployment identifies unless configured otherwise.
DEFAULT_LANGUAGES: tuple[str, ...] = (ENGLISH, HINDI, HINGLISH)
#: Everything that may be configured.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    ENGLISH, HINDI, HINGLISH, "bn", "ta", "te", "mr", "gu", "kn", "ml", "pa", "ur")

#: Minimum share of a message's Latin words found on the Hinglish list.
HINGLISH_MIN_SHARE = 0.25
#: Minimum number of listed words in a message of three words or more.
HINGLISH_MIN_HITS = 2
#: Probability ``py3langid`` must give English (with its kin) for Latin text to be English.
ENGLISH_MIN_PROBABILITY = 0.3
#: Languages ``py3langid`` confuses with English on short informal text.
_ENGLISH_KIN = frozenset({"en", "pcm", "sco"})
#: A second language with at least this share of the letters makes a message mixed.
MIXED_MIN_SHARE = 0.15
#: Latin words as common in Hinglish as in English (``main`` "I", ``to`` "then", ``ho``
#: "are", ``par`` "on", ``bus`` "enough", ``na`` "no" ...). They are kept off the Hinglish
#: list (else English would read as Hinglish) and are not counted as English words of a
#: Hinglish message either (else ordinary Hinglish would read as mixed): they count for
#: neither language, unless a message has no other Latin word.
AMBIGUOUS_WORDS = frozenset({
    "to", "me", "main", "the", "do", "he", "par", "bus", "so", "hi", "ho", "na"})

#: Unicode blocks and the language each script is taken for.
_SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0x0900, 0x097F, HINDI), (0x0980, 0x09FF, "bn"), (0x0A00, 0x0A7F, "pa"),
    (0x0A80, 0x0AFF, "gu"), (0x0B80, 0x0BFF, "ta"), (0x0C00, 0x0C7F, "te"),
    (0x0C80, 0x0CFF, "kn"), (0x0D00, 0x0D7F, "ml"), (0x0600, 0x06FF, "ur"),
    (0x0750, 0x077F, "ur"), (0xA8E0, 0xA8FF, HINDI),
)
_WORD = re.compile(r"[^\W\d_]+")
_LATIN = "latin"
_OTHER = "other"


class LanguageConfigError(ValueError):
    """A configured language is not one this module can identify."""


@dataclass(frozen=True)
class LanguageGuess:
    """The language of one text.

    Attributes:
        language: the configured language with most letters, or ``"und"``.
        languages: every configured language found, most letters first.
        mixed: whether a second language holds a real share of the text.
        letters: letters counted (what a case weighs the message by).
    """

    language: str
    languages: tuple[str, ...]
    mixed: bool
    letters: int


def check_languages(languages: Iterable[str]) -> tuple[str, ...]:
    """The configured languages, validated; raises :class:`LanguageConfigError`."""
    wanted = tuple(dict.fromkeys(str(x) for x in languages))
    unknown = [x for x in wanted if x not in SUPPORTED_LANGUAGES]
    if unknown:
        raise LanguageConfigError(
            f"unsupported languages {unknown}; choose from {list(SUPPORTED_LANGUAGES)}")
    return wanted or DEFAULT_LANGUAGES


@lru_cache(maxsize=1)
def hinglish_words() -> frozenset[str]:
    """The shipped list of common romanised Hindi words."""
    lines = WORD_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # py3langid brings numpy: on first use, so that checking the settings costs none of it.
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def warm_up() -> None:
    """Load the identifier's model and the word list now (a worker does this before it
    forks, so no job's child pays for it)."""
    hinglish_words()
    _identifier()


def loaded() -> bool:
    """Whether the identifier's model and the word list are already in this process."""
    return bool(_identifier.cache_info().currsize and hinglish_words.cache_info().currsize)


def _script(word: str) -> str:
    point = ord(word[0])
    if point < 0x250:
        return _LATIN
    for low, high, language in _SCRIPTS:
        if low <= point <= high:
            return language
    return _OTHER


def _telling(words: list[str]) -> list[str]:
    """``words`` without :data:`AMBIGUOUS_WORDS`, unless nothing else is left."""
    telling = [w for w in words if w not in AMBIGUOUS_WORDS]
    return telling or words


def is_hinglish(text: str) -> bool:
    """Whether enough of a text's Latin words (bar :data:`AMBIGUOUS_WORDS`) are common
    romanised Hindi."""
    words = _telling([w for w in _WORD.findall(text.lower()) if _script(w) == _LATIN])
    if not words:
        return False
    listed = hinglish_words()
    hits = sum(word in listed for word in words)
    if len(words) <= 2:
        return hits == len(words)
    return hits >= HINGLISH_MIN_HITS and hits / len(words) >= HINGLISH_MIN_SHARE


def _english_probability(text: str) -> float:
    """The probability ``py3langid`` gives English and its kin, as its ``rank()`` would
    sum it, without ranking all of its languages (half of identification's cost)."""
    identifier = _identifier()
    columns = _english_columns()
    if columns is None:
        return float(sum(p for code, p in identifier.rank(text) if code in _ENGLISH_KIN))
    scores = identifier._decide(text)
    return float(sum(sorted((float(scores[i]) for i in columns), reverse=True)))


@lru_cache(maxsize=1)
def _english_columns() -> tuple[int, ...] | None:
    """The score column ``rank()`` reads for each English-kin label (a label's first);
    ``None`` when this ``py3langid`` does not score that way (then ``rank()`` is used)."""
    identifier = _identifier()
    if not callable(getattr(identifier, "_decide", None)):
        return None
    classes = [str(code) for code in identifier.nb_classes]
    return tuple(classes.index(code) for code in sorted(_ENGLISH_KIN) if code in classes)


def _latin_letters(words: list[str], allowed: tuple[str, ...]) -> dict[str, int]:
    """Letters of the Latin words per language: Hinglish, English, or undetermined.

    Hinglish and English mixed in one message are split: the listed words of an
    English message (two or more) are Hinglish letters, and the unlisted words of a
    Hinglish message are English letters when they read as English. Words of
    :data:`AMBIGUOUS_WORDS` are letters of neither side of such a split.
    """
    text = " ".join(words)
    listed = hinglish_words()
    hindi = [w for w in words if w in listed] if HINGLISH in allowed else []
    other = [w for w in _telling(words) if w not in listed] if hindi else words
    out: dict[str, int] = {}
    if HINGLISH in allowed and is_hinglish(text):
        english = (ENGLISH in allowed and len(other) >= 3
                   and _english_probability(" ".join(other)) >= ENGLISH_MIN_PROBABILITY)
        out[HINGLISH] = sum(len(w) for w in (hindi if english else words))
        if english:
            out[ENGLISH] = sum(len(w) for w in other)
        return out
    english = ENGLISH in allowed and _english_probability(text) >= ENGLISH_MIN_PROBABILITY
    if english and len(hindi) >= HINGLISH_MIN_HITS:
        out[HINGLISH] = sum(len(w) for w in hindi)
        out[ENGLISH] = sum(len(w) for w in other)
        return out
    out[ENGLISH if english else UNDETERMINED] = sum(len(w) for w in words)
    return out


def _letters(text: str, allowed: tuple[str, ...]) -> dict[str, int]:
    """Letters of ``text`` per script's language, its Latin words read among ``allowed``
    (before Marathi is told from Hindi): what identifying a text costs."""
    letters: dict[str, int] = {}
    latin: list[str] = []
    for word in _WORD.findall(text):
        script = _script(word)
        if script == _LATIN:
            latin.append(word.lower())
            continue
        letters[script] = letters.get(script, 0) + len(word)
    if latin:
        for language, count in _latin_letters(latin, allowed).items():
            letters[language] = letters.get(language, 0) + count
    return letters


class Reading:
    """One text, read once for any number of questions about its language.

    :func:`identify` and :func:`other_language` of the text, among any languages, answer
    from one count of its letters (a count per way of reading its Latin words, which
    depends only on whether English and Hinglish are among the languages) and one
    Marathi test: a job that stores a message's language and asks whether its model can
    read the message identifies the text once.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._counts: dict[tuple[bool, bool], dict[str, int]] = {}
        self._marathi: bool | None = None

    def identify(self, languages: Iterable[str] = DEFAULT_LANGUAGES) -> LanguageGuess:
        """:func:`identify` of the text."""
        allowed = check_languages(languages)
        latin = (ENGLISH in allowed, HINGLISH in allowed)
        if latin not in self._counts:
            self._counts[latin] = _letters(self.text, allowed)
        letters = dict(self._counts[latin])
        if HINDI in letters and "mr" in allowed and self._is_marathi():
            letters["mr"] = letters.pop(HINDI)
        found = {code: n for code, n in letters.items() if code in allowed}
        total = sum(letters.values())
        if not found:
            return LanguageGuess(UNDETERMINED, (), False, total)
        ranked = tuple(sorted(found, key=lambda code: (-found[code], code)))
        top = found[ranked[0]]
        if top * 2 < total:  # most of the text is in nothing configured
            return LanguageGuess(UNDETERMINED, ranked, False, total)
        mixed = len(ranked) > 1 and found[ranked[1]] >= MIXED_MIN_SHARE * total
        return LanguageGuess(ranked[0], ranked, mixed, total)

    def other_language(self, languages: Iterable[str] = SUPPORTED_LANGUAGES) -> str | None:
        """:func:`other_language` of the text."""
        words = _WORD.findall(self.text.lower())
        listed = hinglish_words()
        if self.text.isascii():  # every word Latin: only the list can tell (most chat)
            if listed.isdisjoint(words):
                return None
        elif all(_script(word) == _LATIN and word not in listed for word in words):
            return None
        guess = self.identify(languages)
        if guess.language in (ENGLISH, UNDETERMINED) or ENGLISH in guess.languages:
            return None
        return guess.language

    def _is_marathi(self) -> bool:
        if self._marathi is None:
            self._marathi = _marathi(self.text)
        return self._marathi


def identify(text: str, languages: Iterable[str] = DEFAULT_LANGUAGES) -> LanguageGuess:
    """The language (or languages) of one text, among ``languages`` only."""
    return Reading(text).identify(languages)


def _marathi(text: str) -> bool:
    code, probability = _identifier().classify(text)
    return bool(code == "mr" and probability >= 0.9)


def detect_language(text: str, languages: Iterable[str] = DEFAULT_LANGUAGES) -> str:
    """The configured language with most of one text's letters, or ``"und"``."""
    return identify(text, languages).language


def detect_languages(texts: list[str], languages: Iterable[str] = DEFAULT_LANGUAGES) -> list[str]:
    """Language of each message, in order (see the module docstring for the rules)."""
    allowed = check_languages(languages)
    return [identify(text, allowed).language for text in texts]


def reader_language(guess: LanguageGuess) -> str:
    """The language a moderator must read for this text.

    A mixed message's other language wins over English: whoever reads Hindi or
    Hinglish reads the English words in it, not the other way round.
    """
    if guess.mixed and guess.language == ENGLISH:
        return next(code for code in guess.languages if code != ENGLISH)
    return guess.language


def reader_languages(texts: list[str], languages: Iterable[str] = DEFAULT_LANGUAGES) -> list[str]:
    """:func:`reader_language` of each text, in order."""
    allowed = check_languages(languages)
    return [reader_language(identify(text, allowed)) for text in texts]


def weighted_language(parts: Iterable[tuple[str | None, int]]) -> str | None:
    """The language of a body of content: each part's language weighted by its length.

    ``"und"`` and unknown parts count for nothing; ``None`` when nothing is known.
    """
    weight: dict[str, int] = {}
    for language, length in parts:
        if language and language != UNDETERMINED:
            weight[language] = weight.get(language, 0) + max(int(length), 1)
    if not weight:
        return None
    return min(weight, key=lambda code: (-weight[code], code))


def other_language(text: str, languages: Iterable[str] = SUPPORTED_LANGUAGES) -> str | None:
    """The language of a text wholly in one of ``languages`` other than English (Hindi,
    Hinglish, Bengali ...); ``None`` for English, undetermined or partly English text.

    Text whose words are all in Latin letters, none of them on the Hinglish list, is
    neither Hinglish nor another script's language: it is answered without the
    statistical identifier (most chat, emoji and accents included; scoring asks this of
    every message).
    """
    return Reading(text).other_language(languages)


def rows_by_language(texts: Iterable[str]) -> dict[str, int]:
    """How many of ``texts`` are wholly in each language other than English
    (:func:`other_language`; languages with no text are left out)."""
    counts: dict[str, int] = {}
    known: dict[str, str | None] = {}
    for text in texts:
        if text not in known:
            known[text] = other_language(text)
        language = known[text]
        if language is not None:
            counts[language] = counts.get(language, 0) + 1
    return dict(sorted(counts.items()))
