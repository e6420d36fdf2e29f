"""Hash banks: create them, bank images, import and export hash lists, and match.

A bank holds PDQ hashes of known images (``ncii``, ``csam``, ``terror``, ``scam_image``
or any category the seniors add) and a rule for what a match does. An image banked
from its pixels also keeps the hashes of its central and banner crops (see
``classifiers.images.pdq``); a hash imported from a list has only the whole-image hash.

Hash lists are read and written one entry a line, as HMA's CSV and ThreatExchange's
hash files do: ``<64 hex digits>[,<quality>[,<source>]]``. Blank lines, ``#`` comments
and a header line are skipped; a bad line is refused with its line number.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.bulk import insert_new
from workbench.enums import BankCategory, Category
from workbench.models import BankEntry, HashBank, utcnow

#: Bank names: short, safe in a file name and a URL.
BANK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Categories seniors add: a lowercase word.
CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")

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
    """Every bank with its number of entries."""
    counts = dict(session.execute(
        select(BankEntry.bank_id, func.count()).group_by(BankEntry.bank_id)).all())
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
    from classifiers.images import MIN_QUALITY, bank_hashes

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
class HashLine:
    pdq: str
    quality: int | None
    source: str | None


def parse_hash_lines(lines: Iterable[str]) -> Iterator[HashLine]:
    """Entries of an HMA-style hash list; BankError names the first bad line."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if not _HEX64.match(fields[0]):
            if number == 1 and not any(_HEX64.match(f) for f in fields):
                continue  # a header line
            raise BankError(f"line {number}: expected a 64-hex-digit PDQ hash first")
        quality = None
        if len(fields) > 1 and fields[1]:
            if not fields[1].isdigit() or int(fields[1]) > 100:
                raise BankError(f"line {number}: quality must be a whole number 0-100")
            quality = int(fields[1])
        source = ",".join(fields[2:])[:300] or None
        yield HashLine(fields[0].lower(), quality, source)


def import_hashes(session: Session, bank: HashBank, lines: Iterable[str],
                  batch: int = 5000) -> tuple[int, int]:
    """Add a hash list to a bank; returns (added, already there). All or nothing:
    the caller commits, so a bad line leaves the bank as it was."""
    added = seen = 0
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal added
        added += len(insert_new(session, BankEntry, rows, ["bank_id", "pdq"], [BankEntry.id]))
        rows.clear()

    now = utcnow()
    for entry in parse_hash_lines(lines):
        seen += 1
        rows.append({"bank_id": bank.id, "pdq": entry.pdq, "quality": entry.quality,
                     "crop_hashes": None, "source": entry.source, "created_at": now})
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    return added, seen - added


def export_lines(session: Session, bank: HashBank) -> Iterator[str]:
    """A bank's whole-image hashes as hash-list lines (crop hashes are derived, not sent)."""
    yield "pdq_hash,quality,source"
    for pdq, quality, source in session.execute(
            select(BankEntry.pdq, BankEntry.quality, BankEntry.source)
            .where(BankEntry.bank_id == bank.id).order_by(BankEntry.id)):
        fields = [pdq, "" if quality is None else str(quality),
                  (source or "").replace(",", " ").replace("\n", " ")]
        yield ",".join(fields).rstrip(",")


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
    from classifiers.images import HashIndex

    enabled = select(HashBank.id).where(HashBank.enabled.is_(True))
    # Ids alone can come back (SQLite reuses the highest after a delete; tests empty the
    # tables), so the newest entry's time is part of what says the banks changed.
    key = tuple(session.execute(
        select(func.count(BankEntry.id), func.max(BankEntry.id), func.max(BankEntry.created_at))
        .where(BankEntry.bank_id.in_(enabled))).one()) + tuple(session.execute(
            select(HashBank.id, HashBank.name, HashBank.category)
            .where(HashBank.enabled.is_(True)).order_by(HashBank.id)).all())
    with _CACHE.lock:
        if _CACHE.key != key:
            index = HashIndex()
            for entry_id, bank_id, pdq, crops in session.execute(
                    select(BankEntry.id, BankEntry.bank_id, BankEntry.pdq, BankEntry.crop_hashes)
                    .where(BankEntry.bank_id.in_(enabled)).order_by(BankEntry.id)):
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
