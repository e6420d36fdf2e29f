"""The team's abuse lexicon, matched through the spellings people use.

The lexicon (Hindi and Hinglish terms in ``resources/hindi_abuse_lexicon.tsv``, English
phrases of 1:1 chat in ``resources/english_abuse_lexicon.tsv``; provenance in the README
beside them) names each term's category and severity. Matching runs on the text after
:func:`classifiers.normalise.normalise_with_offsets` (homoglyphs, spaced-out letters,
leetspeak and stretched letters already undone), then folds each word with
:func:`fold`, so that one entry covers the usual romanisations:

* vowel length: ``aa``/``a``, ``ee``/``i``, ``oo``/``u``, ``au``/``o``, ``iy``/``i``;
* consonants: ``chh``/``ch``, ``z``/``j``, ``w``/``v``, ``ph``/``f``, ``q``/``k``;
* doubled letters: ``kutte``/``kute``; digits and symbols as letters (``bh0sd1ke``);
* masked letters: ``ch*tiya``, ``ch**tiya`` (``*`` stands for one to three letters);
* Devanagari: nukta, candrabindu/anusvara and long/short vowel signs folded;
* phrases match written apart or together (``behen chod``/``behenchod``).

A text's lexicon score for a label is ``1 - prod(1 - p)`` over its hits, with ``p``
from the hit's severity (:data:`SEVERITY_EVIDENCE`): one mild word is weak evidence,
one severe word is near-certain.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from classifiers.language import is_hinglish
from classifiers.normalise import normalise_batch, normalise_with_offsets

LEXICON_FILE = Path(__file__).parent / "resources" / "hindi_abuse_lexicon.tsv"
#: English phrases of 1:1 chat and calls (threats, sexual harassment, insults aimed at
#: the reader), matched the same way.
ENGLISH_FILE = Path(__file__).parent / "resources" / "english_abuse_lexicon.tsv"

CATEGORIES = ("sexual_slur", "caste_religious_slur", "insult", "threat", "sexual_harassment")
#: The model labels each lexicon category is evidence for (a caste slur is abuse too).
CATEGORY_LABELS: dict[str, tuple[str, ...]] = {
    "sexual_slur": ("abusive",), "insult": ("abusive",), "threat": ("abusive",),
    "sexual_harassment": ("abusive",), "caste_religious_slur": ("abusive", "hate")}
#: Probability one hit of each severity stands for.
SEVERITY_EVIDENCE = {1: 0.3, 2: 0.8, 3: 0.95}
#: Longest phrase, in words, looked up.
MAX_PHRASE = 5
#: Shortest word that may be joined with its neighbours to match a term.
MIN_JOINED = 3

_TOKEN = re.compile(r"[\w\u0900-\u097f*]+")
_LATIN_FOLDS = (("chh", "ch"), ("ph", "f"), ("z", "j"), ("w", "v"), ("q", "k"),
                ("ck", "k"), ("ee", "i"), ("oo", "u"))
_AFTER_COLLAPSE = (("au", "o"), ("iy", "i"), ("ey", "e"))
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_REPEAT = re.compile(r"(.)\1+")
_DEVANAGARI_FOLD = str.maketrans({"\u093c": None, "\u0901": "\u0902", "\u0940": "\u093f",
                                  "\u0942": "\u0941", "\u0908": "\u0907", "\u090a": "\u0909",
                                  "\u200c": None, "\u200d": None})


class LexiconError(ValueError):
    """The lexicon file has a malformed line."""


@dataclass(frozen=True)
class Entry:
    """One lexicon term."""

    term: str
    category: str
    severity: int


@dataclass(frozen=True)
class Hit:
    """A lexicon term found in a text, with its span in the original text."""

    start: int
    end: int
    entry: Entry

    @property
    def labels(self) -> tuple[str, ...]:
        return CATEGORY_LABELS[self.entry.category]

    @property
    def evidence(self) -> float:
        return SEVERITY_EVIDENCE[self.entry.severity]


#: Ordinary words whose folded spelling is a term's: left as written, they match nothing.
#: "pakka", "pakki", "pakke" (Hinglish for "sure", "for certain": "kal pakka milte hain")
#: fold onto the slur "paki" once the doubled letter is collapsed.
ORDINARY_WORDS = frozenset({"pakka", "pakki", "pakke"})


def fold(word: str) -> str:
    """One spelling for the romanisations (and Devanagari variants) of a word."""
    word = word.lower()
    return word if word in ORDINARY_WORDS else _fold_letters(word)


def _fold_letters(word: str) -> str:
    """:func:`fold` of a lower-case word (or text), ordinary words not set apart."""
    if not word.isascii():
        word = unicodedata.normalize("NFD", word).translate(_DEVANAGARI_FOLD)
        word = unicodedata.normalize("NFC", word)
    for old, new in _LATIN_FOLDS:
        word = word.replace(old, new)
    word = _REPEAT.sub(r"\1", word)
    for old, new in _AFTER_COLLAPSE:
        word = word.replace(old, new)
    return word


#: What the ordinary words fold into, letter by letter: only a text with one of these
#: needs folding word by word.
_ORDINARY_FOLDED = frozenset(_fold_letters(word) for word in ORDINARY_WORDS)


class Lexicon:
    """Entries indexed by their folded words, for matching."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.phrases: dict[tuple[str, ...], Entry] = {}
        for entry in entries:
            words = tuple(fold(w) for w in _TOKEN.findall(entry.term))
            for key in (words, ("".join(words),)):
                known = self.phrases.get(key)
                if known is None or known.severity < entry.severity:
                    self.phrases[key] = entry
        self.singles = sorted(key[0] for key in self.phrases if len(key) == 1)
        # What a text must hold to hold a term: the term's anchor word (every word of a
        # phrase is in a text that holds it, so one will do: its longest uncommon word,
        # ``_anchors``); or two words that join into the start of a term written apart.
        self.anchors = _anchors(list(self.phrases))
        # A phrase written apart is looked up as a phrase: only one-word terms need
        # their starts ("bhosdi ke" for "bhosdike").
        one_word = {fold(words[0]) for words in (_TOKEN.findall(e.term) for e in entries)
                    if len(words) == 1}
        self.joined_starts = {word[:end] for word in one_word
                              for end in range(2 * MIN_JOINED, len(word) + 1)}

    def _masked(self, word: str) -> Entry | None:
        """The entry a word with ``*`` masks stands for, when only one word fits."""
        literal = word.replace("*", "")
        if len(literal) < 3 or len(literal) < len(word) - len(literal):
            return None
        pieces = [re.escape(part) for part in re.split(r"\*+", word)]
        pattern = re.compile(".{1,3}".join(pieces))
        found = {key for key in self.singles if pattern.fullmatch(key)}
        return self.phrases[(found.pop(),)] if len(found) == 1 else None

    def hits(self, text: str) -> list[Hit]:
        """Every term found in ``text``, longest match first at each word, left to right.

        A mild Latin-script term (severity 1: ``saala``, ``bc``, also English words such
        as ``sale`` or ``lode`` once folded) counts only in Hindi or Hinglish context: the
        text is Hinglish, holds Devanagari, or has a stronger term.
        """
        normalised, offsets = normalise_with_offsets(text)
        if not self.may_match(normalised, _TOKEN.findall(fold(normalised))):
            return []  # most texts: no word that may start a term (as in scores_batch)
        found = [Hit(offsets[start][0], offsets[end - 1][1], entry)
                 for start, end, entry in self._matches(normalised)]
        keep = _in_context([h.entry for h in found], text)
        return [h for h, kept in zip(found, keep, strict=True) if kept]

    def terms_in(self, text: str, words: list[str]) -> list[Entry]:
        """The entries :meth:`hits` finds, from the folded words of the normalised text."""
        found = [entry for _, _, entry in self._match([(0, 0, w) for w in words])]
        return [e for e, kept in zip(found, _in_context(found, text), strict=True) if kept]

    def _matches(self, normalised: str) -> list[tuple[int, int, Entry]]:
        return self._match([(m.start(), m.end(), fold(m.group()))
                            for m in _TOKEN.finditer(normalised)])

    def _match(self, tokens: list[tuple[int, int, str]]) -> list[tuple[int, int, Entry]]:
        found: list[tuple[int, int, Entry]] = []
        index = 0
        while index < len(tokens):
            entry, size = self._longest(tokens, index)
            if entry is None:
                index += 1
                continue
            found.append((tokens[index][0], tokens[index + size - 1][1], entry))
            index += size
        return found

    def _longest(self, tokens: list[tuple[int, int, str]],
                 index: int) -> tuple[Entry | None, int]:
        for size in range(min(MAX_PHRASE, len(tokens) - index), 0, -1):
            words = tuple(t[2] for t in tokens[index:index + size])
            entry = self.phrases.get(words)
            # Written together or apart ("behen chod"), but not from scraps ("g and").
            if entry is None and min(len(w) for w in words) >= MIN_JOINED:
                entry = self.phrases.get(("".join(words),))
            if entry is not None:
                return entry, size
        word = tokens[index][2]
        if "*" in word.strip("*"):
            return self._masked(word.strip("*")), 1
        return None, 1

    def scores(self, text: str) -> dict[str, float]:
        """Evidence per model label (``abusive``, ``hate``) from the terms found."""
        return label_scores(self.hits(text))

    def scores_batch(self, texts: list[str]) -> list[dict[str, float]]:
        """:meth:`scores` of each text; texts with no word that may start a term (most
        of them) are passed over after one normalisation of the whole batch."""
        out = []
        for text, normalised in zip(texts, normalise_batch(texts), strict=True):
            # Folding the whole text folds each word as :meth:`hits` does, but for an
            # ordinary word that folding would turn into a term: then word by word.
            words = _TOKEN.findall(fold(normalised))
            if not _ORDINARY_FOLDED.isdisjoint(words):
                words = [fold(word) for word in _TOKEN.findall(normalised)]
            out.append(label_scores(self.terms_in(text, words)
                                    if self.may_match(normalised, words) else []))
        return out

    def may_match(self, normalised: str, words: list[str]) -> bool:
        """Whether a text (normalised, and its folded words) may hold a term."""
        if "*" in normalised:
            return True
        return not self.anchors.isdisjoint(words) or any(
            a + b in self.joined_starts for a, b in zip(words, words[1:], strict=False)
            if len(a) >= MIN_JOINED and len(b) >= MIN_JOINED)


