"""A person's rights over their data: erasure (and withdrawn consent), and access.

Erasure follows India's DPDP Act 2023 s.12(3) (and s.6(4) for withdrawn consent): the
request is recorded with its deadline (30 days by the platform's policy, configurable)
and carried out by the maintenance job, unless a legal hold or an open case blocks it;
then the reason is recorded on the request and in the audit log, and the job tries
again on its next run. A platform deleting an account files the same kind of request,
to run once the account's data has been kept for the retention period (IT Rules 2021
rule 3(1)(h)). Content removed less than the retention period ago stays until then
(rule 3(1)(g) asks for it to be kept): the retention job purges it afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from actions.holds import HoldCover, active_holds, cover_of, describe, holds_covering
from actions.identity import root_person_id
from actions.retention import (
    delete_images,
    delete_messages,
    delete_recordings,
    delete_unreferenced_blobs,
    images_under_review,
    rowcount,
)
from actions.transcripts import transcript_fields
from workbench.enums import OPEN_CASE_STATUSES, AccountStatus, ReportStatus
from workbench.models import (
    Account,
    AccountDevice,
    Action,
    Appeal,
    Case,
    ErasureRequest,
    FraudSignal,
    Image,
    Message,
    Person,
    Platform,
    Recording,
    Report,
    StatementOfReasons,
    utcnow,
)
from workbench.models.audit import record
from workbench.models.legal import ErasureKind, ErasureStatus
from workbench.rules.retention import RetentionPolicy

if TYPE_CHECKING:
    from workbench.storage import BlobStore

log = logging.getLogger(__name__)

#: Days to carry out an erasure request: the platform's policy, configurable with
#: ``WORKBENCH_ERASURE_DEADLINE_DAYS``.
DEFAULT_DEADLINE_DAYS = 30


class ErasureError(ValueError):
    """The request cannot be recorded as given."""


def file_erasure_request(session: Session, *, person_id: int | None = None,
                         account_id: int | None = None,
                         kind: ErasureKind = ErasureKind.ERASURE,
                         reference: str | None = None, received_at: datetime | None = None,
                         deadline_days: int = DEFAULT_DEADLINE_DAYS,
                         recorded_by_id: int | None = None) -> ErasureRequest:
    """Record a person's erasure request (or withdrawn consent); the caller commits."""
    if (person_id is None) == (account_id is None):
        raise ErasureError("an erasure request names a person or an account")
    if person_id is not None and session.get(Person, person_id) is None:
        raise ErasureError(f"no person {person_id}")
    if account_id is not None and session.get(Account, account_id) is None:
        raise ErasureError(f"no account {account_id}")
    received = received_at or utcnow()
    request = ErasureRequest(kind=kind.value, person_id=person_id, account_id=account_id,
                             reference=reference, received_at=received, not_before=received,
                             due_at=received + timedelta(days=deadline_days),
                             status=ErasureStatus.PENDING.value, recorded_by_id=recorded_by_id)
    session.add(request)
    session.flush()
    record(session, "erasure.requested", "erasure_request", request.id,
           actor_type="moderator" if recorded_by_id else "system",
           actor_id=str(recorded_by_id) if recorded_by_id else None,
           data={"kind": kind.value, "person_id": person_id, "account_id": account_id,
                 "due_at": request.due_at.isoformat(), "reference": reference})
    return request


def request_account_deletion(session: Session, account_id: int, *, keep_days: int,
                             received_at: datetime | None = None) -> ErasureRequest:
    """A platform deleted this account: erase its data after ``keep_days`` (once per account)."""
    pending = session.scalars(select(ErasureRequest).where(
        ErasureRequest.account_id == account_id,
        ErasureRequest.kind == ErasureKind.ACCOUNT_DELETED.value,
        ErasureRequest.status != ErasureStatus.DONE.value)).first()
    if pending is not None:
        return pending
    received = received_at or utcnow()
    keep_until = received + timedelta(days=keep_days)
    request = ErasureRequest(kind=ErasureKind.ACCOUNT_DELETED.value, account_id=account_id,
                             received_at=received, not_before=keep_until, due_at=keep_until,
                             status=ErasureStatus.PENDING.value)
    session.add(request)
    session.flush()
    record(session, "account.deletion_requested", "account", account_id,
           data={"erasure_request_id": request.id, "erase_after": keep_until.isoformat()})
    return request


