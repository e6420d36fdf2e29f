"""What moderators and rules decide, and its delivery to every platform."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.enums import ActionStatus, AppealStatus, DeliveryEvent, DeliveryState
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column
from workbench.models.images import Image
from workbench.models.people import Person
from workbench.models.platform import Platform


class Action(IdMixin, CreatedMixin, Base):
    """A decision about a person (or one piece of their content), and who or what made it."""

    __tablename__ = "action"
    __table_args__ = (
        Index("ix_action_person", "person_id", "created_at"),
        Index("ix_action_expiry", "status", "ends_at"),
        Index("ix_action_review", "review_state", "created_at"),
    )

    type: Mapped[str] = mapped_column(enum_column())
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"), index=True)
    # Content removal and end_call target one item on one platform.
    platform_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("platform.id"))
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("message.id"))
    recording_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("recording.id"))
    call_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("call.id"))
    image_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("image.id"))
    ends_at: Mapped[datetime | None]
    policy_reason: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    facts: Mapped[str | None] = mapped_column(Text)
    note_to_user: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    decided_by_rule: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(enum_column(), default=ActionStatus.ACTIVE.value)
    reverses_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    reversed_by_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    #: A model's automated action waits for a senior's review (``ReviewState``); others None.
    review_state: Mapped[str | None] = mapped_column(enum_column(16))
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    reviewed_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()
    image: Mapped[Image | None] = relationship()
    deliveries: Mapped[list[EnforcementDelivery]] = relationship(
        back_populates="action", order_by="EnforcementDelivery.id"
    )
    statement: Mapped[StatementOfReasons | None] = relationship(back_populates="action")


class StatementOfReasons(IdMixin, CreatedMixin, Base):
    """The statement a restricted user receives (the fields of the DSA transparency database)."""

    __tablename__ = "statement_of_reasons"

    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("action.id"), unique=True)
    body: Mapped[dict[str, Any]]

    action: Mapped[Action] = relationship(back_populates="statement")


class EnforcementDelivery(IdMixin, CreatedMixin, Base):
    """One action (or case outcome) on its way to one platform.

    ``sequence`` counts upward per person and platform, so a platform can drop
    a delivery older than one it has already applied.
    """

    __tablename__ = "enforcement_delivery"
    __table_args__ = (
        # An action may reach a platform twice: again when an evading account turns up.
        Index("ix_enforcement_delivery_action", "action_id", "platform_id"),
        UniqueConstraint("case_id", "platform_id", "event"),
        UniqueConstraint("platform_id", "person_id", "sequence"),
        # The claim reads each platform's due deliveries in this order (actions/delivery.py).
        Index("ix_enforcement_delivery_due", "state", "platform_id", "next_attempt_at"),
    )

    # An outcome event for reporters may have no action (a dismissed case).
    action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"))
    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"))
    event: Mapped[str] = mapped_column(enum_column(), default=DeliveryEvent.ACTION.value)
    sequence: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(enum_column(), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    action: Mapped[Action | None] = relationship(back_populates="deliveries")
    platform: Mapped[Platform] = relationship()


class Appeal(IdMixin, Base):
    """A user's appeal against an action, decided by a different moderator."""

    __tablename__ = "appeal"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_appeal_id"),
        Index("ix_appeal_status", "status", "created_at"),
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_appeal_id: Mapped[str] = mapped_column(String(128))
    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("action.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("account.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(enum_column(), default=AppealStatus.OPEN.value)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]


class Strike(IdMixin, CreatedMixin, Base):
    """An upheld violation counted against a person until it expires or is overturned."""

    __tablename__ = "strike"
    __table_args__ = (Index("ix_strike_person", "person_id", "expires_at"),)

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"))
    action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("action.id"))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("case.id"))
    category: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
