"""What lands on the workbench: reports, fraud signals, classifier scores, and cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.enums import CaseStatus, ReportSource, ReportStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from workbench.models.people import Account, Person

#: The statuses of an open case, as SQL: the partial index that allows one open case per
#: person, and the inserts that rely on it (``ON CONFLICT ... WHERE``), use this one text.
OPEN_CASE_PREDICATE = sql_text("status IN ('open', 'claimed', 'escalated')")


class Report(IdMixin, Base):
    """A report about an account: from a user, a classifier, the fraud systems or legal."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_report_id"),
        Index("ix_report_status", "status"),
        Index("ix_report_reported_account", "reported_account_id"),
        Index("ix_report_reporter_account", "reporter_account_id"),
        Index("ix_report_created", "created_at"),
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_report_id: Mapped[str] = mapped_column(String(128))
    reporter_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"))
    reported_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    category: Mapped[str] = mapped_column(enum_column())
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("message.id"))
    recording_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("recording.id"))
    call_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("call.id"))
    # The platform's own ids of the content, kept even when that content has not arrived yet.
    content_ref: Mapped[dict[str, Any] | None]
    call_in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(enum_column(), default=ReportSource.USER.value)
    # For classifier reports: which model and version raised it, with its score.
    model_name: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    model_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(enum_column(), default=ReportStatus.PENDING.value)
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    cased_at: Mapped[datetime | None]

    reporter: Mapped[Account | None] = relationship(foreign_keys=[reporter_account_id])
    reported: Mapped[Account] = relationship(foreign_keys=[reported_account_id])


class FraudSignal(IdMixin, Base):
    """A signal from payments or sign-up about one account."""

    __tablename__ = "fraud_signal"
    __table_args__ = (UniqueConstraint("platform_id", "platform_signal_id"),)

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_signal_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(enum_column())
    score: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(enum_column(), default=ReportStatus.PENDING.value)


class ClassifierScore(IdMixin, CreatedMixin, Base):
    """One model version's scores for one piece of content (message, recording, account)."""

    __tablename__ = "classifier_score"
    __table_args__ = (
        UniqueConstraint("content_type", "content_id", "model_name", "model_version"),
    )

    content_type: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[int] = mapped_column(BigId)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]]
    flagged: Mapped[dict[str, Any] | None]
    explanation: Mapped[dict[str, Any] | None]


class Case(IdMixin, CreatedMixin, Base):
    """Open reports about one person, gathered for one decision.

    A person has at most one open case at a time (a partial unique index).
    Category, platform and language are kept on the case so the triage queue
    filters on indexed columns instead of joining its reports.
    """

    __tablename__ = "case"
    __table_args__ = (
        # The queue's order, over open cases only (migration 0027): the whole queue, one
        # queue's tab, one category.
        *(Index(name, *leading, sql_text("priority DESC"), "due_at", "id",
                sqlite_where=OPEN_CASE_PREDICATE, postgresql_where=OPEN_CASE_PREDICATE)
          for name, leading in (("ix_case_open_order", ()), ("ix_case_open_queue", ("queue",)),
                                ("ix_case_open_category", ("primary_category",)))),
        Index(
            "uq_case_open_person",
            "person_id",
            unique=True,
            sqlite_where=OPEN_CASE_PREDICATE,
            postgresql_where=OPEN_CASE_PREDICATE,
        ),
        Index("ix_case_assignee", "assignee_id", "status"),
        # "Has a case in one of my queues", from the index alone (migration 0024).
        Index("ix_case_person_queue", "person_id", "queue"),
    )

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(enum_column(), default=CaseStatus.OPEN.value)
    queue: Mapped[str] = mapped_column(String(64), default="general")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[datetime]
    primary_category: Mapped[str] = mapped_column(enum_column())
    categories: Mapped[dict[str, Any] | None]
    platform_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("platform.id"))
    language: Mapped[str | None] = mapped_column(String(16))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    reporter_count: Mapped[int] = mapped_column(Integer, default=0)
    # A report about a call still in progress puts the case in the live lane.
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    claimed_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(32))
    decided_category: Mapped[str | None] = mapped_column(String(32))
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    decided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship()
    reports: Mapped[list[Report]] = relationship(
        primaryjoin="Case.id == foreign(Report.case_id)", viewonly=True
    )
    notes: Mapped[list[CaseNote]] = relationship(order_by="CaseNote.created_at")


class CaseNote(IdMixin, CreatedMixin, Base):
    __tablename__ = "case_note"

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    moderator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    text: Mapped[str] = mapped_column(Text)
