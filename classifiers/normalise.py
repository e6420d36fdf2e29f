"""Undo the tricks abusers use to slip past naive text models.

Every step is a whole-batch operation: the texts of a batch are joined with
``"\\n"`` and each regular expression runs once over the joined string, so the
hot path has no Python loop per token. The same steps, applied one text at a
time with offset tracking (:func:`normalise_with_offsets`), let explanations
point back at characters of the *original* text.

Steps, in order:

1. NFKC (fullwidth and mathematical letters become ASCII), zero-width and
   bidi-control characters removed, homoglyphs (Cyrillic, Greek, Cherokee ...
   look-alikes of Latin letters, from Unicode's confusables via
   ``confusable-homoglyphs``) mapped to the Latin letter.
2. Lower case; HTML entities, URLs and @mentions replaced by placeholders.
3. Spaced-out words joined: ``"s t u p i d"`` / ``"s.t.u.p.i.d"`` -> ``"stupid"``.
4. Leetspeak inside tokens that also hold letters: ``"1d10t"`` -> ``"idiot"``,
   ``"$h1t"`` -> ``"shit"``, ``"b!tch"`` -> ``"bitch"``.
5. Runs of three or more of one letter collapsed: ``"stuuuupid"`` -> ``"stupid"``.
6. Two letters repeated three or more times cut to two: ``"hahahahaha"`` -> ``"haha"``
   (chat laughs at length; the tweets the models learnt from laughed mostly in abuse,
   so a long laugh alone scored as abusive).
7. Whitespace collapsed to single spaces.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import confusable_homoglyphs
import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Characters that render as nothing and are used to split a word invisibly.
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)

#: Scripts whose letters are real text for our users, never disguises: leave them alone.
_KEEP_SCRIPTS = (
    "DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL",
    "TELUGU", "KANNADA", "MALAYALAM", "ARABIC",
)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "9": "g", "$": "s", "@": "a"})

Replacement = Callable[[re.Match[str]], str] | str


def _join_spaced(match: re.Match[str]) -> str:
    words = _WORD_GAP.split(match.group()[1:])
    return " " + " ".join(_SPACER.sub("", word) for word in words)


def _unleet(match: re.Match[str]) -> str:
    return match.group().translate(_LEET)


_NEWLINE = 10
_SPACER = re.compile(r"[ .*_-]")
_WORD_GAP = re.compile(r"  +")

UIntArray = NDArray[np.uint32]
BoolArray = NDArray[np.bool_]


def _word_like(points: UIntArray) -> BoolArray:
    """ASCII letters, digits, $ and @, and anything non-ASCII (a superset of the patterns)."""
    return np.asarray(((points >= 97) & (points <= 122)) | ((points >= 48) & (points <= 57))
                      | (points == 36) | (points == 64) | (points >= 128), dtype=np.bool_)


def _may_be_spaced(points: UIntArray) -> BoolArray:
    """Positions where a spaced-out word *could* start: " x.y." or " x  y " and so on."""
    p = np.concatenate((points, np.zeros(6, dtype=np.uint32)))
    word = _word_like(p)
    gap = (p == 32) | (p == 46) | (p == 42) | (p == 95) | (p == 45)
    n = len(points)
    start = (p[:n] == 32) & word[1:n + 1] & gap[2:n + 2]
    return np.asarray(start & ((word[3:n + 3] & gap[4:n + 4])
                               | (gap[3:n + 3] & word[4:n + 4] & gap[5:n + 5])), dtype=np.bool_)


def _may_repeat(points: UIntArray) -> BoolArray:
    """Positions starting three equal letters (or ! ? .)."""
    third = points[2:]
    same = (third == points[1:-1]) & (points[1:-1] == points[:-2])
    kind = ((third >= 97) & (third <= 122)) | (third == 33) | (third == 63) | (third == 46)
    return np.asarray(same & kind, dtype=np.bool_)


def _may_repeat_pair(points: UIntArray) -> BoolArray:
    """Positions starting one pair of letters three times over (``hahaha``)."""
    n = len(points) - 5
    if n <= 0:
        return np.zeros(0, dtype=np.bool_)
    first, second = points[:n], points[1:n + 1]
    letter = (first >= 97) & (first <= 122) & (second >= 97) & (second <= 122)
    return np.asarray(letter & (first != second)
                      & (points[2:n + 2] == first) & (points[4:n + 4] == first)
                      & (points[3:n + 3] == second) & (points[5:n + 5] == second),
                      dtype=np.bool_)


Prefilter = Callable[[UIntArray], BoolArray]

#: (pattern, replacement, prefilter) applied in order after NFKC, homoglyphs and lower-casing.
#: Both the batch path and the offset-tracking path use this one list. A prefilter is a
#: cheap numpy test that finds every line a rare, slow pattern could match (a superset):
#: the batch path runs those patterns on the flagged lines only.
STEPS: tuple[tuple[re.Pattern[str], Replacement, Prefilter | None], ...] = (
    (re.compile(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-f]+);"), " ", None),
    (re.compile(r"https?://\S+|www\.\S+"), " url ", None),
    (re.compile(r"@(?<![\w@]@)\w+"), " @user ", None),
    # Single characters split by one space (two between words) or . * _ -, three or more.
    # Each text starts with a space (see _PAD), so the pattern can anchor on it.
    (re.compile(r" (?:[^\W_]|[$@])(?:(?:[.*_-]| {1,2})(?:[^\W_]|[$@])){2,}(?![\w$@])"),
     _join_spaced, _may_be_spaced),
    # From the first leet symbol of a token holding letters: "1d10t", "$h1t", "sh1t".
    (re.compile(r"[0134579$@](?:(?<=[a-z].)|(?<![\w$@].)(?<!@)(?=[a-z0-9$@]*[a-z]))"
                r"[a-z0-9$@]*"), _unleet, None),
    (re.compile(r"!(?<=[a-z]!)!*(?=[a-z])"), "i", None),
    (re.compile(r"([a-z!?.])\1\1+"), r"\1", _may_repeat),
    (re.compile(r"([a-z][a-z])\1{2,}"), r"\1\1", _may_repeat_pair),
    (re.compile(r"  +"), " ", None),
)

#: Every text is given a leading space so that patterns can anchor on a literal.
_PAD = " "

#: Whitespace other than the space that NFKC leaves as it is.
_ODD_WHITESPACE = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"


@lru_cache(maxsize=1)
def homoglyph_table() -> dict[int, str | None]:
    """The ``str.translate`` table: invisible characters dropped, look-alikes to Latin.

    Built once per process from the Unicode confusables data shipped with
    ``confusable-homoglyphs``; only single characters that look like one ASCII
    letter or digit are mapped.
    """

    path = Path(confusable_homoglyphs.__file__).parent / "confusables.json"
    data: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
    table: dict[int, str | None] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        if unicodedata.name(char, "").startswith(_KEEP_SCRIPTS):
            continue
        for glyph in glyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[ord(char)] = target.lower()
                break
    for char in INVISIBLE:
        table[ord(char)] = None
    logger.debug("homoglyph table with %d entries", len(table))
    return table


def _fold(text: str) -> str:
    """NFKC, invisible characters out, homoglyphs to Latin (case is handled later)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(homoglyph_table())


