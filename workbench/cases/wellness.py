"""Moderator wellness: how distressing media is shown, how much of it a day, and a hand-off.

Preferences live in ``Moderator.settings["wellness"]`` (blur images and video until
clicked, greyscale, mute audio until played; all on by default). Which categories are
distressing, and when a moderator's day starts, are configuration
(``WORKBENCH_DISTRESSING_CATEGORIES``, ``WORKBENCH_WELLNESS_DAY_START``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.enums import OPEN_CASE_STATUSES, CaseStatus
from workbench.models import Case, Moderator, utcnow
from workbench.models.audit import record
from workbench.rules.wellness import (
    WellnessError,
    WellnessPolicy,
)

#: The key under ``Moderator.settings`` this module owns.
SETTINGS_KEY = "wellness"


@dataclass(frozen=True)
class Preferences:
    """How the console shows media to one moderator."""

    #: Images and video blurred until clicked.
    blur_media: bool = True
    #: Images and video in greyscale.
    greyscale: bool = True
    #: Audio muted until played.
    mute_audio: bool = True


DEFAULT_POLICY = WellnessPolicy()


def _case_categories(case: Any) -> list[str | None]:
    return [case.primary_category, case.decided_category, *(case.categories or {})]


def _wellness(moderator: Moderator) -> dict[str, Any]:
    return dict((moderator.settings or {}).get(SETTINGS_KEY) or {})


def _save(moderator: Moderator, wellness: dict[str, Any]) -> None:
    # The JSON column is not mutation-tracked: assign a new dict so the change is saved.
    moderator.settings = {**(moderator.settings or {}), SETTINGS_KEY: wellness}


def _moderator(session: Session, moderator_id: int) -> Moderator:
    moderator = session.get(Moderator, moderator_id)
    if moderator is None:
        raise WellnessError(f"no moderator {moderator_id}", "moderator_id")
    return moderator


def preferences(session: Session, moderator_id: int) -> Preferences:
    """The moderator's media preferences (every protection on until they turn it off)."""
    stored = _wellness(_moderator(session, moderator_id)).get("preferences") or {}
    return Preferences(**{f.name: bool(stored.get(f.name, f.default)) for f in fields(Preferences)})


def update_preferences(session: Session, moderator_id: int,
                       changes: dict[str, Any]) -> Preferences:
    """Change some preferences (``{"blur_media": False}``); audited. Unknown keys are refused."""
    names = {f.name for f in fields(Preferences)}
    for key, value in changes.items():
        if key not in names:
            raise WellnessError(f"unknown preference {key!r}", key)
        if not isinstance(value, bool):
            raise WellnessError(f"{key} must be true or false", key)
    moderator = _moderator(session, moderator_id)
    updated = Preferences(**{**asdict(preferences(session, moderator_id)), **changes})
    _save(moderator, {**_wellness(moderator), "preferences": asdict(updated)})
    record(session, "moderator.wellness_changed", "moderator", moderator_id,
           actor_type="moderator", actor_id=str(moderator_id), data=dict(changes))
    return updated


def distressing_decided_today(session: Session, moderator_id: int,
                              policy: WellnessPolicy = DEFAULT_POLICY,
                              now: datetime | None = None) -> int:
    """How many distressing cases the moderator decided since the day started."""
    start, end = policy.day(now or utcnow())
    rows = session.execute(
        select(Case.primary_category, Case.decided_category, Case.categories)
        .where(Case.decided_by_id == moderator_id, Case.decided_at >= start,
               Case.decided_at < end)
    ).all()
    return sum(1 for row in rows if policy.is_distressing(_case_categories(row)))


@dataclass(frozen=True)
class HandOff:
    """A moderator's hand-off of distressing work for the rest of the day."""

    categories: frozenset[str]
    until: datetime
    #: Cases the moderator had claimed that went back to the queue.
    released_case_ids: list[int]


def hand_off(session: Session, moderator_id: int, policy: WellnessPolicy = DEFAULT_POLICY,
             categories: Iterable[str] | None = None,
             now: datetime | None = None) -> HandOff:
    """Hand off distressing work until the day ends: claimed cases go back to the queue.

    ``categories`` narrows the hand-off (default: every distressing category). The
    claim-next code skips these categories for the moderator (``excluded_categories``)
    until the day ends or they resume. The caller commits.
    """
    now = now or utcnow()
    chosen = frozenset(categories) if categories is not None else policy.categories
    if not chosen or not chosen <= policy.categories:
        raise WellnessError("choose distressing categories to hand off", "categories")
    moderator = _moderator(session, moderator_id)
    released = []
    for case in session.scalars(
        select(Case).where(Case.assignee_id == moderator_id,
                           Case.status.in_(OPEN_CASE_STATUSES)).with_for_update()
    ):
        if any(c in chosen for c in _case_categories(case) if c):
            if case.status == CaseStatus.CLAIMED.value:
                case.status = CaseStatus.OPEN.value
            case.assignee_id = None
            case.claimed_at = None
            released.append(case.id)
    _, until = policy.day(now)
    _save(moderator, {**_wellness(moderator),
                      "hand_off": {"categories": sorted(chosen), "until": until.isoformat()}})
    record(session, "moderator.handed_off", "moderator", moderator_id, actor_type="moderator",
           actor_id=str(moderator_id), data={"categories": sorted(chosen),
                                             "until": until.isoformat(),
                                             "released_case_ids": released})
    return HandOff(chosen, until, released)


def excluded_categories(session: Session, moderator_id: int,
                        now: datetime | None = None) -> set[str]:
    """The categories claim-next skips for this moderator now (handed off until the day ends)."""
    moderator = session.get(Moderator, moderator_id)
    handed = _wellness(moderator).get("hand_off") if moderator is not None else None
    if not handed or datetime.fromisoformat(handed["until"]) <= (now or utcnow()):
        return set()
    return set(handed["categories"])


def resume(session: Session, moderator_id: int) -> None:
    """End a hand-off early: distressing cases are offered again. Audited."""
    moderator = _moderator(session, moderator_id)
    wellness = _wellness(moderator)
    if wellness.pop("hand_off", None) is None:
        return
    _save(moderator, wellness)
    record(session, "moderator.resumed", "moderator", moderator_id, actor_type="moderator",
           actor_id=str(moderator_id))


@dataclass(frozen=True)
class WellnessOverview:
    """What the console shows a moderator: preferences, today's count, any hand-off."""

    preferences: Preferences
    distressing_today: int
    excluded: set[str]


def overview(session: Session, moderator_id: int, policy: WellnessPolicy = DEFAULT_POLICY,
             now: datetime | None = None) -> WellnessOverview:
    return WellnessOverview(preferences(session, moderator_id),
                            distressing_decided_today(session, moderator_id, policy, now),
                            excluded_categories(session, moderator_id, now))
