"""Finding a person, a case or a message from what a moderator or the legal team has in
hand: a username, a platform user id (with or without the platform's slug), a phone
hash, a device id, a case number, or words someone wrote.

Moderators search within the queues they work (a hit must lead to a case in one of
them); seniors, the legal team and administrators search everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    TextClause,
    exists,
    func,
    or_,
    select,
    text,
    true,
    union,
)
from sqlalchemy.orm import Session

from actions.identity import root_person_id
from workbench.models import (
    Account,
    AccountDevice,
    Action,
    Case,
    EnforcementDelivery,
    FraudSignal,
    LegalHold,
    LegalRequest,
    Message,
    Moderator,
    Person,
    Platform,
    Strike,
)

#: Longest query taken; longer ones are cut (nothing anyone types is longer).
MAX_QUERY = 200
#: Hits per kind on one page.
LIMIT = 20
_CASE_NUMBER = re.compile(r"#?([0-9]{1,18})")
#: A word is what lies between spaces and punctuation (not ``\w``, which splits Devanagari
#: at its vowel signs).
_WORD = re.compile(r"[^\s\"'()*:^|&!<>{}\[\],.;?+-]+")


@dataclass
class PersonHit:
    person_id: int
    platform: str
    platform_user_id: str
    username: str | None
    why: str


@dataclass
class CaseHit:
    case_id: int
    person_id: int
    queue: str
    status: str
    category: str


@dataclass
class MessageHit:
    message_id: int
    person_id: int
    platform: str
    username: str | None
    text: str
    sent_at: datetime


@dataclass
class Results:
    query: str
    people: list[PersonHit] = field(default_factory=list)
    cases: list[CaseHit] = field(default_factory=list)
    messages: list[MessageHit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.people or self.cases or self.messages)


def search(session: Session, query: str, *, queues: list[str] | None) -> Results:
    """Everything ``query`` finds; ``queues`` limits hits to cases in those queues
    (``None``: no limit)."""
    q = " ".join(query.split())[:MAX_QUERY]
    out = Results(q)
    if not q:
        return out
    out.people = _people(session, q, queues)
    out.cases = _cases(session, q, queues)
    out.messages = _messages(session, q, queues)
    return out


def _in_queues(person_id: object, queues: list[str] | None) -> object:
    """The person has a case in one of ``queues`` (always true without a limit)."""
    if queues is None:
        return true()
    return exists().where(Case.person_id == person_id, Case.queue.in_(queues))


def _split_platform(session: Session, q: str) -> tuple[int | None, str]:
    """``harmoni-calls:u-1`` or ``harmoni-calls/u-1``: the platform named and the id."""
    for sep in (":", "/"):
        slug, found, rest = q.partition(sep)
        if found and rest:
            platform_id = session.scalar(select(Platform.id).where(Platform.slug == slug))
            if platform_id is not None:
                return platform_id, rest
    return None, q


def _people(session: Session, q: str, queues: list[str] | None) -> list[PersonHit]:
    platform_id, uid = _split_platform(session, q)
    prefix = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matched_uid = Account.platform_user_id == uid
    if platform_id is not None:
        matched_uid = matched_uid & (Account.platform_id == platform_id)
    # One branch per way of being found, each on its own index, rather than an OR over
    # them (with the device subquery in it, PostgreSQL read every account: ~100 ms).
    found = union(
        select(Account.id).where(matched_uid),
        select(Account.id).where(Account.phone_hash == q),
        select(AccountDevice.account_id).where(AccountDevice.device_id == q),
        select(Account.id).where(func.lower(Account.username).like(prefix, escape="\\")))
    stmt: Select[Account, str] = (
        select(Account, Platform.slug).join(Platform, Platform.id == Account.platform_id)
        .where(Account.id.in_(found), _in_queues(Account.person_id, queues))  # type: ignore[arg-type]
        .order_by(Account.username, Account.id).limit(LIMIT))
    hits = []
    for account, slug in session.execute(stmt):
        if account.platform_user_id == uid and platform_id in (None, account.platform_id):
            why = "platform user id"
        elif account.phone_hash == q:
            why = "phone hash"
        elif (account.username or "").lower().startswith(q.lower()):
            why = "username"
        else:
            why = "device id"
        hits.append(PersonHit(account.person_id, slug, account.platform_user_id,
                              account.username, why))
    return hits


def _cases(session: Session, q: str, queues: list[str] | None) -> list[CaseHit]:
    match = _CASE_NUMBER.fullmatch(q)
    if match is None or int(match.group(1)) >= 2**63:
        return []
    stmt = select(Case).where(Case.id == int(match.group(1)))
    if queues is not None:
        stmt = stmt.where(Case.queue.in_(queues))
    return [CaseHit(c.id, c.person_id, c.queue, c.status, c.primary_category)
            for c in session.scalars(stmt)]


def _words_matched(session: Session, words: list[str]) -> ColumnElement[bool] | TextClause:
    """The message's text has every one of ``words``."""
    if session.get_bind().dialect.name == "postgresql":
        # ``text_search`` is ``to_tsvector('simple', text)``, stored (migration 0024) and
        # outside the ORM model, so a row is tested without parsing its text again.
        return text("message.text_search @@ plainto_tsquery('simple', :words)").bindparams(
            words=" ".join(words))
    # FTS5: each word quoted, so nothing a user types is read as query syntax.
    fts = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    return Message.id.in_(text("SELECT rowid FROM message_fts WHERE message_fts "
                               "MATCH :fts").bindparams(fts=fts))


