"""The records an evidence bundle holds, streamed from the database a batch at a time.

Each ``*_rows`` function yields plain dicts (JSON-ready apart from datetimes) in a stable
order, reading with ``yield_per`` so memory stays flat however many rows there are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from actions.evidence.scope import (
    EvidenceScope,
    ScopeKind,
    conversation_context,
    reported_content,
    reported_images,
)
from actions.transcripts import transcript_fields, untrusted
from workbench.models import (
    Account,
    AccountDevice,
    Action,
    Appeal,
    AuditEvent,
    CallParticipant,
    Case,
    CaseNote,
    ClassifierScore,
    Conversation,
    EnforcementDelivery,
    FraudSignal,
    HashBank,
    Image,
    ImageMatch,
    LegalHold,
    Message,
    Platform,
    Recording,
    RecordingSegment,
    Report,
    StatementOfReasons,
)

#: Rows fetched per round trip while streaming.
YIELD_PER = 1000


@dataclass(frozen=True)
class ContentSelection:
    """Content included beyond the subject accounts' own: reported items and their context."""

    reported_messages: frozenset[int]
    messages: frozenset[int]
    recordings: frozenset[int]
    calls: frozenset[int]
    images: frozenset[int] = frozenset()


def select_content(session: Session, scope: EvidenceScope) -> ContentSelection:
    """The reported content of the scope's reports, with each message's conversation context."""
    messages, recordings, calls = reported_content(session, scope.reports)
    if scope.content_accounts:
        calls |= set(session.scalars(select(CallParticipant.call_id).where(
            CallParticipant.account_id.in_(scope.content_accounts))))
    return ContentSelection(frozenset(messages),
                            frozenset(conversation_context(session, messages)),
                            frozenset(recordings), frozenset(calls),
                            frozenset(reported_images(session, scope.reports)))


def message_filter(scope: EvidenceScope, content: ContentSelection) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if scope.content_accounts:
        conditions += [Message.sender_account_id.in_(scope.content_accounts),
                       Message.recipient_account_id.in_(scope.content_accounts)]
    if content.messages:
        conditions.append(Message.id.in_(sorted(content.messages)))
    return or_(*conditions) if conditions else false()


def recording_filter(scope: EvidenceScope, content: ContentSelection) -> ColumnElement[bool]:
    return _any_of((Recording.owner_account_id, scope.content_accounts),
                   (Recording.id, content.recordings), (Recording.call_id, content.calls))


def _any_of(*pairs: tuple[Any, Collection[int]]) -> ColumnElement[bool]:
    """Rows whose column is among its ids, for any pair with ids; none if no pair has."""
    conditions = [column.in_(sorted(ids)) for column, ids in pairs if ids]
    return or_(*conditions) if conditions else false()


