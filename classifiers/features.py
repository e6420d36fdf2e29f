"""Hashed word and character n-grams, computed for a whole batch with numpy.

The featuriser has the semantics of scikit-learn's ``HashingVectorizer`` with
``analyzer="char_wb"`` (character n-grams inside space-padded words) next to a
word unigram+bigram hasher, but it hashes every n-gram of a batch in a handful
of vectorised numpy operations instead of a Python loop per token. That is what
lets the linear model score tens of thousands of messages a second on one core.

Occurrences come out sorted by document, so per-document sums are differences
of one cumulative sum. Word characters are letters, digits and ``_`` in ASCII
and every non-ASCII character outside the punctuation, symbol and emoji blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT = np.uint64(33)
_SALT_CHAR = 0x9E3779B97F4A7C15
_SALT_WORD = np.uint64(0x632BE59BD9B4E019)
_SALT_BIGRAM = np.uint64(0x85EBCA77C2B2AE63)
_NEWLINE = 10
_SPACE = 32

#: Non-ASCII code point ranges treated as separators, not word characters.
_SEPARATOR_RANGES = ((0x80, 0xBF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE00, 0xFE0F),
                     (0xFF00, 0xFF0F), (0x1F000, 0x1FAFF))

Int64Array = NDArray[np.int64]
UInt64Array = NDArray[np.uint64]


def _ascii_word_table() -> NDArray[np.bool_]:
    table = np.zeros(128, dtype=np.bool_)
    for char in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
        table[ord(char)] = True
    return table


_ASCII_WORD = _ascii_word_table()


def word_mask(points: NDArray[np.uint32]) -> NDArray[np.bool_]:
    """True where a code point is a word character (see the module docstring)."""
    is_word = np.where(points < 128, _ASCII_WORD[np.minimum(points, 127)], True)
    if points.max(initial=0) >= 128:
        for low, high in _SEPARATOR_RANGES:
            is_word &= ~((points >= low) & (points <= high))
    return np.asarray(is_word, dtype=np.bool_)


def word_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of ``text``, by the featuriser's definition."""
    points = np.frombuffer((" " + text + " ").encode("utf-32-le"), dtype=np.uint32)
    edges = np.diff(word_mask(points).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass(frozen=True)
class Occurrences:
    """Where each hashed n-gram occurs, sorted by document.

    Spans (only when asked for) are ``(start, end)`` in the joined batch, which
    starts with one separator: subtract 1 for a one-document batch.
    """

    char_doc: Int64Array
    char_bucket: Int64Array
    word_doc: Int64Array
    word_bucket: Int64Array
    char_span: Int64Array
    word_span: Int64Array


def _mix(values: UInt64Array, bits: int) -> Int64Array:
    """Fibonacci hashing of a rolling hash: keep the top ``bits`` bits as a bucket."""
    mixed = (values ^ (values >> _SHIFT)) * _MIX
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


@lru_cache(maxsize=4)
def _powers(size: int) -> tuple[UInt64Array, UInt64Array]:
    """``PRIME**i`` and ``PRIME**-i`` modulo 2**64 for i in 1..size (cached per size)."""
    inverse = np.uint64(pow(int(_PRIME), -1, 1 << 64))
    powers = np.cumprod(np.full(size, _PRIME, dtype=np.uint64), dtype=np.uint64)
    inverse_powers = np.cumprod(np.full(size, inverse, dtype=np.uint64), dtype=np.uint64)
    return np.asarray(powers, dtype=np.uint64), np.asarray(inverse_powers, dtype=np.uint64)


def _no_span() -> Int64Array:
    return np.empty((0, 2), dtype=np.int64)


@dataclass(frozen=True)
class NgramHasher:
    """Hash character n-grams (within words) and word uni/bigrams into buckets.

    Attributes:
        char_bits: log2 of the number of character n-gram buckets.
        word_bits: log2 of the number of word n-gram buckets.
        char_min: shortest character n-gram (at least 3: the interior rule needs it).
        char_max: longest character n-gram.
    """

    char_bits: int = 19
    word_bits: int = 19
    char_min: int = 3
    char_max: int = 5

    def __post_init__(self) -> None:
        if not 3 <= self.char_min <= self.char_max:
            raise ValueError("need 3 <= char_min <= char_max")

    def codepoints(self, docs: list[str]) -> tuple[UInt64Array, Int64Array]:
        """The batch as code points, separators as spaces, and each position's document."""
        points = np.frombuffer(("\n" + "\n".join(docs) + "\n").encode("utf-32-le"),
                               dtype=np.uint32)
        doc_of = np.cumsum(points == _NEWLINE, dtype=np.int64) - 1
        values = np.where(word_mask(points), points, _SPACE).astype(np.uint64)
        return values, doc_of

    def occurrences(self, docs: list[str], spans: bool = False) -> Occurrences:
        """Every hashed n-gram occurrence of a batch of normalised documents.

        Args:
            docs: normalised documents (see :mod:`classifiers.normalise`).
            spans: also report each occurrence's character span (for explanations).
        """
        values, doc_of = self.codepoints(docs)
        char_doc, char_bucket, char_span = self._char_ngrams(values, doc_of, spans)
        word_doc, word_bucket, word_span = self._word_ngrams(values, doc_of, spans)
        return Occurrences(char_doc, char_bucket, word_doc, word_bucket, char_span, word_span)

    def _char_ngrams(self, values: UInt64Array, doc_of: Int64Array,
                     spans: bool) -> tuple[Int64Array, Int64Array, Int64Array]:
        size = len(values)
        sizes = range(self.char_min, self.char_max + 1)
        hashes = np.zeros((size, len(sizes)), dtype=np.uint64)
        valid = np.zeros((size, len(sizes)), dtype=np.bool_)
        sep_before = np.concatenate(([0], np.cumsum(values == _SPACE, dtype=np.int64)))
        rolling = values
        for n in range(2, self.char_max + 1):
            rolling = rolling[:-1] * _PRIME + values[n - 1:]
            if n < self.char_min:
                continue
            column, count = n - self.char_min, len(rolling)
            hashes[:count, column] = rolling + np.uint64((n * _SALT_CHAR) % (1 << 64))
            # Valid when every interior character is a word character.
            valid[:count, column] = sep_before[n - 1:n - 1 + count] == sep_before[1:1 + count]
        flat = valid.ravel()
        position = np.flatnonzero(flat) // len(sizes)
        doc = doc_of[np.minimum(position + 1, size - 1)]
        bucket = _mix(hashes.ravel()[flat], self.char_bits)
        span = _no_span()
        if spans:
            lengths = np.asarray(sizes, dtype=np.int64)[np.flatnonzero(flat) % len(sizes)]
            span = np.stack((position, position + lengths), axis=1)
        return doc, bucket, span

    def _word_ngrams(self, values: UInt64Array, doc_of: Int64Array,
                     spans: bool) -> tuple[Int64Array, Int64Array, Int64Array]:
        edges = np.diff((values != _SPACE).astype(np.int8))
        starts = np.flatnonzero(edges == 1) + 1
        ends = np.flatnonzero(edges == -1) + 1
        powers, inverse_powers = _powers(1 << max(10, (len(values) - 1).bit_length()))
        prefix = np.empty(len(values) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(values * powers[:len(values)], out=prefix[1:])
        word_hash = (prefix[ends] - prefix[starts]) * inverse_powers[starts]
        word_doc = doc_of[starts]
        # Column 0: the word; column 1: the bigram it starts (if the next word is in its text).
        pair = np.zeros((len(starts), 2), dtype=np.uint64)
        pair[:, 0] = word_hash + _SALT_WORD
        pair[:-1, 1] = word_hash[:-1] * _SALT_BIGRAM + word_hash[1:]
        valid = np.ones((len(starts), 2), dtype=np.bool_)
        valid[:-1, 1] = word_doc[:-1] == word_doc[1:]
        valid[-1:, 1] = False
        flat = valid.ravel()
        bucket = _mix(pair.ravel()[flat], self.word_bits)
        doc = np.repeat(word_doc, 2)[flat]
        span = _no_span()
        if spans:
            next_end = np.concatenate((ends[1:], ends[-1:]))
            span = np.stack((np.repeat(starts, 2), np.stack((ends, next_end), axis=1).ravel()),
                            axis=1)[flat]
        return doc, bucket, span
