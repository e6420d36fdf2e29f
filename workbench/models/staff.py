"""The people who use the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.enums import Role
from workbench.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column


class Moderator(IdMixin, CreatedMixin, Base):
    """A console user: a moderator, a senior, the legal team or an administrator."""

    __tablename__ = "moderator"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(enum_column(), default=Role.MODERATOR.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    languages: Mapped[list[str] | None]
    settings: Mapped[dict[str, Any] | None]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    #: Stored in every session at sign-in; raising it ends all of this user's sessions at
    #: once (sign-out, password change, role change, deactivation, an administrator).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<Moderator {self.email} {self.role}>"


class SignInThrottle(IdMixin, Base):
    """Failed sign-ins to one account from one address, and how long that address waits.

    Locking per address and account means a stranger who guesses wrong locks out only
    themselves; the account-wide count on ``Moderator`` has a higher limit.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("moderator_id", "address"),)

    moderator_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("moderator.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Failures older than the lockout time are forgotten, so typos over months add nothing.
    last_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
