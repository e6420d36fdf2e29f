"""What the console's depth features keep: reporter marks, bulk decisions, daily figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow
from workbench.models.enforcement import Action
from workbench.models.reports import Case


class ReporterMark(IdMixin, CreatedMixin, Base):
    """A senior's judgement that a reporter account abuses reporting; their reports sink.

    Clearing a mark keeps the row (``cleared_at``), so the history of marks stays visible;
    a partial unique index allows one mark in force per account.
    """

    __tablename__ = "reporter_mark"
    __table_args__ = (
        Index(
            "uq_reporter_mark_active",
            "account_id",
            unique=True,
            sqlite_where=sql_text("cleared_at IS NULL"),
            postgresql_where=sql_text("cleared_at IS NULL"),
        ),
        Index("ix_reporter_mark_account", "account_id", "created_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    reason: Mapped[str] = mapped_column(Text)
    marked_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("moderator.id"))
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    clear_reason: Mapped[str | None] = mapped_column(Text)


class BulkOperation(IdMixin, CreatedMixin, Base):
    """One decision a senior applied to many cases at once, and whether it was undone."""

    __tablename__ = "bulk_operation"

    moderator_id: Mapped[int] = mapped_column(BigId, ForeignKey("moderator.id"), index=True)
    decision: Mapped[str] = mapped_column(String(32))
    # The action applied to each case's person: type, duration, policy reason.
    action_template: Mapped[dict[str, Any] | None]
    reason: Mapped[str] = mapped_column(Text)
    case_count: Mapped[int] = mapped_column(Integer, default=0)
    decided_count: Mapped[int] = mapped_column(Integer, default=0)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))

    items: Mapped[list[BulkOperationItem]] = relationship(
        back_populates="operation", order_by="BulkOperationItem.id"
    )


class BulkOperationItem(IdMixin, Base):
    """What a bulk decision did to one case: enough to reverse it exactly."""

    __tablename__ = "bulk_operation_item"
    __table_args__ = (UniqueConstraint("bulk_id", "case_id"),)

    bulk_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("bulk_operation.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    #: ``decided``, ``failed`` (nothing was done; see ``error``) or ``undone``.
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    # The next step the strike thresholds applied, if any (reversed with the rest).
    step_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    strike_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("strike.id"))
    delivery_ids: Mapped[list[Any] | None]
    undo_delivery_ids: Mapped[list[Any] | None]

    operation: Mapped[BulkOperation] = relationship(back_populates="items")


class DailyFigure(Base):
    """One pre-aggregated dashboard figure: ``metric`` for ``key`` on ``day`` (UTC).

    The maintenance job rewrites today's and yesterday's rows; the dashboard reads only
    these, so drawing it never scans the reports, cases or actions.
    """

    __tablename__ = "daily_figure"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DashboardChart(Base):
    """A dashboard chart drawn by the figures job, so that a view only reads it."""

    __tablename__ = "dashboard_chart"

    #: The window it covers (the last ``days`` days, today included).
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    svg: Mapped[str] = mapped_column(Text)
    csv: Mapped[str] = mapped_column(Text)
    #: The figures it was drawn from (window and last change): stale when they move on.
    figures_key: Mapped[str] = mapped_column(String(200))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)


# Range scans by day for the figures and the wellness count, on tables defined elsewhere.
Index("ix_action_created", Action.created_at)
Index("ix_case_decided", Case.decided_at)
Index("ix_case_decided_by", Case.decided_by_id, Case.decided_at)
