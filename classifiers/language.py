"""Which language each message is in, Hinglish included.

``py3langid`` names the language. Two rules sit on top of it:

* Devanagari: a message whose letters are mostly Devanagari is ``"hi"`` unless
  langid is sure it is Marathi, Nepali or Sanskrit (``"mr"``, ``"ne"``, ``"sa"``).
* Hinglish: Hindi typed in Latin letters confuses langid (it guesses Hausa,
  Indonesian ...). When langid's answer is a Latin-script language and at least
  two words, and at least a quarter of the words, are on the shipped list of
  common romanised Hindi words (``resources/hinglish_words.txt``), the message is
  ``"hi-Latn"``. One- or two-word messages qualify when every word is on the list.

Messages with no letters at all are ``"und"``.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import py3langid

logger = logging.getLogger(__name__)

HINGLISH = "hi-Latn"
UNDETERMINED = "und"
WORD_LIST = Path(__file__).parent / "resources" / "hinglish_words.txt"

#: Minimum share of a message's words found on the Hinglish list.
HINGLISH_MIN_SHARE = 0.25
#: Minimum number of listed words in a message of three words or more.
HINGLISH_MIN_HITS = 2

#: py3langid languages not written in Latin script.
NON_LATIN = frozenset({
    "am", "ar", "as", "be", "bg", "bn", "bo", "el", "fa", "gu", "he", "hi", "hy", "ja",
    "ka", "kk", "km", "kn", "ko", "ky", "lo", "mk", "ml", "mn", "mr", "ne", "or", "pa",
    "ps", "ru", "si", "sr", "ta", "te", "th", "ug", "uk", "ur", "zh", "dz", "sa",
})
_DEVANAGARI_OTHER = frozenset({"mr", "ne", "sa"})
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def hinglish_words() -> frozenset[str]:
    """The shipped list of common romanised Hindi words."""
    lines = WORD_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def is_hinglish(text: str) -> bool:
    """Whether enough of a Latin-script text's words are common romanised Hindi."""
    words = _LATIN_WORD.findall(text.lower())
    if not words:
        return False
    listed = hinglish_words()
    hits = sum(word in listed for word in words)
    if len(words) <= 2:
        return hits == len(words)
    return hits >= HINGLISH_MIN_HITS and hits / len(words) >= HINGLISH_MIN_SHARE


def detect_language(text: str) -> str:
    """ISO 639-1 code of one message, ``"hi-Latn"`` for Hinglish, ``"und"`` if unknown."""
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return UNDETERMINED
    code = str(py3langid.classify(text)[0])
    if len(_DEVANAGARI.findall(text)) * 2 >= letters:
        return code if code in _DEVANAGARI_OTHER else "hi"
    if code not in NON_LATIN and is_hinglish(text):
        return HINGLISH
    return code


def detect_languages(texts: list[str]) -> list[str]:
    """Language of each message, in order (see the module docstring for the rules)."""
    return [detect_language(text) for text in texts]