def request_accounts(session: Session, request: ErasureRequest) -> list[int]:
    """The accounts a request erases: one account, or every account of the person."""
    if request.account_id is not None:
        return [request.account_id]
    assert request.person_id is not None
    root = root_person_id(session, request.person_id)
    return list(session.scalars(select(Account.id).where(
        Account.person_id.in_({root, request.person_id})).order_by(Account.id)))


def _held_content(session: Session, cover: HoldCover, accounts: list[int]) -> bool:
    """Whether a hold keeps any message, recording or image these accounts made."""
    if any(cover.image_held(*row) for row in session.execute(
            select(Image.id, Image.owner_account_id, Image.call_id)
            .where(Image.owner_account_id.in_(accounts)))):
        return True
    if cover.messages and session.scalars(select(Message.id).where(
            Message.id.in_(sorted(cover.messages)),
            Message.sender_account_id.in_(accounts)).limit(1)).first() is not None:
        return True
    return bool(cover.recordings) and session.scalars(select(Recording.id).where(
        Recording.id.in_(sorted(cover.recordings)),
        Recording.owner_account_id.in_(accounts)).limit(1)).first() is not None


def _under_review_count(session: Session, accounts: list[int]) -> int:
    """Their messages and recordings a pending report or an open case points at."""
    open_or_pending = or_(Report.status == ReportStatus.PENDING.value,
                          Case.status.in_(OPEN_CASE_STATUSES))
    total = 0
    for content, link, owner in ((Message, Report.message_id, Message.sender_account_id),
                                 (Recording, Report.recording_id, Recording.owner_account_id)):
        total += session.scalar(
            select(func.count(func.distinct(content.id))).select_from(Report)
            .join(content, content.id == link).outerjoin(Case, Case.id == Report.case_id)
            .where(owner.in_(accounts), open_or_pending)) or 0
    images = list(session.scalars(select(Image.id).where(Image.owner_account_id.in_(accounts))))
    return total + len(images_under_review(session, images))


def blocking_reasons(session: Session, request: ErasureRequest,
                     now: datetime | None = None) -> list[str]:
    """Why the request cannot run now: holds covering it, open cases, content under review."""
    accounts = request_accounts(session, request)
    if request.person_id is not None:
        holds = holds_covering(session, person_id=request.person_id, now=now)
    else:
        holds = holds_covering(session, account_id=request.account_id, now=now)
    seen = {h.id for h in holds}
    holds += [h for h in active_holds(session, now)
              if h.id not in seen and _held_content(session, cover_of(session, h), accounts)]
    reasons = [describe(h) for h in holds]
    people = set(session.scalars(select(Account.person_id).where(Account.id.in_(accounts))))
    reasons += [f"open case {c}" for c in session.scalars(
        select(Case.id).where(Case.person_id.in_(people), Case.status.in_(OPEN_CASE_STATUSES))
        .order_by(Case.id))]
    reviewed = _under_review_count(session, accounts)
    if reviewed:
        reasons.append(f"{reviewed} of their messages, recordings or images are under review "
                       "in a report or an open case")
    return reasons


def _erase_content(session: Session, accounts: list[int], recent_removal: datetime,
                   counts: Counter[str], batch: int = 1000) -> set[str]:
    """Delete their messages, recordings and images a batch at a time, except recent
    removals."""
    shas: set[str] = set()
    for model, owner, remove in (
            (Message, Message.sender_account_id,
             lambda s, ids: (delete_messages(s, ids), set[str]())),
            (Recording, Recording.owner_account_id, delete_recordings),
            (Image, Image.owner_account_id, delete_images)):
        keep = model.removed_at >= recent_removal
        counts["kept_removed_content"] += session.scalar(select(func.count()).select_from(
            model).where(owner.in_(accounts), keep)) or 0
        while ids := list(session.scalars(select(model.id).where(
                owner.in_(accounts), ~func.coalesce(keep, False)).limit(batch))):
            deleted, found = remove(session, ids)
            counts.update(deleted)
            shas |= found
    return shas