def _sent_in_queues(queues: list[str]) -> ColumnElement[bool]:
    """The sender is a person with a case in one of ``queues`` (a semi-join the planner
    probes per message through ``ix_case_person_queue``)."""
    return exists().where(Account.id == Message.sender_account_id,
                          Case.person_id == Account.person_id, Case.queue.in_(queues))


def _messages(session: Session, q: str, queues: list[str] | None) -> list[MessageHit]:
    words = _WORD.findall(q)
    if not words:
        return []
    newest_first = (Message.sent_at.desc(), Message.id.desc())
    ids_stmt = (select(Message.id).where(_words_matched(session, words))
                .order_by(*newest_first).limit(LIMIT))
    if queues is not None:
        ids_stmt = ids_stmt.where(_sent_in_queues(queues))
    # The planner, knowing from the column's statistics how common each word is, walks
    # ix_message_sent newest first testing the stored tsvector (a common word: LIMIT
    # matches come soon) or takes the GIN index and sorts (a rare word: few matches).
    # Only then are the page's rows loaded and joined, LIMIT of them.
    ids = list(session.scalars(ids_stmt))
    stmt = (select(Message, Account.person_id, Account.username, Platform.slug)
            .join(Account, Account.id == Message.sender_account_id)
            .join(Platform, Platform.id == Message.platform_id)
            .where(Message.id.in_(ids)).order_by(*newest_first))
    return [MessageHit(m.id, person_id, slug, username, m.text, m.sent_at)
            for m, person_id, username, slug in session.execute(stmt)]


@dataclass
class PersonProfile:
    """One person across the group: what the person page shows."""

    person_id: int
    merged_ids: list[int]
    accounts: list[tuple[Account, str, list[str]]]  # account, platform slug, device ids
    cases: list[Case]
    actions: list[tuple[Action, dict[str, int]]]  # action, deliveries by state
    strikes: list[Strike]
    fraud: list[tuple[FraudSignal, str]]  # signal, platform slug
    holds: list[LegalHold]
    requests: list[LegalRequest]


