"""The welfare path: for a person who may harm themselves, safety resources come first.

A ``welfare_check`` action goes to every platform the person is on, through the same
deliveries as any other action, and carries the helplines to show them. It is not a
violation: no strike, no statement of reasons. On a case about a welfare category, a
punitive decision is still possible, but only with a written reason (checked here, on
the server, whatever the page offered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from workbench.enums import ActionType, Category

#: Categories whose cases offer safety resources first (``WORKBENCH_WELFARE_CATEGORIES``).
DEFAULT_WELFARE_CATEGORIES: tuple[str, ...] = (Category.SELF_HARM.value,)
#: Helplines sent with a welfare check (``WORKBENCH_WELFARE_HELPLINES``): India's national
#: tele mental health line by default.
DEFAULT_HELPLINES: tuple[dict[str, str], ...] = (
    {"name": "Tele-MANAS", "number": "14416", "region": "IN",
     "hours": "24x7", "languages": "20+ Indian languages"},
)
#: The policy reason a welfare check is recorded under.
WELFARE_REASON = Category.SELF_HARM.value
#: Decisions that are not punitive: what a welfare case may take without a written reason.
NOT_PUNITIVE = {ActionType.WELFARE_CHECK}
#: The longest written reason kept.
MAX_REASON = 2000


class WelfareError(ValueError):
    """A welfare setting or decision is not acceptable; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WelfarePolicy:
    """Which categories take the welfare path, and the helplines a welfare check sends."""

    categories: frozenset[str]
    helplines: tuple[dict[str, str], ...]

    @classmethod
    def from_config(cls, categories: Iterable[Any] | None = None,
                    helplines: Iterable[Any] | None = None) -> WelfarePolicy:
        """Build from the settings' lists (empty means the defaults).

        Raises:
            WelfareError: an unknown category, or a helpline without a name and number.
        """
        cats = [str(c) for c in (categories or DEFAULT_WELFARE_CATEGORIES)]
        known = {c.value for c in Category}
        unknown = [c for c in cats if c not in known]
        if unknown:
            raise WelfareError(f"unknown category {unknown[0]!r}", "categories")
        lines = []
        for line in helplines or DEFAULT_HELPLINES:
            if not isinstance(line, dict) or not line.get("name") or not line.get("number"):
                raise WelfareError("each helpline needs a name and a number", "helplines")
            lines.append({str(k): str(v) for k, v in line.items()})
        return cls(frozenset(cats), tuple(lines))

    def applies(self, categories: Iterable[str]) -> bool:
        """Whether a case reported for these categories takes the welfare path."""
        return bool(self.categories & set(categories))

    def check_decision(self, categories: Iterable[str], action: ActionType | None,
                       why: str | None) -> None:
        """Refuse a punitive action on a welfare case that gives no written reason.

        Raises:
            WelfareError: the action is punitive, the case is a welfare case, and ``why``
                is empty.
        """
        if action is None or action in NOT_PUNITIVE or not self.applies(categories):
            return
        if not (why or "").strip():
            raise WelfareError(
                "this case is about a person at risk: send safety resources first, or say "
                "why a punitive action is needed instead", "why_not_welfare")

    def resources(self) -> list[dict[str, str]]:
        """The helplines as the webhook carries them."""
        return [dict(line) for line in self.helplines]