def erase_accounts(session: Session, accounts: list[int], policy: RetentionPolicy,
                   now: datetime) -> tuple[Counter[str], set[str]]:
    """Erase what these accounts' users gave: content, profiles, devices, their words.

    Removed content younger than the retention period is kept (the law asks for it)
    and counted; the caller commits, then deletes the returned blobs.
    """
    counts: Counter[str] = Counter()
    shas = _erase_content(session, accounts, now - timedelta(days=policy.removed_content),
                          counts)
    counts["fraud_signals"] += rowcount(session.execute(
        delete(FraudSignal).where(FraudSignal.account_id.in_(accounts))))
    counts["devices"] += rowcount(session.execute(
        delete(AccountDevice).where(AccountDevice.account_id.in_(accounts))))
    counts["report_descriptions"] += rowcount(session.execute(
        update(Report).where(Report.reporter_account_id.in_(accounts),
                             Report.description.is_not(None)).values(description=None)
    ))
    counts["appeal_texts"] += rowcount(session.execute(
        update(Appeal).where(Appeal.account_id.in_(accounts), Appeal.text != "")
        .values(text="")))
    counts["accounts"] += rowcount(session.execute(
        update(Account).where(Account.id.in_(accounts)).values(
            username=None, phone_hash=None, gender=None, birth_year=None, languages=None,
            status=AccountStatus.DELETED.value)))
    return +counts, shas


def _erase_person_profile(session: Session, request: ErasureRequest) -> None:
    if request.person_id is not None:
        session.execute(update(Person).where(Person.id == request.person_id)
                        .values(risk_score=None, risk_reasons=None, risk_scored_at=None))


def _block(session: Session, request: ErasureRequest, reasons: list[str],
           now: datetime) -> None:
    reason = "; ".join(reasons)
    changed = request.status != ErasureStatus.BLOCKED.value or request.blocked_reason != reason
    request.status = ErasureStatus.BLOCKED.value
    request.blocked_reason = reason
    request.checked_at = now
    if changed:
        record(session, "erasure.blocked", "erasure_request", request.id,
               data={"reasons": reasons})


def carry_out(session: Session, store: BlobStore, request: ErasureRequest,
              policy: RetentionPolicy, now: datetime | None = None) -> bool:
    """Erase now unless blocked (then the reason is recorded); commits. True when done."""
    now = now or utcnow()
    reasons = blocking_reasons(session, request, now)
    if reasons:
        _block(session, request, reasons, now)
        session.commit()
        return False
    counts, shas = erase_accounts(session, request_accounts(session, request), policy, now)
    _erase_person_profile(session, request)
    request.status = ErasureStatus.DONE.value
    request.blocked_reason = None
    request.checked_at = request.completed_at = now
    request.erased = dict(counts)
    record(session, "erasure.done", "erasure_request", request.id,
           data={"kind": request.kind, "erased": dict(counts)})
    session.commit()
    # Recordings' and images' bytes alike (the count keeps its name for existing readers).
    counts["recording_blobs"] += delete_unreferenced_blobs(session, store, shas)
    request.erased = dict(counts)
    session.commit()
    return True