def plain(value: Any) -> Any:
    """A value as JSON can hold it (times in UTC, ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value


def _stream(session: Session, query: Select[*tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    result = session.execute(query.execution_options(yield_per=YIELD_PER))
    for row in result.mappings():
        yield {k: plain(v) for k, v in row.items()}


def account_rows(session: Session, scope: EvidenceScope) -> Iterator[dict[str, Any]]:
    devices: dict[int, list[str]] = {}
    for account_id, device in session.execute(
            select(AccountDevice.account_id, AccountDevice.device_id)
            .where(AccountDevice.account_id.in_(scope.accounts))
            .order_by(AccountDevice.account_id, AccountDevice.device_id)):
        devices.setdefault(account_id, []).append(device)
    query = (select(Account.id, Account.person_id, Platform.slug.label("platform"),
                    Account.platform_user_id, Account.username, Account.phone_hash,
                    Account.gender, Account.birth_year, Account.languages, Account.status,
                    Account.is_stub, Account.created_at, Account.updated_at)
             .join(Platform, Platform.id == Account.platform_id)
             .where(Account.id.in_(scope.accounts)).order_by(Account.id))
    for row in _stream(session, query):
        row["device_ids"] = devices.get(row["id"], [])
        yield row


def fraud_signal_rows(session: Session, scope: EvidenceScope) -> Iterator[dict[str, Any]]:
    return _stream(session, select(
        FraudSignal.id, FraudSignal.account_id, FraudSignal.platform_signal_id,
        FraudSignal.kind, FraudSignal.score, FraudSignal.details, FraudSignal.created_at,
        FraudSignal.received_at).where(FraudSignal.account_id.in_(scope.content_accounts))
        .order_by(FraudSignal.id))


#: Columns of messages.json and messages.csv, in order.
MESSAGE_COLUMNS = ("id", "role", "platform", "platform_message_id", "conversation_id",
                   "platform_conversation_id", "room_id", "sender_account_id", "sender_user_id",
                   "recipient_account_id", "recipient_user_id", "text", "language", "sent_at",
                   "received_at", "status", "removed_at")


def message_rows(session: Session, scope: EvidenceScope,
                 content: ContentSelection) -> Iterator[dict[str, Any]]:
    """Messages in conversation order, each marked ``subject``, ``reported`` or ``context``."""
    sender, recipient = aliased(Account), aliased(Account)
    query = (select(Message.id, Platform.slug.label("platform"), Message.platform_message_id,
                    Message.conversation_id, Conversation.platform_conversation_id,
                    Message.room_id, Message.sender_account_id,
                    sender.platform_user_id.label("sender_user_id"),
                    Message.recipient_account_id,
                    recipient.platform_user_id.label("recipient_user_id"), Message.text,
                    Message.language, Message.sent_at, Message.received_at, Message.status,
                    Message.removed_at)
             .join(Platform, Platform.id == Message.platform_id)
             .join(Conversation, Conversation.id == Message.conversation_id)
             .join(sender, sender.id == Message.sender_account_id)
             .outerjoin(recipient, recipient.id == Message.recipient_account_id)
             .where(message_filter(scope, content))
             .order_by(Message.conversation_id, Message.sent_at, Message.id))
    subjects = set(scope.content_accounts)
    for row in _stream(session, query):
        if row["id"] in content.reported_messages:
            role = "reported"
        elif row["sender_account_id"] in subjects or row["recipient_account_id"] in subjects:
            role = "subject"
        else:
            role = "context"
        yield {name: (role if name == "role" else row[name]) for name in MESSAGE_COLUMNS}


def image_filter(scope: EvidenceScope, content: ContentSelection) -> ColumnElement[bool]:
    """The subject accounts' images, the reported ones, and the frames of included calls."""
    return _any_of((Image.owner_account_id, scope.content_accounts),
                   (Image.id, content.images), (Image.call_id, content.calls))


def image_ids(session: Session, scope: EvidenceScope, content: ContentSelection) -> list[int]:
    return list(session.scalars(select(Image.id).where(image_filter(scope, content))
                                .order_by(Image.id)))


def image_rows(session: Session, ids: list[int], chunk: int = 100) -> Iterator[dict[str, Any]]:
    """Images' details with their bank matches, a chunk at a time."""
    owner = aliased(Account)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        matches: dict[int, list[dict[str, Any]]] = {}
        for image_id, bank, category, distance, entry_id, regions in session.execute(
                select(ImageMatch.image_id, HashBank.name, HashBank.category,
                       ImageMatch.distance, ImageMatch.bank_entry_id,
                       ImageMatch.query_region + " / " + ImageMatch.bank_region)
                .join(HashBank, HashBank.id == ImageMatch.bank_id)
                .where(ImageMatch.image_id.in_(part)).order_by(ImageMatch.id)):
            matches.setdefault(image_id, []).append(
                {"bank": bank, "category": category, "distance": distance,
                 "bank_entry_id": entry_id, "regions": regions})
        for row in _stream(session, select(
                Image.id, Platform.slug.label("platform"), Image.platform_image_id,
                owner.platform_user_id.label("owner_user_id"), Image.kind,
                Image.platform_conversation_id, Image.platform_message_id, Image.room_id,
                Image.call_id, Image.blob_sha256, Image.format, Image.width, Image.height,
                Image.size_bytes, Image.pdq, Image.pdq_quality, Image.nudity_score,
                Image.status, Image.captured_at, Image.received_at, Image.removed_at)
                .join(Platform, Platform.id == Image.platform_id)
                .join(owner, owner.id == Image.owner_account_id)
                .where(Image.id.in_(part)).order_by(Image.id)):
            row["bank_matches"] = matches.get(row["id"], [])
            yield row


