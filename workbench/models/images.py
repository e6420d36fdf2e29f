"""Images from the platforms, the hash banks they are matched against, and the matches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.enums import ContentStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from workbench.models.people import Account


class Image(IdMixin, Base):
    """A profile photo, chat or room image, or a frame of a video call.

    The bytes are a content-addressed blob (``blob_sha256``), kept as uploaded for
    evidence; ``display_sha256`` is a re-encoded copy without metadata (no EXIF or GPS)
    for the console. Conversation, message and room are the platform's own ids, kept
    even before (or without) the content arriving.
    """

    __tablename__ = "image"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_image_id"),
        Index("ix_image_owner", "owner_account_id"),
        Index("ix_image_status", "status"),
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_image_id: Mapped[str] = mapped_column(String(128))
    owner_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    kind: Mapped[str] = mapped_column(enum_column())
    platform_conversation_id: Mapped[str | None] = mapped_column(String(128))
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    room_id: Mapped[str | None] = mapped_column(String(128))
    call_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("call.id"), index=True)
    # A video frame sent while its call goes on: a flagged frame puts the case in the live lane.
    call_in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    display_sha256: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    pdq: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    nudity_score: Mapped[float | None] = mapped_column(Float)
    nudity_labels: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(enum_column(), default=ContentStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime]
    received_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    owner: Mapped[Account] = relationship()


class HashBank(IdMixin, CreatedMixin, Base):
    """A named list of hashes of known images, with a category and what a match does.

    ``action_rule`` is a JSON object, e.g. ``{"actions": ["remove_content", "suspend"]}``;
    an empty rule only opens a report for a moderator.
    """

    __tablename__ = "hash_bank"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(enum_column())
    action_rule: Mapped[dict[str, Any] | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))

    entries: Mapped[list[BankEntry]] = relationship(back_populates="bank")


class BankEntry(IdMixin, CreatedMixin, Base):
    """One banked image: its PDQ hash, and (when the image itself was banked) the hashes
    of its central and banner crops, which catch copies PDQ alone misses."""

    __tablename__ = "bank_entry"
    __table_args__ = (UniqueConstraint("bank_id", "pdq"),)

    bank_id: Mapped[int] = mapped_column(BigId, ForeignKey("hash_bank.id", ondelete="CASCADE"),
                                         index=True)
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    quality: Mapped[int | None] = mapped_column(Integer)
    # [[region, hex], ...] beside the whole-image hash; empty for imported hash lists.
    crop_hashes: Mapped[list[Any] | None]
    source_image_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("image.id"))
    added_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    # Where the hash came from: a file name, an import, an external list's id.
    source: Mapped[str | None] = mapped_column(String(300))
    # When an exchange withdrew the hash (a StopNCII case withdrawn, an NCMEC entry
    # deleted): it no longer matches, and is kept for the matches it made.
    withdrawn_at: Mapped[datetime | None]

    bank: Mapped[HashBank] = relationship(back_populates="entries")


class ExchangeCheckpoint(IdMixin, Base):
    """How far a bank has fetched an exchange's hash list (StopNCII, NCMEC): the
    exchange's own checkpoint as JSON, so the next fetch asks only for what is new."""

    __tablename__ = "exchange_checkpoint"
    __table_args__ = (UniqueConstraint("exchange", "bank_id"),)

    exchange: Mapped[str] = mapped_column(String(32))
    bank_id: Mapped[int] = mapped_column(BigId, ForeignKey("hash_bank.id", ondelete="CASCADE"))
    checkpoint: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime]
    # Totals over every fetch into this bank: hashes added and withdrawn.
    added: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)


class ImageMatch(IdMixin, CreatedMixin, Base):
    """An image found near a bank entry: the distance, and which hashes met."""

    __tablename__ = "image_match"
    __table_args__ = (UniqueConstraint("image_id", "bank_entry_id"),)

    image_id: Mapped[int] = mapped_column(BigId, ForeignKey("image.id", ondelete="CASCADE"),
                                          index=True)
    bank_entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("bank_entry.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(BigId, ForeignKey("hash_bank.id", ondelete="CASCADE"))
    distance: Mapped[int] = mapped_column(Integer)
    query_region: Mapped[str] = mapped_column(String(32))
    bank_region: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("report.id"))
