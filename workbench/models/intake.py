"""Bookkeeping for the intake path: the outbox and seen signatures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.models.base import Base, BigId, CreatedMixin, IdMixin


class OutboxBatch(IdMixin, CreatedMixin, Base):
    """A batch written with the items it names, then enqueued (the outbox).

    If Redis is down when the request ends, the batch stays unenqueued and the
    sweeper enqueues it later; ``processed_at`` makes the job idempotent.
    """

    __tablename__ = "outbox_batch"
    __table_args__ = (Index("ix_outbox_batch_pending", "processed_at", "created_at"),)

    platform_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("platform.id"))
    kind: Mapped[str] = mapped_column(String(32))
    item_ids: Mapped[dict[str, Any]]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class SeenSignature(IdMixin, Base):
    """A request signature already accepted, to refuse its replay (kept a few minutes)."""

    __tablename__ = "seen_signature"
    __table_args__ = (UniqueConstraint("platform_id", "signature"),)

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    signature: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(index=True)
