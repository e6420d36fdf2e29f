"""Where new cases go: the named queues' routing rules, as seniors set them in the console."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workbench.models.base import Base, BigId, CreatedMixin, IdMixin


class RoutingRule(IdMixin, CreatedMixin, Base):
    """One rule, tried in ``position`` order; the first that matches names the case's queue.

    Empty conditions match anything, so a rule with none is the catch-all.
    """

    __tablename__ = "routing_rule"

    position: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str] | None]
    languages: Mapped[list[str] | None]
    live: Mapped[bool | None] = mapped_column(Boolean)
    updated_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("moderator.id"))

    def as_rule(self) -> dict[str, object]:
        rule: dict[str, object] = {"queue": self.queue}
        if self.categories:
            rule["categories"] = list(self.categories)
        if self.languages:
            rule["languages"] = list(self.languages)
        if self.live is not None:
            rule["live"] = self.live
        return rule
