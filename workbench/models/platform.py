"""The group's platforms: who may call the intake API and where webhooks go."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from workbench.models.base import Base, CreatedMixin, IdMixin

#: The most deliveries one webhook request may carry.
WEBHOOK_BATCH_MAX = 500


class Platform(IdMixin, CreatedMixin, Base):
    """A group platform (the calling app, the website, a sister app).

    The HMAC secret is needed in clear to check signatures, so it is kept encrypted
    with a key derived from the workbench's secret key (see ``workbench.crypto``).
    """

    __tablename__ = "platform"
    __table_args__ = (CheckConstraint(
        f"webhook_batch BETWEEN 1 AND {WEBHOOK_BATCH_MAX}", name="webhook_batch"),)

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    api_key_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Deliveries sent to it in one webhook request at most. 1 (the default): one a
    #: request, an ``event: action`` body; more, for a platform that asked for it: up to
    #: that many in an ``event: actions`` body (docs/enforcement.md).
    webhook_batch: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    def __repr__(self) -> str:
        return f"<Platform {self.slug}>"
