"""What an evidence bundle (or a legal hold) covers: the person, accounts, cases, content.

A ``person`` or ``account`` scope takes every message and recording of its accounts;
a ``case`` scope takes the case's reported content and its conversation context, and
lists the person's accounts on every platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.identity import root_person_id
from workbench.models import (
    Account,
    Case,
    Image,
    ImageMatch,
    Person,
    Platform,
    Report,
)
from workbench.models.conversations import neighbours

#: Messages kept on each side of a reported message, in its conversation, as its context.
CONTEXT_MESSAGES = 20


class ScopeKind(StrEnum):
    CASE = "case"
    PERSON = "person"
    ACCOUNT = "account"


class ScopeError(ValueError):
    """The scope cannot be resolved as given (unknown case, person, platform or user)."""


@dataclass(frozen=True)
class EvidenceScope:
    """The ids an export (or a hold) is about."""

    kind: ScopeKind
    subject_id: int
    person_id: int
    #: Accounts listed with their profiles (the person's accounts on every platform).
    accounts: tuple[int, ...]
    #: Accounts whose every message and recording is included.
    content_accounts: tuple[int, ...]
    cases: tuple[int, ...]
    #: Reports about the subject (their content is included, with its context).
    reports: tuple[int, ...] = field(default=())


def parse_account_ref(session: Session, ref: str) -> int:
    """The account id for ``SLUG:USER_ID`` (the platform's slug and its own user id)."""
    slug, sep, user_id = ref.partition(":")
    if not sep or not slug or not user_id:
        raise ScopeError(f"expected SLUG:USER_ID, got {ref!r}")
    account_id = session.scalars(
        select(Account.id).join(Platform, Platform.id == Account.platform_id)
        .where(Platform.slug == slug, Account.platform_user_id == user_id)).first()
    if account_id is None:
        raise ScopeError(f"no user {user_id!r} on platform {slug!r}")
    return account_id


def _ids(values: Iterable[int | None]) -> tuple[int, ...]:
    return tuple(sorted({v for v in values if v is not None}))


def _person_accounts(session: Session, person_id: int) -> tuple[int, ...]:
    return _ids(session.scalars(select(Account.id).where(Account.person_id == person_id)))


def resolve_scope(session: Session, kind: str, ref: int | str) -> EvidenceScope:
    """Resolve a case id, a person id or an account (``SLUG:USER_ID`` or its id)."""
    try:
        scope_kind = ScopeKind(kind)
    except ValueError:
        raise ScopeError(f"scope must be case, person or account, not {kind!r}") from None
    if scope_kind is ScopeKind.ACCOUNT:
        account_id = (parse_account_ref(session, ref) if isinstance(ref, str) and ":" in ref
                      else _int(ref))
        return account_scope(session, account_id)
    subject = _int(ref)
    if scope_kind is ScopeKind.CASE:
        return case_scope(session, subject)
    return person_scope(session, subject)


def _int(ref: int | str) -> int:
    try:
        return int(ref)
    except (TypeError, ValueError):
        raise ScopeError(f"expected a number, got {ref!r}") from None


def person_scope(session: Session, person_id: int) -> EvidenceScope:
    """A person: every account (merged people included), case, report and piece of content."""
    if session.get(Person, person_id) is None:
        raise ScopeError(f"no person {person_id}")
    root = root_person_id(session, person_id)
    accounts = _person_accounts(session, root)
    cases = _ids(session.scalars(select(Case.id).where(Case.person_id.in_({root, person_id}))))
    reports = _ids(session.scalars(select(Report.id).where(
        or_(Report.reported_account_id.in_(accounts), Report.case_id.in_(cases)))))
    return EvidenceScope(ScopeKind.PERSON, person_id, root, accounts, accounts, cases, reports)


def account_scope(session: Session, account_id: int) -> EvidenceScope:
    """One account: its content, the reports about it and the cases they are in; the
    person's other accounts are listed (profiles only)."""
    account = session.get(Account, account_id)
    if account is None:
        raise ScopeError(f"no account {account_id}")
    root = root_person_id(session, account.person_id)
    reports = _ids(session.scalars(
        select(Report.id).where(Report.reported_account_id == account_id)))
    cases = _ids(session.scalars(select(Report.case_id).where(Report.id.in_(reports))))
    return EvidenceScope(ScopeKind.ACCOUNT, account_id, root, _person_accounts(session, root),
                         (account_id,), cases, reports)


def case_scope(session: Session, case_id: int) -> EvidenceScope:
    """A case: its reports and their content, the person's accounts listed."""
    case = session.get(Case, case_id)
    if case is None:
        raise ScopeError(f"no case {case_id}")
    root = root_person_id(session, case.person_id)
    reports = _ids(session.scalars(select(Report.id).where(Report.case_id == case_id)))
    return EvidenceScope(ScopeKind.CASE, case_id, root, _person_accounts(session, root), (),
                         (case_id,), reports)


def reported_content(session: Session, report_ids: Iterable[int]) -> tuple[set[int], set[int],
                                                                           set[int]]:
    """(message ids, recording ids, call ids) the given reports point at."""
    messages: set[int] = set()
    recordings: set[int] = set()
    calls: set[int] = set()
    ids = list(report_ids)
    for start in range(0, len(ids), 1000):
        rows = session.execute(select(Report.message_id, Report.recording_id, Report.call_id)
                               .where(Report.id.in_(ids[start:start + 1000])))
        for message_id, recording_id, call_id in rows:
            if message_id:
                messages.add(message_id)
            if recording_id:
                recordings.add(recording_id)
            if call_id:
                calls.add(call_id)
    return messages, recordings, calls


def reported_images(session: Session, report_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per image id, the reports pointing at it: by the platform's image id in a report's
    content reference, or as the image a bank match was found on."""
    out: dict[int, set[int]] = {}
    wanted: dict[tuple[int, str], set[int]] = {}
    ids = list(report_ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for report_id, platform_id, ref in session.execute(
                select(Report.id, Report.platform_id, Report.content_ref)
                .where(Report.id.in_(chunk))):
            image_ref = (ref or {}).get("image_id") if isinstance(ref, dict) else None
            if isinstance(image_ref, str) and image_ref:
                wanted.setdefault((platform_id, image_ref), set()).add(report_id)
        for image_id, report_id in session.execute(
                select(ImageMatch.image_id, ImageMatch.report_id)
                .where(ImageMatch.report_id.in_(chunk))):
            if report_id is not None:
                out.setdefault(image_id, set()).add(report_id)
    by_platform: dict[int, list[str]] = {}
    for platform_id, image_ref in wanted:
        by_platform.setdefault(platform_id, []).append(image_ref)
    for platform_id, refs in by_platform.items():
        for start in range(0, len(refs), 1000):
            for image_id, image_ref in session.execute(
                    select(Image.id, Image.platform_image_id).where(
                        Image.platform_id == platform_id,
                        Image.platform_image_id.in_(refs[start:start + 1000]))):
                out.setdefault(image_id, set()).update(wanted[(platform_id, image_ref)])
    return out


def conversation_context(session: Session, message_ids: Iterable[int],
                         around: int = CONTEXT_MESSAGES) -> set[int]:
    """The messages themselves and up to ``around`` on each side in their conversations."""
    found = neighbours(session, message_ids, around)
    return set(found).union(*found.values())
