"""Storing what platforms send, a batch at a time, and writing its outbox entry.

Each function takes validated items and stores them in the caller's transaction:
items already stored (same platform id) are counted as duplicates, users not yet
known become stub accounts, and one ``OutboxBatch`` names the new rows for the queues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.appeals import AppealError, check_appealable
from actions.identity import LinkResult, link_account, lock_identities, record_merge
from workbench.api.errors import ApiError
from workbench.api.schemas import AccountIn, AppealIn, MessageIn, ReportIn, SignalIn
from workbench.current import settings
from workbench.enums import AccountStatus, BatchKind, ReportSource
from workbench.models import (
    Account,
    AccountDevice,
    Appeal,
    Call,
    Conversation,
    FraudSignal,
    Message,
    OutboxBatch,
    Person,
    Recording,
    Report,
    utcnow,
)
from workbench.upserts import insert_new, one_of

T = TypeVar("T")


@dataclass(frozen=True)
class Stored:
    """What a batch did: how many items were new, how many already known."""

    accepted: int
    duplicate: int
    batch_id: int | None


def _first_of_each(items: list[T], key: str) -> tuple[list[T], int]:
    """Drop repeats of the same platform id within one batch (the first one counts)."""
    seen: set[str] = set()
    unique: list[T] = []
    for item in items:
        value = getattr(item, key)
        if value not in seen:
            seen.add(value)
            unique.append(item)
    return unique, len(items) - len(unique)


def resolve_accounts(session: Session, platform_id: int, user_ids: Iterable[str]) -> dict[str, int]:
    """Account ids for the platform's user ids, creating stub accounts for unknown ones."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    found = dict(
        session.execute(
            select(Account.platform_user_id, Account.id).where(
                Account.platform_id == platform_id,
                one_of(session, Account.platform_user_id, wanted)
            )
        ).all()
    )
    missing = [u for u in wanted if u not in found]
    if missing:
        now = utcnow()
        person_ids = insert_new(
            session, Person, [{"created_at": now} for _ in missing], ["id"], [Person.id]
        )
        rows = [
            {"platform_id": platform_id, "platform_user_id": user_id, "person_id": pid,
             "is_stub": True, "status": "active", "created_at": now, "updated_at": now}
            for user_id, (pid,) in zip(missing, person_ids, strict=True)
        ]
        inserted = insert_new(
            session, Account, rows, ["platform_id", "platform_user_id"],
            [Account.platform_user_id, Account.id, Account.person_id],
        )
        found.update({u: a for u, a, _ in inserted})
        used = {p for _, _, p in inserted}
        unused = [pid for (pid,) in person_ids if pid not in used]
        if unused:  # another request created those accounts first
            session.execute(delete(Person).where(Person.id.in_(unused)))
            found.update(resolve_accounts(session, platform_id, [u for u in missing
                                                                  if u not in found]))
    return found


def _outbox(session: Session, platform_id: int, kind: BatchKind, ids: list[int]) -> int | None:
    if not ids:
        return None
    batch = OutboxBatch(platform_id=platform_id, kind=kind.value, item_ids={"ids": ids})
    session.add(batch)
    session.flush()
    return batch.id


def _conversations(session: Session, platform_id: int, items: list[MessageIn]) -> dict[str, int]:
    rooms = {m.conversation_id: m.room_id for m in items}
    now = utcnow()
    insert_new(
        session, Conversation,
        [{"platform_id": platform_id, "platform_conversation_id": c, "room_id": r,
          "created_at": now} for c, r in sorted(rooms.items())],
        ["platform_id", "platform_conversation_id"], [Conversation.id],
    )
    return dict(
        session.execute(
            select(Conversation.platform_conversation_id, Conversation.id).where(
                Conversation.platform_id == platform_id,
                one_of(session, Conversation.platform_conversation_id, list(rooms)),
            )
        ).all()
    )


def store_messages(session: Session, platform_id: int, items: list[MessageIn]) -> Stored:
    """Store a batch of chat messages."""
    unique, repeats = _first_of_each(items, "id")
    accounts = resolve_accounts(
        session, platform_id,
        [m.sender_id for m in unique] + [m.recipient_id for m in unique if m.recipient_id],
    )
    conversations = _conversations(session, platform_id, unique)
    now = utcnow()
    rows = [
        {
            "platform_id": platform_id,
            "platform_message_id": m.id,
            "conversation_id": conversations[m.conversation_id],
            "sender_account_id": accounts[m.sender_id],
            "recipient_account_id": accounts[m.recipient_id] if m.recipient_id else None,
            "room_id": m.room_id,
            "text": m.text,
            "language": m.language,
            "sent_at": m.sent_at,
            "received_at": now,
            "status": "pending",
        }
        for m in unique
    ]
    new = [r.id for r in insert_new(session, Message, rows,
                                    ["platform_id", "platform_message_id"], [Message.id])]
    batch = _outbox(session, platform_id, BatchKind.MESSAGES, new)
    return Stored(len(new), repeats + len(unique) - len(new), batch)