def _fold_non_ascii(joined: str) -> str:
    """Fold only the lines of ``joined`` that hold non-ASCII characters."""
    return _map_flagged_lines(joined, lambda points: points > 127, _fold)


def normalise_batch(texts: list[str]) -> list[str]:
    """Normalise many texts at once (the hot path).

    Args:
        texts: raw messages.

    Returns:
        One normalised string per input, in order; each starts with a space and
        never contains ``"\\n"``.
    """
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        joined = "\n".join(text.replace("\n", " ") for text in texts)
    if not joined.isascii():
        joined = _fold_non_ascii(joined)
    joined = _PAD + joined.replace("\n", "\n" + _PAD)
    for char in _ODD_WHITESPACE:
        if char in joined:
            joined = joined.replace(char, " ")
    joined = joined.lower()
    for pattern, replacement, prefilter in STEPS:
        if prefilter is None:
            joined = pattern.sub(replacement, joined)
        else:
            joined = _sub_flagged_lines(pattern, replacement, prefilter, joined)
    return joined.split("\n")


def _sub_flagged_lines(pattern: re.Pattern[str], replacement: Replacement,
                       prefilter: Prefilter, joined: str) -> str:
    """``pattern.sub`` on just the lines the prefilter flags (same result, less work)."""
    return _map_flagged_lines(joined, prefilter,
                              lambda line: pattern.sub(replacement, line))


def _map_flagged_lines(joined: str, prefilter: Prefilter, change: Callable[[str], str]) -> str:
    """Apply ``change`` to each line holding a position that ``prefilter`` flags."""
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    candidates = np.flatnonzero(prefilter(points))
    if len(candidates) == 0:
        return joined
    line_of = np.searchsorted(np.flatnonzero(points == _NEWLINE), candidates)
    lines = joined.split("\n")
    for index in np.unique(line_of).tolist():
        lines[index] = change(lines[index])
    return "\n".join(lines)


def normalise(text: str) -> str:
    """Normalise one text; same result as :func:`normalise_batch` on ``[text]``."""
    return normalise_batch([text])[0]


Span = tuple[int, int]


def _fold_with_offsets(text: str) -> tuple[str, list[Span]]:
    out: list[str] = [_PAD]
    spans: list[Span] = [(0, 0)]
    for index, char in enumerate(text):
        if char == "\n" or char in _ODD_WHITESPACE:
            char = " "
        folded = _fold(char).lower()
        out.append(folded)
        spans.extend([(index, index + 1)] * len(folded))
    return "".join(out), spans


def _sub_with_offsets(pattern: re.Pattern[str], replacement: Replacement,
                      text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    out: list[str] = []
    new_spans: list[Span] = []
    last = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        out.append(text[last:start])
        new_spans.extend(spans[last:start])
        new = replacement(match) if callable(replacement) else match.expand(replacement)
        out.append(new)
        if len(new) == end - start:
            new_spans.extend(spans[start:end])
        elif end > start:
            whole = (spans[start][0], spans[end - 1][1])
            new_spans.extend([whole] * len(new))
        last = end
    out.append(text[last:])
    new_spans.extend(spans[last:])
    return "".join(out), new_spans


def normalise_with_offsets(text: str) -> tuple[str, list[Span]]:
    """Normalise one text and map each output character to its source span.

    Args:
        text: one raw message.

    Returns:
        The normalised text and, per normalised character, the ``(start, end)``
        character span of the original text it came from.
    """
    folded, spans = _fold_with_offsets(text)
    for pattern, replacement, _ in STEPS:
        folded, spans = _sub_with_offsets(pattern, replacement, folded, spans)
    return folded, spans
