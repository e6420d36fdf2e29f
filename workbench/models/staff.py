"""The people who use the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workbench.enums import Role
from workbench.models.base import Base, CreatedMixin, IdMixin, enum_column


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

    def __repr__(self) -> str:
        return f"<Moderator {self.email} {self.role}>"