def _lookup(session: Session, column: Any, id_column: Any, platform_column: Any,
            platform_id: int, wanted: Iterable[str | None]) -> dict[str, int]:
    """Internal ids for the platform's own ids of one kind of content."""
    keys = sorted({w for w in wanted if w is not None})
    if not keys:
        return {}
    return dict(
        session.execute(
            select(column, id_column).where(platform_column == platform_id,
                                            one_of(session, column, keys))
        ).all()
    )


def _calls(session: Session, platform_id: int, items: list[ReportIn]) -> dict[str, int]:
    wanted = {r.call_id for r in items if r.call_id}
    if not wanted:
        return {}
    now = utcnow()
    insert_new(
        session, Call,
        [{"platform_id": platform_id, "platform_call_id": c, "created_at": now}
         for c in sorted(wanted)],
        ["platform_id", "platform_call_id"], [Call.id],
    )
    return _lookup(session, Call.platform_call_id, Call.id, Call.platform_id, platform_id, wanted)


def store_reports(session: Session, platform_id: int, items: list[ReportIn]) -> Stored:
    """Store a batch of user reports; unknown content is kept as the platform's reference."""
    unique, repeats = _first_of_each(items, "id")
    accounts = resolve_accounts(
        session, platform_id,
        [r.reported_user_id for r in unique] + [r.reporter_id for r in unique if r.reporter_id],
    )
    messages = _lookup(session, Message.platform_message_id, Message.id, Message.platform_id,
                       platform_id, {r.message_id for r in unique if r.message_id})
    recordings = _lookup(session, Recording.platform_recording_id, Recording.id,
                         Recording.platform_id, platform_id,
                         {r.recording_id for r in unique if r.recording_id})
    calls = _calls(session, platform_id, unique)
    now = utcnow()
    rows = []
    for r in unique:
        ref = {k: v for k, v in (("message_id", r.message_id), ("recording_id", r.recording_id),
                                 ("call_id", r.call_id), ("image_id", r.image_id)) if v}
        rows.append({
            "platform_id": platform_id,
            "platform_report_id": r.id,
            "reporter_account_id": accounts[r.reporter_id] if r.reporter_id else None,
            "reported_account_id": accounts[r.reported_user_id],
            "category": r.category.value,
            "message_id": messages.get(r.message_id) if r.message_id else None,
            "recording_id": recordings.get(r.recording_id) if r.recording_id else None,
            "call_id": calls.get(r.call_id) if r.call_id else None,
            "content_ref": ref or None,
            "call_in_progress": r.call_in_progress,
            "description": r.description,
            "source": ReportSource.USER.value,
            "created_at": r.created_at,
            "received_at": now,
            "status": "pending",
        })
    new = [x.id for x in insert_new(session, Report, rows,
                                    ["platform_id", "platform_report_id"], [Report.id])]
    batch = _outbox(session, platform_id, BatchKind.REPORTS, new)
    return Stored(len(new), repeats + len(unique) - len(new), batch)


def store_signals(session: Session, platform_id: int, items: list[SignalIn]) -> Stored:
    """Store a batch of fraud signals."""
    unique, repeats = _first_of_each(items, "id")
    accounts = resolve_accounts(session, platform_id, [s.user_id for s in unique])
    now = utcnow()
    rows = [
        {"platform_id": platform_id, "platform_signal_id": s.id, "account_id": accounts[s.user_id],
         "kind": s.kind.value, "score": s.score, "details": s.details,
         "created_at": s.created_at or now, "received_at": now, "status": "pending"}
        for s in unique
    ]
    new = [x.id for x in insert_new(session, FraudSignal, rows,
                                    ["platform_id", "platform_signal_id"], [FraudSignal.id])]
    batch = _outbox(session, platform_id, BatchKind.SIGNALS, new)
    return Stored(len(new), repeats + len(unique) - len(new), batch)