#: Words too common in chat to look a phrase up by ("i will kill you" is looked up when
#: a text holds ``kill``, not each time it holds ``i`` or ``you``), folded.
_COMMON_WORDS = frozenset(_fold_letters(word) for word in (
    "i", "ill", "ll", "im", "am", "you", "u", "ya", "your", "ur", "yourself", "urself",
    "self", "me", "my", "a", "an", "the", "to", "of", "on", "in", "for", "with", "and",
    "or", "is", "are", "r", "it", "be", "do", "so", "that", "this", "what", "at", "up",
    "out", "off", "go", "get", "let", "give", "take", "show", "send", "have", "want",
    "wanna", "gonna", "going", "will", "should", "hope", "know", "where", "how", "much",
    "one", "night", "call", "re", "s", "t", "d", "m", "ve", "ja", "ka", "ki", "ke", "ko",
    "se", "hai", "tu", "tera", "teri", "tere", "main", "mai", "kar", "de", "le", "na", "ek"))


def _anchors(keys: list[tuple[str, ...]]) -> set[str]:
    """One word per term a text must hold to hold the term: a single word itself; for a
    phrase its longest word (longer words are rarer), leaving out :data:`_COMMON_WORDS`
    unless every word is common, and of two as long the one fewer terms share."""
    shared = Counter(word for key in keys for word in set(key))
    anchors = set()
    for key in keys:
        rare = [word for word in key if word not in _COMMON_WORDS] or list(key)
        anchors.add(min(rare, key=lambda word: (-len(word), shared[word])))
    return anchors


