"""Hash-list files: HMA's CSV and the ThreatExchange tools' signal files, read and written.

Two forms, one entry a line:

- ``hma``: ``<64 hex digits>[,<quality>[,<source>]]``, as HMA's CSV; a header line and
  ``#`` comments are skipped.
- ``te``: ``<signal type> <signal>``, as the ``threatexchange`` CLI writes hashes
  (``threatexchange hash photo``) and as its local-file exchange reads them
  (``LocalFileSignalExchangeAPI``): ``pdq <64 lowercase hex digits>``. Lines of other
  signal types (``photo_md5``, ``vpdq``, ...) are counted and skipped: a bank holds PDQ
  hashes only. It carries no quality or source.

A bad line is refused with its number; the caller imports nothing then.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class HashListFormat(StrEnum):
    """The hash-list forms ``banks import`` and ``banks export`` know."""

    HMA = "hma"
    TE = "te"


class HashListError(ValueError):
    """A hash list that cannot be read, naming the line."""


@dataclass(frozen=True)
class HashLine:
    """One PDQ hash read from a list."""

    pdq: str
    quality: int | None
    source: str | None


#: The name the ThreatExchange tools give PDQ signals (``PdqSignal.get_name()``).
TE_PDQ = "pdq"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TE_LINE = re.compile(r"^([a-z][a-z0-9_]*)\s+(\S+)$")


def _meaningful(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of each line that is neither blank nor a comment."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff").strip()
        if line and not line.startswith("#"):
            yield number, line


def _hma_line(line: str, number: int, first: bool) -> HashLine | None:
    fields = [f.strip() for f in line.split(",")]
    if not _HEX64.match(fields[0]):
        if first and not any(_HEX64.match(f) for f in fields):
            return None  # a header line: pdq_hash,quality,source
        raise HashListError(f"line {number}: expected a 64-hex-digit PDQ hash first")
    quality = None
    if len(fields) > 1 and fields[1]:
        if not fields[1].isdigit() or int(fields[1]) > 100:
            raise HashListError(f"line {number}: quality must be a whole number 0-100")
        quality = int(fields[1])
    source = ",".join(fields[2:])[:300] or None
    return HashLine(fields[0].lower(), quality, source)


def _te_line(line: str, number: int, first: bool) -> HashLine | None:
    found = _TE_LINE.match(line)
    if found is None:
        raise HashListError(f"line {number}: expected '<signal type> <signal>', "
                            f"e.g. '{TE_PDQ} <64 hex digits>'")
    signal_type, signal = found.groups()
    if signal_type != TE_PDQ:
        return None
    if not _HEX64.match(signal):
        raise HashListError(f"line {number}: a {TE_PDQ} signal is 64 hex digits")
    return HashLine(signal.lower(), None, None)


def _first_line_format(line: str) -> HashListFormat | None:
    if "," in line or _HEX64.match(line):
        return HashListFormat.HMA
    found = _TE_LINE.match(line)
    # A PDQ line, or a hash of another signal type: not any two words.
    if found and (found[1] == TE_PDQ or _HEX.match(found[2])):
        return HashListFormat.TE
    return None


def detect_format(lines: Iterable[str]) -> HashListFormat:
    """The form of a hash list from its first line that is not blank or a comment;
    HashListError if it cannot tell."""
    for number, line in _meaningful(lines):
        found = _first_line_format(line)
        if found is None:
            raise HashListError(f"line {number}: neither HMA's CSV nor a ThreatExchange "
                                "signal line; give --format")
        return found
    raise HashListError("no hashes in the file")


class HashListReader:
    """The entries of a hash list, read lazily (its form detected when not given).

    Iterating raises HashListError on the first bad line, naming it; ``skipped`` counts
    the lines of other signal types a ThreatExchange file held.
    """

    def __init__(self, lines: Iterable[str], fmt: HashListFormat | None = None) -> None:
        self._lines: Iterator[str] = iter(lines)
        if fmt is None:
            head: list[str] = []
            for raw in self._lines:  # up to the first line that says which form
                head.append(raw)
                if next(_meaningful([raw]), None) is not None:
                    break
            fmt = detect_format(head)
            self._lines = itertools.chain(head, self._lines)
        self.format = fmt
        self.skipped = 0

    def __iter__(self) -> Iterator[HashLine]:
        parse_line = _hma_line if self.format is HashListFormat.HMA else _te_line
        for position, (number, line) in enumerate(_meaningful(self._lines)):
            entry = parse_line(line, number, position == 0)
            if entry is None:
                self.skipped += self.format is HashListFormat.TE
            else:
                yield entry


def format_lines(rows: Iterable[tuple[str, int | None, str | None]],
                 fmt: HashListFormat) -> Iterator[str]:
    """(pdq, quality, source) rows as the lines of a hash list in ``fmt``."""
    if fmt is HashListFormat.TE:
        for pdq, _, _ in rows:
            yield f"{TE_PDQ} {pdq.lower()}"
        return
    yield "pdq_hash,quality,source"
    for pdq, quality, source in rows:
        fields = [pdq, "" if quality is None else str(quality),
                  (source or "").replace(",", " ").replace("\n", " ")]
        yield ",".join(fields).rstrip(",")
