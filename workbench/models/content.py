"""What people said and did: conversations, messages, calls and recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.enums import ContentStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from workbench.models.people import Account


class Conversation(IdMixin, CreatedMixin, Base):
    """A 1:1 chat or a room, under the platform's own conversation id."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("platform_id", "platform_conversation_id"),)

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_conversation_id: Mapped[str] = mapped_column(String(128))
    room_id: Mapped[str | None] = mapped_column(String(128))


class Message(IdMixin, Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_message_id"),
        Index("ix_message_conversation_sent", "conversation_id", "sent_at"),
        Index("ix_message_sender_sent", "sender_account_id", "sent_at"),
        # Word search walks messages newest first (migration 0024).
        Index("ix_message_sent", "sent_at", "id"),
        # Room on each page for the classify job's update of every message on it, and
        # no index on ``status``: the update is HOT (migration 0026).
        {"postgresql_with": {"fillfactor": 50}},
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_message_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversation.id"))
    sender_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    recipient_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"))
    room_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(enum_column(), default=ContentStatus.PENDING.value)
    removed_at: Mapped[datetime | None]

    sender: Mapped[Account] = relationship(foreign_keys=[sender_account_id])
    conversation: Mapped[Conversation] = relationship()


class Call(IdMixin, CreatedMixin, Base):
    """A 1:1 audio or video call; ``ended_at`` is empty while it is in progress."""

    __tablename__ = "call"
    __table_args__ = (UniqueConstraint("platform_id", "platform_call_id"),)

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_call_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    participants: Mapped[list[CallParticipant]] = relationship(cascade="all, delete-orphan")


class CallParticipant(Base):
    __tablename__ = "call_participant"

    call_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("call.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"), primary_key=True)
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class Recording(IdMixin, Base):
    """A voice intro, call or room recording; the audio itself is a content-addressed blob."""

    __tablename__ = "recording"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_recording_id"),
        Index("ix_recording_owner", "owner_account_id"),
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_recording_id: Mapped[str] = mapped_column(String(128))
    owner_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    kind: Mapped[str] = mapped_column(enum_column())
    call_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("call.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    speech_ratio: Mapped[float | None] = mapped_column(Float)
    transcript: Mapped[str | None] = mapped_column(Text)
    #: ``classifiers.audio.TranscriptStatus``: ``no_transcript_language`` is speech the
    #: English recogniser cannot transcribe (not scored; listen to it). None before analysis.
    transcript_status: Mapped[str | None] = mapped_column(String(32))
    words: Mapped[dict[str, Any] | None]
    keyword_hits: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(enum_column(), default=ContentStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    received_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    owner: Mapped[Account] = relationship()
    segments: Mapped[list[RecordingSegment]] = relationship(
        order_by="RecordingSegment.start_s", cascade="all, delete-orphan"
    )


class RecordingSegment(IdMixin, Base):
    """A stretch of speech in a recording, with its transcript and scores."""

    __tablename__ = "recording_segment"

    recording_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("recording.id", ondelete="CASCADE"), index=True
    )
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    transcript: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[dict[str, Any] | None]