def _hindi_context(text: str) -> bool:
    return bool(_DEVANAGARI.search(text)) or is_hinglish(text)


def _in_context(entries: list[Entry], text: str) -> list[bool]:
    """Which entries count (see :meth:`Lexicon.hits` on mild Latin-script terms)."""
    mild = [e.severity == 1 and e.term.isascii() for e in entries]
    if any(mild) and not (any(e.severity > 1 for e in entries) or _hindi_context(text)):
        return [not m for m in mild]
    return [True] * len(entries)


def label_scores(found: list[Hit] | list[Entry]) -> dict[str, float]:
    """``1 - prod(1 - p)`` per label over the terms found; labels without any score 0."""
    out = dict.fromkeys(sorted({x for xs in CATEGORY_LABELS.values() for x in xs}), 0.0)
    for item in found:
        entry = item.entry if isinstance(item, Hit) else item
        evidence = SEVERITY_EVIDENCE[entry.severity]
        for label in CATEGORY_LABELS[entry.category]:
            out[label] = 1.0 - (1.0 - out[label]) * (1.0 - evidence)
    return out


def parse_lexicon(lines: list[str]) -> list[Entry]:
    """Entries from the TSV lines (``#`` comments skipped); raises :class:`LexiconError`."""
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.rstrip("\n").split("\t")
        if len(cells) < 3 or cells[1] not in CATEGORIES or cells[2] not in {"1", "2", "3"}:
            raise LexiconError(f"line {number}: expected term, category, severity 1-3")
        if len(_TOKEN.findall(cells[0])) > MAX_PHRASE:
            raise LexiconError(f"line {number}: a term is at most {MAX_PHRASE} words")
        entries.append(Entry(cells[0].strip(), cells[1], int(cells[2])))
    return entries


@lru_cache(maxsize=1)
def shipped_lexicon() -> Lexicon:
    """The lexicon shipped in ``resources/``: the Hindi and Hinglish terms and the
    English phrases."""
    return Lexicon([entry for path in (LEXICON_FILE, ENGLISH_FILE)
                    for entry in parse_lexicon(path.read_text(encoding="utf-8").splitlines())])
