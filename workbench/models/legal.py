"""What the legal team places, receives and takes out: holds, legal and erasure requests,
evidence exports and the custody of each exported bundle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workbench.enums import ExportStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column


class AuthorityType(StrEnum):
    """Who issued a legal request."""

    POLICE = "police"
    COURT = "court"
    GOVERNMENT = "government"


class LegalAsk(StrEnum):
    """What a legal request asks for; one request may ask for several."""

    PRESERVE = "preserve"
    DISCLOSE = "disclose"
    TAKEDOWN = "takedown"


class LegalRequestStatus(StrEnum):
    OPEN = "open"
    #: Answered as asked (data disclosed, content taken down, preservation confirmed).
    COMPLIED = "complied"
    #: Answered with a refusal or a challenge (for example, a defective order).
    CONTESTED = "contested"


class ErasureKind(StrEnum):
    """Why a person's data is to be erased."""

    #: The person asked for their data to be erased (DPDP Act 2023 s.12(3)).
    ERASURE = "erasure"
    #: The person withdrew consent (DPDP Act 2023 s.6(4)): erase, as for an erasure request.
    CONSENT_WITHDRAWN = "consent_withdrawn"
    #: A platform deleted the account; its data is kept for the retention period first.
    ACCOUNT_DELETED = "account_deleted"


class ErasureStatus(StrEnum):
    PENDING = "pending"
    #: A hold or an open case stops it for now; ``blocked_reason`` says which.
    BLOCKED = "blocked"
    DONE = "done"


class CustodyEventKind(StrEnum):
    """What happened to an exported bundle."""

    CREATED = "created"
    DOWNLOADED = "downloaded"
    TRANSFERRED = "transferred"
    VERIFIED = "verified"


def _one_subject(*columns: str, name: str) -> CheckConstraint:
    present = " + ".join(f"CASE WHEN {c} IS NULL THEN 0 ELSE 1 END" for c in columns)
    return CheckConstraint(f"({present}) = 1", name=name)


class LegalHold(IdMixin, CreatedMixin, Base):
    """While a hold covers a record, nothing deletes it: not retention, not erasure."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN case_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
    )

    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200))
    placed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    until: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))


class EvidenceExport(IdMixin, CreatedMixin, Base):
    """An evidence bundle: what it covers, why, who asked, and the archive's hash."""

    __tablename__ = "evidence_export"

    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[int] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(Text)
    request_ref: Mapped[str] = mapped_column(String(200))
    requested_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    status: Mapped[str] = mapped_column(enum_column(), default=ExportStatus.QUEUED.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_size: Mapped[int | None] = mapped_column(BigInteger)
    contents: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    # The draft certificate (Bharatiya Sakshya Adhiniyam 2023 s.63(4)(c)) kept beside it.
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    legal_request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("legal_request.id"), index=True)


class EvidenceCustodyEvent(IdMixin, Base):
    """One link in an exported bundle's chain of custody: made, downloaded, handed over."""

    __tablename__ = "evidence_custody_event"

    export_id: Mapped[int] = mapped_column(BigId, ForeignKey("evidence_export.id"), index=True)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(enum_column())
    moderator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    #: How, and to whom: "console download", "handed to the investigating officer on USB".
    detail: Mapped[str | None] = mapped_column(Text)
    archive_sha256: Mapped[str] = mapped_column(String(64))


class LegalRequest(IdMixin, CreatedMixin, Base):
    """A request from the police, a court or the government, with the deadline it sets."""

    __tablename__ = "legal_request"
    __table_args__ = (Index("ix_legal_request_open_due", "status", "due_at"),)

    authority_type: Mapped[str] = mapped_column(enum_column())
    #: The issuing authority as written on the request ("Cyber Crime PS, Bengaluru").
    authority: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    asks: Mapped[list[str]]
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"), index=True)
    details: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(enum_column(), default=LegalRequestStatus.OPEN.value)
    hold_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("legal_hold.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    response_note: Mapped[str | None] = mapped_column(Text)


class ErasureRequest(IdMixin, CreatedMixin, Base):
    """A person's erasure request, or a platform's account deletion, until it is carried out.

    ``not_before`` is the earliest it may run (a deleted account's data is kept for the
    retention period first); ``due_at`` is when it must be done by.
    """

    __tablename__ = "erasure_request"
    __table_args__ = (
        _one_subject("person_id", "account_id", name="one_subject"),
        Index("ix_erasure_request_due", "status", "not_before"),
    )

    kind: Mapped[str] = mapped_column(enum_column())
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime]
    not_before: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(enum_column(), default=ErasureStatus.PENDING.value)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    #: What was erased, in counts per data type.
    erased: Mapped[dict[str, Any] | None]
    recorded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
