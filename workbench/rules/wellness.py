"""Which categories are distressing to review and when a moderator's day starts
(``WORKBENCH_DISTRESSING_CATEGORIES``, ``WORKBENCH_WELLNESS_DAY_START``). The
moderators' own preferences and the daily counts are ``workbench.cases.wellness``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from workbench.enums import Category

if TYPE_CHECKING:
    from workbench.settings import Settings

#: Categories whose content is distressing to review, by default.
DEFAULT_DISTRESSING: frozenset[str] = frozenset({
    Category.CHILD_SAFETY.value, Category.SELF_HARM.value, Category.VIOLENT_THREAT.value,
    Category.NCII.value, Category.SEXUAL_CONTENT.value,
})


_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class WellnessError(ValueError):
    """A preference or setting is not valid; ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def distressing_categories(settings: Settings) -> frozenset[str]:
    """The configured distressing categories (the defaults when the setting is empty)."""
    raw = settings.distressing_categories
    if not raw:
        return DEFAULT_DISTRESSING
    known = {c.value for c in Category}
    unknown = [c for c in raw if c not in known]
    if unknown:
        raise WellnessError(f"unknown category {unknown[0]!r}", "distressing_categories")
    return frozenset(str(c) for c in raw)


def day_start_offset(settings: Settings) -> timedelta:
    """The configured start of a moderator's day, as time after UTC midnight."""
    match = _HH_MM.match(settings.wellness_day_start)
    if not match:
        raise WellnessError(f"expected HH:MM (UTC), got {settings.wellness_day_start!r}",
                            "wellness_day_start")
    return timedelta(hours=int(match[1]), minutes=int(match[2]))


@dataclass(frozen=True)
class WellnessPolicy:
    """Which categories are distressing, and when the day starts (after UTC midnight)."""

    categories: frozenset[str] = DEFAULT_DISTRESSING
    day_start: timedelta = timedelta(0)

    @classmethod
    def from_settings(cls, settings: Settings) -> WellnessPolicy:
        return cls(distressing_categories(settings), day_start_offset(settings))

    def day(self, now: datetime) -> tuple[datetime, datetime]:
        """The start and end of the moderator day that ``now`` falls in."""
        shifted = now.astimezone(UTC) - self.day_start
        start = shifted.replace(hour=0, minute=0, second=0, microsecond=0) + self.day_start
        return start, start + timedelta(days=1)

    def is_distressing(self, case_categories: Iterable[str | None]) -> bool:
        return any(c in self.categories for c in case_categories if c)
