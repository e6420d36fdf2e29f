"""Linking accounts to the one person behind them, by shared phone hash or device id."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from workbench.enums import OPEN_CASE_STATUSES, CaseStatus
from workbench.models import Account, AccountDevice, Case, Person, Report
from workbench.models.audit import record

log = logging.getLogger(__name__)


@dataclass
class LinkResult:
    """Where an account ended up, and why."""

    person_id: int
    merged_person_ids: list[int] = field(default_factory=list)
    #: Each link's evidence: ("phone_hash", value, other account id) or ("device_id", ...).
    evidence: list[tuple[str, str, int]] = field(default_factory=list)
    account_id: int | None = None


def root_person_id(session: Session, person_id: int) -> int:
    """Follow merges to the person that now stands for ``person_id``."""
    seen: set[int] = set()
    while person_id not in seen:
        seen.add(person_id)
        merged_into = session.execute(
            select(Person.merged_into_id).where(Person.id == person_id)
        ).scalar_one_or_none()
        if merged_into is None:
            return person_id
        person_id = merged_into
    raise RuntimeError(f"person merge cycle at {person_id}")


def merged_people(session: Session, person_id: int) -> set[int]:
    """The person, who they were merged into, and everyone merged into them."""
    root = root_person_id(session, person_id)
    people = {person_id, root}
    frontier = {root}
    while frontier:
        found = set(session.scalars(select(Person.id).where(Person.merged_into_id.in_(frontier))))
        frontier = found - people
        people |= found
    return people


def lock_identities(session: Session, phone_hashes: Iterable[str],
                    device_ids: Iterable[str]) -> None:
    """Serialise linking by these phone hashes and device ids until the transaction ends.

    Two transactions linking accounts that share a phone or a device would otherwise
    each miss the other's uncommitted account and create two people for one. On
    PostgreSQL a transaction-level advisory lock per identifier, taken in one sorted
    order (so two batches cannot deadlock), makes the second wait for the first to
    commit and then find its account. SQLite runs one writer at a time already.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({f"phone:{p}" for p in phone_hashes} | {f"device:{d}" for d in device_ids})
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": key})


def _linked_accounts(session: Session, account: Account) -> list[tuple[Account, str, str]]:
    """Other accounts sharing this account's phone hash or one of its devices, with the link."""
    found: list[tuple[int, str, str]] = []
    with session.no_autoflush:  # the account may still lack its person
        if account.phone_hash:
            for other_id in session.scalars(
                select(Account.id).where(Account.phone_hash == account.phone_hash)
            ):
                found.append((other_id, "phone_hash", account.phone_hash))
        device_ids = [d.device_id for d in account.devices]
        if device_ids:
            rows = session.execute(
                select(AccountDevice.account_id, AccountDevice.device_id)
                .where(AccountDevice.device_id.in_(device_ids))
                .order_by(AccountDevice.device_id)
            )
            found.extend((other_id, "device_id", device) for other_id, device in rows)
        found = [f for f in found if f[0] != account.id]
        others = {
            a.id: a
            for a in session.scalars(select(Account).where(Account.id.in_({f[0] for f in found})))
        }
    return [(others[other_id], kind, value) for other_id, kind, value in found]


def link_account(session: Session, account: Account, *, audit: bool = True) -> LinkResult:
    """Attach ``account`` to the person it shares a phone or device with.

    The account may bridge several people; they are merged into the oldest of
    them, whose id stays stable. A new account with no link gets a new person.
    With ``audit=False`` the caller records a merge itself, with ``record_merge``, once
    it has changed every row it will change (see ``record_merge`` for why).
    """
    links = _linked_accounts(session, account)
    with session.no_autoflush:
        candidates = {root_person_id(session, other.person_id) for other, _, _ in links}
    if account.person_id is not None:
        candidates.add(root_person_id(session, account.person_id))
    if not candidates:
        person = Person()
        account.person = person  # inserted before the account by the flush
        session.flush()
        return LinkResult(person_id=person.id)
    target = min(candidates)
    merged = sorted(candidates - {target})
    account.person_id = target
    session.flush()
    for person_id in merged:
        _merge_person(session, person_id, target)
    evidence = [(kind, value, other.id) for other, kind, value in links]
    result = LinkResult(person_id=target, merged_person_ids=merged, evidence=evidence,
                        account_id=account.id)
    if audit:
        record_merge(session, result)
    return result


def record_merge(session: Session, result: LinkResult) -> None:
    """The audit event of a merge, if the link merged people.

    Appending to the audit chain takes a lock every writer shares until its transaction
    ends; a transaction that takes it and then waits for a row (a case it merges) can
    deadlock with one holding that row and waiting for the chain. A caller linking many
    accounts in one transaction therefore records the merges after its last row change.
    """
    if result.merged_person_ids:
        record(session, "person.merged", "person", result.person_id,
               data={"merged": result.merged_person_ids, "evidence": result.evidence,
                     "account_id": result.account_id})


def _merge_person(session: Session, source_id: int, target_id: int) -> None:
    """Move everything of ``source_id`` to ``target_id``; open cases are combined."""
    session.execute(
        update(Account).where(Account.person_id == source_id).values(person_id=target_id)
    )
    session.execute(update(Person).where(Person.id == source_id).values(merged_into_id=target_id))
    source_case = session.scalars(
        select(Case).where(Case.person_id == source_id, Case.status.in_(OPEN_CASE_STATUSES))
    ).first()
    target_case = session.scalars(
        select(Case).where(Case.person_id == target_id, Case.status.in_(OPEN_CASE_STATUSES))
    ).first()
    if source_case is None:
        return
    if target_case is None:
        source_case.person_id = target_id
        return
    session.execute(
        update(Report).where(Report.case_id == source_case.id).values(case_id=target_case.id)
    )
    source_case.status = CaseStatus.DISMISSED.value
    source_case.decision = "merged"
    source_case.escalation_reason = f"merged into case {target_case.id}"
    log.info("case %s merged into %s", source_case.id, target_case.id)
