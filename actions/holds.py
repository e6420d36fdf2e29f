"""Legal holds: placing and releasing them, and working out what they cover.

Every path that deletes data (retention, erasure requests, a platform's account
deletion) asks here first. What a hold covers:

- on a **person**: every account linked to them (people merged with them included), every
  message those accounts sent or received, every recording and image they own or that
  was made of a call they took part in, and all their cases;
- on an **account**: that account, its messages (sent or received), its recordings and
  its images;
- on a **case**: the case and its notes, the content its reports point at with the
  conversation context around each reported message, recordings and video frames of
  reported calls, the reported images, and the reported accounts themselves (their
  profiles are not erased), but not the rest of those accounts' content, which a
  person or account hold covers.

A hold is active until it is released or its ``until`` passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from actions.evidence.scope import conversation_context, reported_content, reported_images
from actions.identity import merged_people
from workbench.models import (
    Account,
    CallParticipant,
    Case,
    Image,
    LegalHold,
    LegalRequest,
    Message,
    Person,
    Recording,
    Report,
    utcnow,
)
from workbench.models.audit import record


class HoldError(ValueError):
    """The hold cannot be placed or released as asked."""


@dataclass
class HoldCover:
    """What one or more holds cover, as ids."""

    persons: set[int] = field(default_factory=set)
    #: Accounts kept as records: their profiles are not erased nor the accounts deleted.
    accounts: set[int] = field(default_factory=set)
    #: Accounts whose every message and recording is kept as well.
    content_accounts: set[int] = field(default_factory=set)
    cases: set[int] = field(default_factory=set)
    messages: set[int] = field(default_factory=set)
    recordings: set[int] = field(default_factory=set)
    calls: set[int] = field(default_factory=set)
    images: set[int] = field(default_factory=set)

    def update(self, other: HoldCover) -> None:
        for name in _FIELDS:
            getattr(self, name).update(getattr(other, name))

    def message_held(self, message_id: int, sender_id: int, recipient_id: int | None) -> bool:
        return (message_id in self.messages or sender_id in self.content_accounts
                or recipient_id in self.content_accounts)

    def recording_held(self, recording_id: int, owner_id: int, call_id: int | None) -> bool:
        return (recording_id in self.recordings or owner_id in self.content_accounts
                or call_id in self.calls)

    def image_held(self, image_id: int, owner_id: int, call_id: int | None) -> bool:
        return (image_id in self.images or owner_id in self.content_accounts
                or call_id in self.calls)


_FIELDS = ("persons", "accounts", "content_accounts", "cases", "messages", "recordings",
           "calls", "images")


def _subject(person_id: int | None, case_id: int | None,
             account_id: int | None) -> tuple[str, int]:
    given = [(k, v) for k, v in (("person", person_id), ("case", case_id),
                                  ("account", account_id)) if v is not None]
    if len(given) != 1:
        raise HoldError("a hold covers exactly one person, case or account")
    return given[0]


def place_hold(session: Session, *, reason: str, reference: str,
               placed_by_id: int | None, person_id: int | None = None,
               case_id: int | None = None, account_id: int | None = None,
               until: datetime | None = None, actor: str | None = None) -> LegalHold:
    """Place a hold on one person, case or account (the caller commits)."""
    kind, subject_id = _subject(person_id, case_id, account_id)
    model = {"person": Person, "case": Case, "account": Account}[kind]
    if session.get(model, subject_id) is None:
        raise HoldError(f"no {kind} {subject_id}")
    if not reason.strip() or not reference.strip():
        raise HoldError("a hold needs a reason and a reference")
    if until is not None and until <= utcnow():
        raise HoldError("a hold's end must be in the future")
    hold = LegalHold(person_id=person_id, case_id=case_id, account_id=account_id,
                     reason=reason.strip(), reference=reference.strip()[:200],
                     placed_by_id=placed_by_id, until=until)
    session.add(hold)
    session.flush()
    record(session, "hold.placed", "legal_hold", hold.id,
           actor_type="moderator" if placed_by_id else "system",
           actor_id=str(placed_by_id) if placed_by_id else actor,
           data={"subject": kind, "subject_id": subject_id, "reason": hold.reason,
                 "reference": hold.reference,
                 "until": until.isoformat() if until else None})
    return hold


def release_hold(session: Session, hold_id: int, *, released_by_id: int,
                 note: str) -> LegalHold:
    """Release a hold; what it covered is subject to retention and erasure again.

    ``note`` says why (the request was answered, the case closed): ending a hold lets
    deletion go ahead, so it is never done without a reason on record.
    """
    if not note.strip():
        raise HoldError("give the reason the hold can end")
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldError(f"no hold {hold_id}")
    if hold.released_at is not None:
        raise HoldError(f"hold {hold_id} was already released")
    hold.released_at = utcnow()
    hold.released_by_id = released_by_id
    record(session, "hold.released", "legal_hold", hold.id, actor_type="moderator",
           actor_id=str(released_by_id),
           data={"note": note.strip(), "reference": hold.reference})
    return hold


def active_holds(session: Session, now: datetime | None = None) -> list[LegalHold]:
    """Holds not released and not past their end."""
    now = now or utcnow()
    return list(session.scalars(
        select(LegalHold).where(LegalHold.released_at.is_(None),
                                or_(LegalHold.until.is_(None), LegalHold.until > now))
        .order_by(LegalHold.id)))


def _calls_of(session: Session, accounts: set[int]) -> set[int]:
    if not accounts:
        return set()
    return set(session.scalars(select(CallParticipant.call_id)
                               .where(CallParticipant.account_id.in_(accounts))))


def cover_of(session: Session, hold: LegalHold | LegalRequest) -> HoldCover:
    """What one hold covers (see the module's docstring); a legal request's subject, alike."""
    cover = HoldCover()
    if hold.person_id is not None:
        cover.persons = merged_people(session, hold.person_id)
        cover.accounts = set(session.scalars(
            select(Account.id).where(Account.person_id.in_(cover.persons))))
        cover.cases = set(session.scalars(
            select(Case.id).where(Case.person_id.in_(cover.persons))))
        cover.content_accounts = set(cover.accounts)
    elif hold.account_id is not None:
        cover.accounts = {hold.account_id}
        cover.content_accounts = {hold.account_id}
    elif hold.case_id is not None:
        cover.cases = {hold.case_id}
        reports = list(session.scalars(select(Report.id).where(Report.case_id == hold.case_id)))
        messages, cover.recordings, cover.calls = reported_content(session, reports)
        cover.messages = conversation_context(session, messages)
        cover.images = set(reported_images(session, reports))
        # The reported accounts are covered as records, not with all their content.
        cover.accounts = set(session.scalars(
            select(Report.reported_account_id).where(Report.id.in_(reports))))
        return cover
    cover.calls = _calls_of(session, cover.content_accounts)
    return cover


def held_cover(session: Session, now: datetime | None = None) -> HoldCover:
    """Everything the active holds cover, computed once for a whole purge run."""
    cover = HoldCover()
    for hold in active_holds(session, now):
        cover.update(cover_of(session, hold))
    return cover


def holds_covering(session: Session, *, person_id: int | None = None,
                   case_id: int | None = None, account_id: int | None = None,
                   message_id: int | None = None, recording_id: int | None = None,
                   image_id: int | None = None,
                   now: datetime | None = None) -> list[LegalHold]:
    """The active holds covering this person, case, account, message, recording or image.

    A person is covered when a hold covers them, one of their accounts or one of
    their cases: erasing the person would erase what that hold protects.
    """
    found = []
    for hold in active_holds(session, now):
        cover = cover_of(session, hold)
        if _covers(session, cover, person_id, case_id, account_id, message_id, recording_id,
                   image_id):
            found.append(hold)
    return found


def _covers(session: Session, cover: HoldCover, person_id: int | None,
            case_id: int | None, account_id: int | None, message_id: int | None,
            recording_id: int | None, image_id: int | None = None) -> bool:
    if person_id is not None:
        people = merged_people(session, person_id)
        accounts = set(session.scalars(select(Account.id).where(Account.person_id.in_(people))))
        cases = set(session.scalars(select(Case.id).where(Case.person_id.in_(people))))
        if people & cover.persons or accounts & cover.accounts or cases & cover.cases:
            return True
    if case_id is not None and case_id in cover.cases:
        return True
    if account_id is not None and account_id in cover.accounts:
        return True
    if message_id is not None:
        row = session.execute(select(Message.sender_account_id, Message.recipient_account_id)
                              .where(Message.id == message_id)).first()
        if row is not None and cover.message_held(message_id, row[0], row[1]):
            return True
    if recording_id is not None:
        rec = session.execute(select(Recording.owner_account_id, Recording.call_id)
                              .where(Recording.id == recording_id)).first()
        if rec is not None and cover.recording_held(recording_id, rec[0], rec[1]):
            return True
    if image_id is not None:
        img = session.execute(select(Image.owner_account_id, Image.call_id)
                              .where(Image.id == image_id)).first()
        if img is not None and cover.image_held(image_id, img[0], img[1]):
            return True
    return False


def is_held(session: Session, *, person_id: int | None = None, case_id: int | None = None,
            account_id: int | None = None, message_id: int | None = None,
            recording_id: int | None = None, image_id: int | None = None) -> bool:
    """Whether any active hold covers this person, case, account, message, recording or
    image."""
    return bool(holds_covering(session, person_id=person_id, case_id=case_id,
                               account_id=account_id, message_id=message_id,
                               recording_id=recording_id, image_id=image_id))


def describe(hold: LegalHold) -> str:
    """One line naming a hold, for blocked reasons and logs."""
    kind, subject_id = _subject(hold.person_id, hold.case_id, hold.account_id)
    return f"legal hold {hold.id} on {kind} {subject_id} (ref. {hold.reference})"

