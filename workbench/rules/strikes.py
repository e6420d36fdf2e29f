"""The strike ladder (``WORKBENCH_STRIKE_THRESHOLDS``): how long a strike counts and what
each count of strikes in force leads to. Strikes are written and the steps taken by
``actions.strikes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from workbench.enums import ActionType

#: How long an upheld violation counts against a person (the thresholds' window).
STRIKE_LIFETIME = timedelta(days=90)

#: Actions a threshold may take: lasting actions on the whole person.
STEP_ACTIONS = {ActionType.WARN, ActionType.MUTE, ActionType.RESTRICT_CALLS,
                ActionType.SUSPEND, ActionType.BAN}

#: The default ladder: 2 strikes in 90 days suspend for a day, 3 for a week, 4 for 30 days,
#: and 5 propose a ban to a senior (a ban is a senior's decision, never a rule's by default).
DEFAULT_THRESHOLDS: tuple[dict[str, Any], ...] = (
    {"strikes": 2, "action": "suspend", "days": 1, "mode": "apply"},
    {"strikes": 3, "action": "suspend", "days": 7, "mode": "apply"},
    {"strikes": 4, "action": "suspend", "days": 30, "mode": "apply"},
    {"strikes": 5, "action": "ban", "mode": "propose"},
)


class StrikeConfigError(ValueError):
    """The thresholds configuration is not valid; the message says which entry and why."""


class StepMode(StrEnum):
    #: Put the step to a senior; nothing happens until one decides.
    PROPOSE = "propose"
    #: Apply the step at once, decided by the rule ``strikes``.
    APPLY = "apply"


@dataclass(frozen=True)
class Threshold:
    """At ``strikes`` strikes in force, take ``action`` (for ``duration``, if timed)."""

    strikes: int
    action: ActionType
    mode: StepMode
    duration: timedelta | None = None

    def describe(self) -> str:
        verb = self.action.value.replace("_", " ")
        if self.duration is None:
            return verb
        days = self.duration / timedelta(days=1)
        return f"{verb} for {days:g} day{'s' * (days != 1)}"


def _threshold(index: int, raw: Any) -> Threshold:
    where = f"threshold {index}"
    if not isinstance(raw, dict):
        raise StrikeConfigError(f"{where}: expected an object")
    unknown = set(raw) - {"strikes", "action", "days", "mode"}
    if unknown:
        raise StrikeConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    strikes = raw.get("strikes")
    if not isinstance(strikes, int) or isinstance(strikes, bool) or strikes < 1:
        raise StrikeConfigError(f"{where}: 'strikes' must be a whole number of at least 1")
    try:
        action = ActionType(str(raw.get("action")))
        mode = StepMode(str(raw.get("mode", StepMode.PROPOSE.value)))
    except ValueError as exc:
        raise StrikeConfigError(f"{where}: {exc}") from None
    if action not in STEP_ACTIONS:
        raise StrikeConfigError(f"{where}: a threshold cannot {action.value}")
    days = raw.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                             or days <= 0):
        raise StrikeConfigError(f"{where}: 'days' must be a positive number")
    if action is ActionType.SUSPEND and days is None:
        raise StrikeConfigError(f"{where}: a suspension needs 'days'")
    if action in {ActionType.WARN, ActionType.BAN} and days is not None:
        raise StrikeConfigError(f"{where}: a {action.value} takes no 'days'")
    return Threshold(strikes, action, mode, timedelta(days=days) if days else None)


@dataclass(frozen=True)
class StrikePolicy:
    """The thresholds, lowest first, and how long a strike counts."""

    thresholds: tuple[Threshold, ...]
    lifetime: timedelta = STRIKE_LIFETIME

    @classmethod
    def from_config(cls, raw: list[Any] | None) -> StrikePolicy:
        """Parse the ``strike_thresholds`` setting; empty or ``None`` means the defaults.

        Raises:
            StrikeConfigError: an entry is malformed, or two share a strike count.
        """
        entries = list(raw) if raw else list(DEFAULT_THRESHOLDS)
        thresholds = sorted((_threshold(i, r) for i, r in enumerate(entries)),
                            key=lambda t: t.strikes)
        counts = [t.strikes for t in thresholds]
        if len(set(counts)) != len(counts):
            raise StrikeConfigError("two thresholds share the same number of strikes")
        return cls(tuple(thresholds))

    def step_for(self, active: int) -> Threshold | None:
        """The highest threshold the count of strikes in force has reached."""
        reached = [t for t in self.thresholds if t.strikes <= active]
        return reached[-1] if reached else None


DEFAULT_POLICY = StrikePolicy.from_config(None)