def store_appeals(session: Session, platform_id: int, items: list[AppealIn],
                  window: timedelta) -> Stored:
    """Store appeals; one that cannot be appealed refuses the batch (422, naming the item)."""

    unique, repeats = _first_of_each(items, "id")
    known = set(session.scalars(select(Appeal.platform_appeal_id).where(
        Appeal.platform_id == platform_id,
        one_of(session, Appeal.platform_appeal_id, [a.id for a in unique]))))
    now = utcnow()
    new = []
    for index, item in enumerate(unique):
        if item.id in known:
            continue
        try:
            # Filed when it reached us: the platform's created_at is its own claim, and an
            # appeal dated 2001 must not reopen a window that closed.
            account = check_appealable(session, platform_id, item.user_id, item.action_id,
                                       now, window)
        except AppealError as exc:
            raise ApiError(422, "not_appealable", str(exc),
                           field=f"appeals[{index}].{exc.field}" if exc.field else None,
                           index=index) from None
        appeal = Appeal(platform_id=platform_id, platform_appeal_id=item.id,
                        action_id=item.action_id, account_id=account.id, text=item.text,
                        created_at=item.created_at or now, received_at=now)
        session.add(appeal)
        new.append(appeal)
    session.flush()
    batch = _outbox(session, platform_id, BatchKind.APPEALS, [a.id for a in new])
    return Stored(len(new), repeats + len(unique) - len(new), batch)


@dataclass(frozen=True)
class AccountsStored:
    created: int
    updated: int
    batch_id: int | None


def _apply(account: Account, item: AccountIn) -> bool:
    """Copy the item's fields onto the account; True when identity fields changed."""
    identity_before = (account.phone_hash, sorted(account.device_ids))
    account.username = item.username
    account.is_stub = False
    for name in ("phone_hash", "gender", "birth_year", "languages"):
        value = getattr(item, name)
        if value is not None:
            setattr(account, name, value)
    if item.device_ids is not None:
        known = set(account.device_ids)
        account.devices.extend(AccountDevice(device_id=d) for d in dict.fromkeys(item.device_ids)
                               if d not in known)
    return (account.phone_hash, sorted(account.device_ids)) != identity_before


def _account_deleted(session: Session, account: Account) -> None:
    """The platform deleted the account: mark it, and file the erasure of its data.

    Nothing is deleted here. The erasure runs after the retention period (IT Rules 2021
    r. 3(1)(h)), from the maintenance job, which leaves alone what a legal hold covers.
    """
    # Heavy: imported on first use, not when the module loads.
    from actions.erasure import request_account_deletion

    account.status = AccountStatus.DELETED.value
    keep = settings().retention_policy.deleted_accounts
    request_account_deletion(session, account.id, keep_days=keep)


def _insert_account(session: Session, platform_id: int, item: AccountIn,
                    merges: list[LinkResult]) -> Account | None:
    """A new account, linked to its person; None if another request inserted the same
    account meanwhile (a stub named by a message or report, or the same account sent
    twice at once), which the caller then updates instead of failing."""
    account = Account(platform_id=platform_id, platform_user_id=item.id, status="active")
    account.devices = []
    try:
        with session.begin_nested():
            session.add(account)
            _apply(account, item)
            linked = link_account(session, account, audit=False)
            session.flush()
    except IntegrityError:
        return None
    merges.append(linked)
    return account


def upsert_accounts(session: Session, platform_id: int, items: list[AccountIn]) -> AccountsStored:
    """Create or update accounts, and link each one whose phone or devices changed."""
    unique = list({a.id: a for a in items}.values())  # the last version of an id wins
    # Before looking anything up: a concurrent batch sharing a phone or device waits here.
    lock_identities(session, {a.phone_hash for a in unique if a.phone_hash},
                    {d for a in unique for d in a.device_ids or []})
    existing = {
        a.platform_user_id: a
        for a in session.scalars(
            select(Account).where(Account.platform_id == platform_id,
                                  one_of(session, Account.platform_user_id,
                                         [a.id for a in unique]))
        )
    }
    created = updated = 0
    touched: list[int] = []
    merges: list[LinkResult] = []
    # In id order, as stub accounts are inserted: two requests naming the same users
    # insert them in one order, so one waits for the other rather than deadlocking.
    for item in sorted(unique, key=lambda a: a.id):
        account = existing.get(item.id) or _insert_account(session, platform_id, item, merges)
        if account is not None and item.id not in existing:
            created += 1
        else:
            account = account or session.scalars(select(Account).where(
                Account.platform_id == platform_id, Account.platform_user_id == item.id)).one()
            updated += 1
            if _apply(account, item):
                merges.append(link_account(session, account, audit=False))
        session.flush()
        if item.status == "deleted":
            _account_deleted(session, account)
        touched.append(account.id)
    for linked in merges:  # the audit chain last, after every row this batch changes
        record_merge(session, linked)
    batch = _outbox(session, platform_id, BatchKind.ACCOUNTS, touched)
    return AccountsStored(created, updated, batch)

