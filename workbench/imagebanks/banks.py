"""Hash banks: create them, bank images, import and export hash lists, and match.

A bank holds PDQ hashes of known images (``ncii``, ``csam``, ``terror``, ``scam_image``
or any category the seniors add) and a rule for what a match does. An image banked
from its pixels also keeps the hashes of its central and banner crops (see
``classifiers.images.pdq``); a hash imported from a list has only the whole-image hash.

Hash lists are read and written one entry a line, as HMA's CSV or as the ThreatExchange
tools' signal files (``workbench.imagebanks.lists``); a bad line is refused with its number.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from classifiers.images import MIN_QUALITY, HashIndex, bank_hashes
from workbench.enums import BankCategory, Category
from workbench.imagebanks.lists import (
    HashLine,
    HashListError,
    HashListFormat,
    HashListReader,
    format_lines,
)
from workbench.models import BankEntry, HashBank, utcnow
from workbench.upserts import insert_new

#: Bank names: short, safe in a file name and a URL.
BANK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Categories seniors add: a lowercase word.
CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: The report category a match in each bank category opens.
REPORT_CATEGORY = {
    BankCategory.NCII.value: Category.NCII.value,
    BankCategory.CSAM.value: Category.CHILD_SAFETY.value,
    BankCategory.TERROR.value: Category.VIOLENT_THREAT.value,
    BankCategory.SCAM_IMAGE.value: Category.SPAM_SCAM.value,
}
#: What a match does when a bank is created without a rule: open a report, nothing more.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    BankCategory.NCII.value: {"actions": ["remove_content", "suspend"]},
    BankCategory.CSAM.value: {"actions": ["remove_content", "suspend"]},
}


class BankError(ValueError):
    """A bank operation refused, with a message for the person who asked."""


def report_category(bank_category: str) -> str:
    """The report category a match in this bank opens: a group bank of removed content
    is named by a report category already; a custom bank opens ``other``."""
    if bank_category in Category.__members__.values():
        return bank_category
    return REPORT_CATEGORY.get(bank_category, Category.OTHER.value)


def create_bank(session: Session, name: str, category: str,
                action_rule: dict[str, Any] | None = None,
                created_by_id: int | None = None) -> HashBank:
    """A new, empty bank; BankError if the name is taken or not allowed."""
    if not BANK_NAME.match(name):
        raise BankError(f"bank name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if not CATEGORY_NAME.match(category):
        raise BankError(f"category {category!r}: use a lowercase word (e.g. ncii, csam)")
    if session.execute(select(HashBank.id).where(HashBank.name == name)).first():
        raise BankError(f"a bank named {name!r} exists")
    bank = HashBank(name=name, category=category, enabled=True, created_by_id=created_by_id,
                    action_rule=action_rule if action_rule is not None
                    else DEFAULT_RULES.get(category, {"actions": []}))
    session.add(bank)
    session.flush()
    return bank


def get_bank(session: Session, name: str) -> HashBank:
    bank = session.execute(select(HashBank).where(HashBank.name == name)).scalar_one_or_none()
    if bank is None:
        raise BankError(f"no bank named {name!r}")
    return bank


def list_banks(session: Session) -> list[dict[str, Any]]:
    """Every bank with its number of entries (withdrawn ones not counted)."""
    counts = dict(session.execute(
        select(BankEntry.bank_id, func.count()).where(BankEntry.withdrawn_at.is_(None))
        .group_by(BankEntry.bank_id)).all())
    return [{"name": b.name, "category": b.category, "enabled": b.enabled,
             "entries": counts.get(b.id, 0), "action_rule": b.action_rule}
            for b in session.scalars(select(HashBank).order_by(HashBank.name))]


def add_image(session: Session, bank: HashBank, rgb: Any, source: str | None = None,
              source_image_id: int | None = None,
              added_by_id: int | None = None) -> BankEntry | None:
    """Bank an image from its pixels, crops included; None if its hash is banked already.

    BankError if the image's PDQ quality is too low to bank (a flat or tiny image would
    match every other one).
    """

    hashes = bank_hashes(rgb)
    whole = hashes[0]
    if whole.quality < MIN_QUALITY:
        raise BankError(f"PDQ quality {whole.quality} is below {MIN_QUALITY}: too little "
                        "detail to bank")
    rows = insert_new(session, BankEntry, [{
        "bank_id": bank.id, "pdq": whole.hex, "quality": whole.quality,
        "crop_hashes": [[h.region, h.hex] for h in hashes[1:] if h.quality >= MIN_QUALITY],
        "source_image_id": source_image_id, "added_by_id": added_by_id,
        "source": source[:300] if source else None, "created_at": utcnow(),
    }], ["bank_id", "pdq"], [BankEntry.id])
    return session.get(BankEntry, rows[0].id) if rows else None


@dataclass(frozen=True)
class ImportResult:
    """What an import did: hashes added, already banked, and lines of other signal types."""

    format: str
    added: int
    already: int
    skipped: int = 0


def import_hashes(session: Session, bank: HashBank, lines: Iterable[str],
                  fmt: HashListFormat | None = None) -> ImportResult:
    """Add a hash list (HMA's CSV or a ThreatExchange signal file) to a bank.

    All or nothing: the caller commits, so a bad line (BankError naming it) leaves the
    bank as it was.
    """
    try:
        reader = HashListReader(lines, fmt)
        added, already = add_hashes(session, bank, reader)
    except HashListError as exc:
        raise BankError(str(exc)) from None
    return ImportResult(reader.format.value, added, already, reader.skipped)


def add_hashes(session: Session, bank: HashBank, entries: Iterable[HashLine],
               batch: int = 5000) -> tuple[int, int]:
    """Bank whole-image hashes (no crop hashes: only pixels give those), in batches;
    returns (added, already there). A withdrawn hash listed again is restored."""
    added = seen = 0
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal added
        added += len(insert_new(session, BankEntry, rows, ["bank_id", "pdq"], [BankEntry.id]))
        # A hash withdrawn earlier and listed again matches again.
        session.execute(update(BankEntry).where(
            BankEntry.bank_id == bank.id, BankEntry.pdq.in_([r["pdq"] for r in rows]),
            BankEntry.withdrawn_at.is_not(None)).values(withdrawn_at=None))
        rows.clear()

    now = utcnow()
    for entry in entries:
        seen += 1
        rows.append({"bank_id": bank.id, "pdq": entry.pdq, "quality": entry.quality,
                     "crop_hashes": None, "source": entry.source, "created_at": now})
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    return added, seen - added


def export_lines(session: Session, bank: HashBank,
                 fmt: HashListFormat = HashListFormat.HMA) -> Iterator[str]:
    """A bank's whole-image hashes as hash-list lines (crop hashes are derived, not sent)."""
    yield from format_lines(session.execute(
        select(BankEntry.pdq, BankEntry.quality, BankEntry.source)
        .where(BankEntry.bank_id == bank.id, BankEntry.withdrawn_at.is_(None))
        .order_by(BankEntry.id)), fmt)


def withdraw_hashes(session: Session, bank: HashBank, pdqs: Iterable[str] = (),
                    sources: Iterable[str] = ()) -> int:
    """Stop a bank's entries matching, by hash or by source; returns how many stopped.

    The entries are kept (``withdrawn_at``), with the matches they made."""
    pdqs, sources = sorted(set(pdqs)), sorted(set(sources))
    withdrawn = 0
    for column, values in ((BankEntry.pdq, pdqs), (BankEntry.source, sources)):
        for start in range(0, len(values), 1000):
            # An UPDATE's result is a cursor's, which has the rowcount.
            result = cast("CursorResult[Any]", session.execute(update(BankEntry).where(
                BankEntry.bank_id == bank.id, column.in_(values[start:start + 1000]),
                BankEntry.withdrawn_at.is_(None)).values(withdrawn_at=utcnow())))
            withdrawn += result.rowcount
    return withdrawn


@dataclass(frozen=True)
class BankHit:
    """An image's match with one bank entry."""

    entry_id: int
    bank_id: int
    bank: str
    category: str
    distance: int
    query_region: str
    bank_region: str


class _IndexCache:
    """The enabled banks' hashes in memory, rebuilt when the entries change."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[Any, ...] | None = None
        self.index: Any = None
        self.banks: dict[int, tuple[str, str]] = {}


_CACHE = _IndexCache()


def bank_index(session: Session) -> tuple[Any, dict[int, tuple[str, str]]]:
    """The matcher over every enabled bank, and each bank's (name, category) by id."""

    enabled = select(HashBank.id).where(HashBank.enabled.is_(True))
    # Ids alone can come back (SQLite reuses the highest after a delete; tests empty the
    # tables), so the newest entry's time is part of what says the banks changed; and so
    # are the withdrawn entries (their number and the latest withdrawal).
    key = tuple(session.execute(
        select(func.count(BankEntry.id), func.max(BankEntry.id), func.max(BankEntry.created_at),
               func.count(BankEntry.withdrawn_at), func.max(BankEntry.withdrawn_at))
        .where(BankEntry.bank_id.in_(enabled))).one()) + tuple(session.execute(
            select(HashBank.id, HashBank.name, HashBank.category)
            .where(HashBank.enabled.is_(True)).order_by(HashBank.id)).all())
    with _CACHE.lock:
        if _CACHE.key != key:
            index = HashIndex()
            for entry_id, bank_id, pdq, crops in session.execute(
                    select(BankEntry.id, BankEntry.bank_id, BankEntry.pdq, BankEntry.crop_hashes)
                    .where(BankEntry.bank_id.in_(enabled), BankEntry.withdrawn_at.is_(None))
                    .order_by(BankEntry.id)):
                index.add((entry_id, bank_id),
                          [("original", pdq), *((r, h) for r, h in (crops or []))])
            _CACHE.index, _CACHE.key = index, key
            _CACHE.banks = {b.id: (b.name, b.category)
                            for b in session.scalars(select(HashBank))}
        return _CACHE.index, _CACHE.banks


def match_hashes(session: Session, query: Any) -> list[BankHit]:
    """The bank entries an image's hashes (``classifiers.images.query_hashes``) match."""
    index, banks = bank_index(session)
    hits = []
    for m in index.search(query):
        entry_id, bank_id = m.key
        name, category = banks[bank_id]
        hits.append(BankHit(entry_id, bank_id, name, category, m.distance, m.query_region,
                            m.bank_region))
    return hits