def recording_ids(session: Session, scope: EvidenceScope,
                  content: ContentSelection) -> list[int]:
    return list(session.scalars(select(Recording.id).where(recording_filter(scope, content))
                                .order_by(Recording.id)))


def recording_rows(session: Session, ids: list[int],
                   chunk: int = 100) -> Iterator[dict[str, Any]]:
    """Recordings' details, a chunk at a time: the caller reads more between chunks."""
    for start in range(0, len(ids), chunk):
        for row in _stream(session, select(
                Recording.id, Platform.slug.label("platform"), Recording.platform_recording_id,
                Recording.owner_account_id, Recording.kind, Recording.call_id,
                Recording.blob_sha256, Recording.format, Recording.size_bytes,
                Recording.duration_s, Recording.speech_ratio, Recording.transcript,
                Recording.transcript_status, Recording.keyword_hits, Recording.status,
                Recording.recorded_at, Recording.received_at, Recording.removed_at)
                .join(Platform, Platform.id == Recording.platform_id)
                .where(Recording.id.in_(ids[start:start + chunk])).order_by(Recording.id)):
            row.update(transcript_fields(row["transcript_status"], row["transcript"]))
            if untrusted(row["transcript_status"]) and row["keyword_hits"]:
                # Words "spotted" in the guess were never said either.
                row["machine_guess_keyword_hits"] = row["keyword_hits"]
                row["keyword_hits"] = None
            yield row


def transcript(session: Session, recording_id: int) -> dict[str, Any]:
    """One recording's transcript with its timed segments, words and scores; for speech in
    a language the recogniser does not know, every text is labelled a machine guess."""
    text, status, words = session.execute(
        select(Recording.transcript, Recording.transcript_status, Recording.words)
        .where(Recording.id == recording_id)).one()
    segments = [{"start_s": s.start_s, "end_s": s.end_s,
                 **transcript_fields(status, s.transcript), "scores": s.scores}
                for s in session.scalars(select(RecordingSegment)
                                         .where(RecordingSegment.recording_id == recording_id)
                                         .order_by(RecordingSegment.start_s))]
    for segment in segments:
        segment.pop("transcript_status")
        segment.pop("machine_guess_label", None)
    return {"recording_id": recording_id, **transcript_fields(status, text),
            "words" if not untrusted(status) else "machine_guess_words": words,
            "segments": segments}


def report_rows(session: Session, scope: EvidenceScope) -> Iterator[dict[str, Any]]:
    reporter = aliased(Account)
    return _stream(session, select(
        Report.id, Platform.slug.label("platform"), Report.platform_report_id,
        Report.case_id, Report.category, Report.source, Report.reported_account_id,
        Report.reporter_account_id, reporter.platform_user_id.label("reporter_user_id"),
        Report.message_id, Report.recording_id, Report.call_id, Report.content_ref,
        Report.description, Report.model_name, Report.model_version, Report.model_score,
        Report.created_at, Report.received_at, Report.status)
        .join(Platform, Platform.id == Report.platform_id)
        .outerjoin(reporter, reporter.id == Report.reporter_account_id)
        .where(Report.id.in_(scope.reports)).order_by(Report.id))


def score_rows(session: Session, scope: EvidenceScope,
               content: ContentSelection) -> Iterator[dict[str, Any]]:
    """Classifier scores of the included content, with the model name and version."""
    columns = (ClassifierScore.id, ClassifierScore.content_type, ClassifierScore.content_id,
               ClassifierScore.model_name, ClassifierScore.model_version,
               ClassifierScore.scores, ClassifierScore.flagged, ClassifierScore.explanation,
               ClassifierScore.created_at)
    yield from _stream(session, select(*columns).join(Message, and_(
        ClassifierScore.content_type == "message", ClassifierScore.content_id == Message.id))
        .where(message_filter(scope, content)).order_by(ClassifierScore.id))
    yield from _stream(session, select(*columns).join(Recording, and_(
        ClassifierScore.content_type == "recording",
        ClassifierScore.content_id == Recording.id))
        .where(recording_filter(scope, content)).order_by(ClassifierScore.id))


