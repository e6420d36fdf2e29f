"""What the legal team places and takes out: holds and evidence exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workbench.enums import ExportStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column


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
