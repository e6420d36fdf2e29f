"""How long each kind of legal ask may take to answer (``WORKBENCH_LEGAL_DEADLINE_HOURS``).

The table is configuration, not law; the defaults and their sources are in
``DEFAULT_DEADLINE_HOURS``. Requests themselves are recorded by ``actions.legal_requests``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.models.legal import LegalAsk

SETTING = "WORKBENCH_LEGAL_DEADLINE_HOURS"

#: Hours to answer each kind of ask, counted from receipt.
#:
#: - ``takedown``: IT Rules 2021 rule 3(1)(d), removal on a court order or a government
#:   notification within 36 h; 3 h after the 2026 amendment.
#: - ``disclose``: IT Rules 2021 rule 3(1)(j), information to a lawfully authorised
#:   agency within 72 h of its order.
#: - ``preserve``: no rule sets a time; the hold is placed at once and the workbench aims
#:   to confirm within 24 h (an internal target). The data is then kept beyond the
#:   180 days of rule 3(1)(g) for as long as the authority asks.
DEFAULT_DEADLINE_HOURS: dict[str, float] = {
    LegalAsk.TAKEDOWN.value: 3,
    LegalAsk.DISCLOSE.value: 72,
    LegalAsk.PRESERVE.value: 24,
}


class LegalRequestError(ValueError):
    """A request cannot be recorded or closed as given; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def deadline_hours(overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The defaults with ``overrides`` (the setting's JSON object) applied and checked."""
    table = {**DEFAULT_DEADLINE_HOURS, **(overrides or {})}
    for ask, hours in table.items():
        if ask not in DEFAULT_DEADLINE_HOURS:
            raise LegalRequestError(f"{SETTING}: unknown ask {ask!r} (known: "
                                    f"{', '.join(DEFAULT_DEADLINE_HOURS)})")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
            raise LegalRequestError(f"{SETTING}: {ask} must be a positive number of hours, "
                                    f"got {hours!r}")
    return {k: float(v) for k, v in table.items()}
