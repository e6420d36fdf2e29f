"""Case policy: how severe each category is, how soon it is due, and where it is routed.

These are configuration, not law: the rules they follow keep changing. Each default
says where it comes from; override any of them with the ``WORKBENCH_DEADLINE_HOURS``,
``WORKBENCH_SEVERITY`` and ``WORKBENCH_ROUTING_RULES`` variables (JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.enums import Category
from workbench.models import RoutingRule
from workbench.settings import Settings

#: Hours from a report to the case's due time, per category.
#:
#: Sources (India, the platform's home jurisdiction):
#: - IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021, rule 3(2)(a):
#:   acknowledge a grievance within 24 h and resolve it within 15 days; the 2026 amendment
#:   shortened resolution to 7 days (168 h), the default for every category not named below.
#: - Rule 3(2)(b): content exposing a person's private area, nudity, sexual acts, or
#:   impersonation by morphed images (non-consensual intimate imagery): removal within
#:   24 h, shortened to 2 h by the 2026 amendment.
#: - Internal targets, shorter than any rule: threats to life, self-harm and child safety
#:   are handled within hours because the harm may be happening now. Extortion and
#:   sextortion too: the demand comes with a deadline of its own and victims are pushed
#:   towards paying or self-harm within hours (Bharatiya Nyaya Sanhita 2023 s.308).
DEFAULT_DEADLINE_HOURS: dict[str, float] = {
    Category.NCII.value: 2,
    Category.CHILD_SAFETY.value: 2,
    Category.SELF_HARM.value: 1,
    Category.VIOLENT_THREAT.value: 2,
    Category.EXTORTION.value: 2,
    Category.SEXUAL_CONTENT.value: 24,
    Category.UNDERAGE_USER.value: 24,
    Category.IMPERSONATION.value: 24,
    Category.BAN_EVASION.value: 24,
    Category.HATE.value: 72,
    Category.HARASSMENT.value: 72,
    Category.FRAUD.value: 72,
    Category.SPAM_SCAM.value: 168,
    Category.OTHER.value: 168,
}

#: How much a category weighs in a case's priority (0 to 10).
DEFAULT_SEVERITY: dict[str, float] = {
    Category.CHILD_SAFETY.value: 10,
    Category.NCII.value: 10,
    Category.SELF_HARM.value: 9,
    Category.VIOLENT_THREAT.value: 9,
    Category.EXTORTION.value: 9,
    Category.UNDERAGE_USER.value: 7,
    Category.SEXUAL_CONTENT.value: 6,
    Category.HATE.value: 6,
    Category.HARASSMENT.value: 5,
    Category.FRAUD.value: 5,
    Category.IMPERSONATION.value: 4,
    Category.BAN_EVASION.value: 6,
    Category.SPAM_SCAM.value: 2,
    Category.OTHER.value: 1,
}

#: Routing rules, first match wins. A rule matches on any of ``categories``,
#: ``languages`` or ``live``; an empty rule matches everything.
DEFAULT_ROUTING_RULES: list[dict[str, Any]] = [
    {"queue": "live", "live": True},
    {"queue": "urgent-safety", "categories": ["self_harm", "child_safety", "violent_threat",
                                              "ncii", "extortion"]},
    {"queue": "hindi", "languages": ["hi", "hi-Latn"]},
    {"queue": "general"},
]


@dataclass(frozen=True)
class CasePolicy:
    deadline_hours: dict[str, float]
    severity: dict[str, float]
    routing_rules: list[dict[str, Any]]
    #: The languages a case may be in (``WORKBENCH_LANGUAGES``); others are not assigned.
    languages: tuple[str, ...] = ("en", "hi", "hi-Latn")

    def deadline_for(self, category: str) -> float:
        return self.deadline_hours.get(category, self.deadline_hours[Category.OTHER.value])

    def severity_of(self, category: str) -> float:
        return self.severity.get(category, 1.0)

    def route(self, categories: list[str], language: str | None, live: bool) -> str:
        """The queue a case goes to: the first rule that matches."""
        for rule in self.routing_rules:
            if "live" in rule and bool(rule["live"]) != live:
                continue
            if "categories" in rule and not set(rule["categories"]) & set(categories):
                continue
            if "languages" in rule and language not in rule["languages"]:
                continue
            return str(rule["queue"])
        return "general"

    @property
    def queues(self) -> list[str]:
        return [str(r["queue"]) for r in self.routing_rules]


def case_policy(settings: Settings, session: Session | None = None) -> CasePolicy:
    """The policy from the defaults and the settings' overrides.

    With a session, the routing rules seniors saved in the console (if any) come first.
    """
    stored: list[dict[str, Any]] = []
    if session is not None:
        stored = [r.as_rule() for r in session.scalars(
            select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))]
    return CasePolicy(
        deadline_hours={**DEFAULT_DEADLINE_HOURS, **settings.deadline_hours},
        severity={**DEFAULT_SEVERITY, **settings.severity},
        routing_rules=stored or list(settings.routing_rules) or DEFAULT_ROUTING_RULES,
        languages=tuple(settings.languages) or CasePolicy.languages,
    )
