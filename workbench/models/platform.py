"""The group's platforms: who may call the intake API and where webhooks go."""

from __future__ import annotations

from sqlalchemy import Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from workbench.models.base import Base, CreatedMixin, IdMixin


class Platform(IdMixin, CreatedMixin, Base):
    """A group platform (the calling app, the website, a sister app).

    The HMAC secret is needed in clear to check signatures, so it is kept encrypted
    with a key derived from the workbench's secret key (see ``workbench.crypto``).
    """

    __tablename__ = "platform"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    api_key_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Platform {self.slug}>"