def _action_filter(scope: EvidenceScope) -> ColumnElement[bool]:
    if scope.kind is ScopeKind.CASE:
        return Action.case_id.in_(scope.cases)
    return or_(Action.person_id == scope.person_id, Action.case_id.in_(scope.cases))


def action_ids(session: Session, scope: EvidenceScope) -> list[int]:
    return list(session.scalars(select(Action.id).where(_action_filter(scope))
                                .order_by(Action.id)))


def action_rows(session: Session, ids: list[int]) -> Iterator[dict[str, Any]]:
    """Actions with their statement of reasons, deliveries to platforms, and appeals."""
    for start in range(0, len(ids), YIELD_PER):
        chunk = ids[start:start + YIELD_PER]
        statements: dict[int, dict[str, Any]] = {
            action_id: body for action_id, body in session.execute(
                select(StatementOfReasons.action_id, StatementOfReasons.body)
                .where(StatementOfReasons.action_id.in_(chunk)))}
        deliveries = _grouped(session, select(
            EnforcementDelivery.action_id, EnforcementDelivery.id, Platform.slug.label("platform"),
            EnforcementDelivery.event, EnforcementDelivery.sequence, EnforcementDelivery.state,
            EnforcementDelivery.attempts, EnforcementDelivery.last_status_code,
            EnforcementDelivery.created_at, EnforcementDelivery.delivered_at)
            .join(Platform, Platform.id == EnforcementDelivery.platform_id)
            .where(EnforcementDelivery.action_id.in_(chunk)).order_by(EnforcementDelivery.id))
        appeals = _grouped(session, select(
            Appeal.action_id, Appeal.id, Appeal.platform_appeal_id, Appeal.account_id,
            Appeal.text, Appeal.status, Appeal.decided_by_id, Appeal.decided_at,
            Appeal.decision_note, Appeal.created_at).where(Appeal.action_id.in_(chunk))
            .order_by(Appeal.id))
        for row in _stream(session, select(Action.__table__).where(Action.id.in_(chunk))
                           .order_by(Action.id)):
            row["statement_of_reasons"] = statements.get(row["id"])
            row["deliveries"] = deliveries.get(row["id"], [])
            row["appeals"] = appeals.get(row["id"], [])
            yield row


def _grouped(session: Session,
             query: Select[*tuple[Any, ...]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in _stream(session, query):
        out.setdefault(row.pop("action_id"), []).append(row)
    return out


def case_rows(session: Session, scope: EvidenceScope) -> Iterator[dict[str, Any]]:
    return _stream(session, select(Case.__table__).where(Case.id.in_(scope.cases))
                   .order_by(Case.id))


def note_rows(session: Session, scope: EvidenceScope) -> Iterator[dict[str, Any]]:
    return _stream(session, select(CaseNote.__table__).where(CaseNote.case_id.in_(scope.cases))
                   .order_by(CaseNote.case_id, CaseNote.created_at, CaseNote.id))


def hold_ids(session: Session, scope: EvidenceScope) -> list[int]:
    return list(session.scalars(select(LegalHold.id).where(or_(
        LegalHold.person_id == scope.person_id, LegalHold.account_id.in_(scope.accounts),
        LegalHold.case_id.in_(scope.cases))).order_by(LegalHold.id)))


def hold_rows(session: Session, ids: list[int]) -> Iterator[dict[str, Any]]:
    return _stream(session, select(LegalHold.__table__).where(LegalHold.id.in_(ids))
                   .order_by(LegalHold.id))


def audit_rows(session: Session, objects: dict[str, list[int]]) -> Iterator[dict[str, Any]]:
    """Audit events about any of these objects (type to ids), in chain order."""
    conditions = [and_(AuditEvent.object_type == kind,
                       AuditEvent.object_id.in_([str(i) for i in ids]))
                  for kind, ids in sorted(objects.items()) if ids]
    if not conditions:
        return iter(())
    return _stream(session, select(AuditEvent.__table__).where(or_(*conditions))
                   .order_by(AuditEvent.id))