def run_due_erasures(session: Session, store: BlobStore, policy: RetentionPolicy, *,
                     now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Carry out every request whose time has come (blocked ones are tried again)."""
    now = now or utcnow()
    due = list(session.scalars(select(ErasureRequest).where(
        ErasureRequest.status.in_([ErasureStatus.PENDING.value, ErasureStatus.BLOCKED.value]),
        ErasureRequest.not_before <= now).order_by(ErasureRequest.due_at).limit(limit)))
    out = {"done": 0, "blocked": 0}
    for request in due:
        out["done" if carry_out(session, store, request, policy, now) else "blocked"] += 1
    if out["done"] or out["blocked"]:
        log.info("erasure requests: %d done, %d blocked", out["done"], out["blocked"])
    return out


def _rows(session: Session, query: Any) -> Iterator[dict[str, Any]]:
    for row in session.execute(query.execution_options(yield_per=1000)).mappings():
        yield {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _write_json(zf: zipfile.ZipFile, name: str, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with zf.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
        out.write("[")
        for row in rows:
            out.write(("," if n else "") + "\n  " + json.dumps(row, ensure_ascii=False,
                                                               sort_keys=True))
            n += 1
        out.write("\n]\n")
    return n


ACCESS_README = """Your data held by HARMONI's trust and safety workbench
=====================================================

profile.json            your accounts on each platform, as the platforms sent them
messages.json           messages you sent that reached the workbench
recordings.json         your recordings' details and transcripts (audio on request);
                        speech in a language our speech model does not know has no
                        transcript: its "machine_guess" is a
                        machine guess, not a transcript of what was said
images.json             your images' details: kind, size, when (the images on request)
reports_filed.json      reports you made about others
reports_about_you.json  reports about you: category and date (who made them is withheld)
actions.json            decisions about you, with their statements of reasons
appeals.json            your appeals and their outcomes

Exported {at} (UTC). Times are UTC.
"""


def export_personal_data(session: Session, person_id: int, *,
                         requested_by_id: int | None = None) -> bytes:
    """A zip of one person's own data in readable JSON (a data access request)."""
    if session.get(Person, person_id) is None:
        raise ErasureError(f"no person {person_id}")
    root = root_person_id(session, person_id)
    accounts = list(session.scalars(select(Account.id).where(
        Account.person_id.in_({root, person_id}))))
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", ACCESS_README.format(at=utcnow().isoformat()))
        for name, query in _access_queries(accounts, root).items():
            rows = _rows(session, query)
            if name == "recordings":
                rows = (row | transcript_fields(row["transcript_status"], row["transcript"])
                        for row in rows)
            counts[name] = _write_json(zf, f"{name}.json", rows)
    record(session, "data_access.exported", "person", person_id,
           actor_type="moderator" if requested_by_id else "system",
           actor_id=str(requested_by_id) if requested_by_id else None, data={"counts": counts})
    return buffer.getvalue()


def _access_queries(accounts: list[int], person_id: int) -> dict[str, Any]:
    """What a person's access export holds, one query per file."""

    return {
        "profile": select(Platform.slug.label("platform"), Account.platform_user_id,
                          Account.username, Account.gender, Account.birth_year,
                          Account.languages, Account.status, Account.created_at)
        .join(Platform, Platform.id == Account.platform_id).where(Account.id.in_(accounts))
        .order_by(Account.id),
        "messages": select(Message.platform_message_id, Message.text, Message.language,
                           Message.sent_at, Message.status)
        .where(Message.sender_account_id.in_(accounts)).order_by(Message.sent_at, Message.id),
        "recordings": select(Recording.platform_recording_id, Recording.kind,
                             Recording.recorded_at, Recording.duration_s, Recording.transcript,
                             Recording.transcript_status, Recording.status)
        .where(Recording.owner_account_id.in_(accounts)).order_by(Recording.id),
        "images": select(Image.platform_image_id, Image.kind, Image.format, Image.width,
                         Image.height, Image.captured_at, Image.status)
        .where(Image.owner_account_id.in_(accounts)).order_by(Image.id),
        "reports_filed": select(Report.platform_report_id, Report.category, Report.description,
                                Report.created_at)
        .where(Report.reporter_account_id.in_(accounts)).order_by(Report.id),
        "reports_about_you": select(Report.category, Report.created_at)
        .where(Report.reported_account_id.in_(accounts)).order_by(Report.id),
        "actions": select(Action.id, Action.type, Action.created_at, Action.ends_at,
                          Action.status, StatementOfReasons.body.label("statement_of_reasons"))
        .outerjoin(StatementOfReasons, StatementOfReasons.action_id == Action.id)
        .where(Action.person_id == person_id).order_by(Action.id),
        "appeals": select(Appeal.platform_appeal_id, Appeal.action_id, Appeal.text,
                          Appeal.status, Appeal.decision_note, Appeal.created_at)
        .where(Appeal.account_id.in_(accounts)).order_by(Appeal.id),
    }