def person_profile(session: Session, person_id: int) -> PersonProfile | None:
    """The person (followed through merges) with everything the group knows of them."""
    if session.get(Person, person_id) is None:
        return None
    root = root_person_id(session, person_id)
    merged = list(session.scalars(select(Person.id).where(Person.merged_into_id == root)))
    people = [root, *merged]
    slugs = dict(session.execute(select(Platform.id, Platform.slug)).all())
    accounts = list(session.scalars(select(Account).where(Account.person_id.in_(people))
                                    .order_by(Account.platform_id, Account.id)))
    devices: dict[int, list[str]] = {}
    for account_id, device_id in session.execute(
            select(AccountDevice.account_id, AccountDevice.device_id)
            .where(AccountDevice.account_id.in_([a.id for a in accounts]))):
        devices.setdefault(account_id, []).append(device_id)
    actions = list(session.scalars(select(Action).where(Action.person_id.in_(people))
                                   .order_by(Action.created_at.desc()).limit(100)))
    states: dict[int, dict[str, int]] = {a.id: {} for a in actions}
    for action_id, state, n in session.execute(
            select(EnforcementDelivery.action_id, EnforcementDelivery.state, func.count())
            .where(EnforcementDelivery.action_id.in_(list(states)))
            .group_by(EnforcementDelivery.action_id, EnforcementDelivery.state)):
        assert action_id is not None  # selected by action_id.in_(states)
        states[action_id][state] = n
    account_ids = [a.id for a in accounts]
    return PersonProfile(
        person_id=root, merged_ids=merged,
        accounts=[(a, slugs.get(a.platform_id, "?"), devices.get(a.id, [])) for a in accounts],
        cases=list(session.scalars(select(Case).where(Case.person_id.in_(people))
                                   .order_by(Case.created_at.desc()).limit(100))),
        actions=[(a, states[a.id]) for a in actions],
        strikes=list(session.scalars(select(Strike).where(Strike.person_id.in_(people))
                                     .order_by(Strike.created_at.desc()))),
        fraud=[(s, slugs.get(s.platform_id, "?")) for s in session.scalars(
            select(FraudSignal).where(FraudSignal.account_id.in_(account_ids))
            .order_by(FraudSignal.created_at.desc()).limit(50))],
        holds=list(session.scalars(select(LegalHold).where(or_(
            LegalHold.person_id.in_(people), LegalHold.account_id.in_(account_ids)))
            .order_by(LegalHold.created_at.desc()))),
        requests=list(session.scalars(select(LegalRequest).where(or_(
            LegalRequest.person_id.in_(people), LegalRequest.account_id.in_(account_ids)))
            .order_by(LegalRequest.received_at.desc()))),
    )


def may_see_person(session: Session, person_id: int, queues: list[str] | None) -> bool:
    """Whether a searcher limited to ``queues`` may open this person's page."""
    if queues is None:
        return True
    root = root_person_id(session, person_id)
    people = [root, *session.scalars(select(Person.id).where(Person.merged_into_id == root))]
    return bool(session.scalar(select(exists().where(Case.person_id.in_(people),
                                                     Case.queue.in_(queues)))))


@dataclass
class DecidedRow:
    case_id: int
    person_id: int
    username: str | None
    queue: str
    category: str | None
    decision: str
    decided_at: datetime
    decided_by: str | None


def decided_cases(session: Session, *, decided_by_id: int | None, decision: str | None,
                  before_id: int | None = None, limit: int = 50) -> list[DecidedRow]:
    """Cases decided (newest first), by one moderator or (``None``) by anyone."""

    first_account = (select(Account.username).where(Account.person_id == Case.person_id)
                     .order_by(Account.id).limit(1).scalar_subquery())
    stmt = (select(Case, first_account, Moderator.display_name)
            .outerjoin(Moderator, Moderator.id == Case.decided_by_id)
            .where(Case.decided_at.is_not(None), Case.decision != "merged")
            .order_by(Case.id.desc()).limit(limit))
    if decided_by_id is not None:
        stmt = stmt.where(Case.decided_by_id == decided_by_id)
    if decision:
        stmt = stmt.where(Case.decision == decision)
    if before_id is not None:
        stmt = stmt.where(Case.id < before_id)
    return [DecidedRow(c.id, c.person_id, username, c.queue, c.decided_category,
                       c.decision or "", c.decided_at, by)
            for c, username, by in session.execute(stmt)]
