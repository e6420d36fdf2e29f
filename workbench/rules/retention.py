"""How long each kind of data is kept (``WORKBENCH_RETENTION_DAYS``).

The defaults follow India's IT Rules 2021: content and the information collected with
it are kept 180 days (rule 3(1)(g) for removed content, counted from its removal;
rule 3(1)(h) for a cancelled registration, counted from the deletion), and the audit
log is kept for at least a year and, unless configured, never purged. The purge that
enforces them is ``actions.retention``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SETTING = "WORKBENCH_RETENTION_DAYS"

#: Days each kind of data is kept; ``audit_events`` None means never purged.
DEFAULT_RETENTION_DAYS: dict[str, int | None] = {
    "messages": 180,
    "recordings": 180,
    "images": 180,
    "removed_content": 180,
    "deleted_accounts": 180,
    "audit_events": None,
}

#: The audit log is never purged younger than this, whatever the configuration says
#: (on PostgreSQL the table's trigger enforces the same floor).
AUDIT_MIN_DAYS = 365


class RetentionError(ValueError):
    """The retention configuration is wrong; the message names the setting."""


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep each kind of data (see ``DEFAULT_RETENTION_DAYS``)."""

    messages: int = 180
    recordings: int = 180
    images: int = 180
    removed_content: int = 180
    deleted_accounts: int = 180
    audit_events: int | None = None


def retention_policy(overrides: Mapping[str, Any] | None = None) -> RetentionPolicy:
    """The defaults with ``overrides`` (the setting's JSON object) applied and checked."""
    values: dict[str, Any] = {**DEFAULT_RETENTION_DAYS, **(overrides or {})}
    unknown = sorted(set(values) - set(DEFAULT_RETENTION_DAYS))
    if unknown:
        raise RetentionError(f"{SETTING}: unknown data type {unknown[0]!r} (known: "
                             f"{', '.join(DEFAULT_RETENTION_DAYS)})")
    for key, days in values.items():
        if key == "audit_events" and days is None:
            continue
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise RetentionError(f"{SETTING}: {key} must be a whole number of days, got "
                                 f"{days!r}")
    audit = values["audit_events"]
    if audit is not None and audit < AUDIT_MIN_DAYS:
        raise RetentionError(f"{SETTING}: audit_events must be at least {AUDIT_MIN_DAYS} days "
                             f"(or null to keep them), got {audit}")
    return RetentionPolicy(**values)
