"""People and their accounts across the group."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.enums import AccountStatus
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from workbench.models.platform import Platform


class Person(IdMixin, CreatedMixin, Base):
    """One human across the group, known through the accounts linked to them.

    When a new link joins two people, the newer one is merged into the older and
    keeps ``merged_into_id`` so that references to it can be followed.
    """

    __tablename__ = "person"

    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_reasons: Mapped[dict[str, Any] | None]
    risk_scored_at: Mapped[datetime | None]

    accounts: Mapped[list[Account]] = relationship(back_populates="person")

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class Account(IdMixin, CreatedMixin, Base):
    """A user on one platform, under the platform's own user id."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_user_id"),
        # Search by a bare platform user id, the platform not named (migration 0025).
        Index("ix_account_platform_user_id", "platform_user_id"),
    )

    platform_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform.id"))
    platform_user_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(200))
    phone_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    gender: Mapped[str | None] = mapped_column(String(32))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    languages: Mapped[list[str] | None]
    status: Mapped[str] = mapped_column(enum_column(), default=AccountStatus.ACTIVE.value)
    # A stub is created when a report or message names a user the platform has not sent yet.
    is_stub: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    platform: Mapped[Platform] = relationship()
    person: Mapped[Person] = relationship(back_populates="accounts")
    devices: Mapped[list[AccountDevice]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )

    @property
    def device_ids(self) -> list[str]:
        return [d.device_id for d in self.devices]

    def __repr__(self) -> str:
        return f"<Account {self.platform_id}:{self.platform_user_id}>"


class AccountDevice(Base):
    """A device id seen on an account; shared device ids link accounts to one person."""

    __tablename__ = "account_device"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[str] = mapped_column(String(200), primary_key=True)

    account: Mapped[Account] = relationship(back_populates="devices")

    __table_args__ = (Index("ix_account_device_device_id", "device_id"),)
