"""The scheduled fetch of the hash exchanges (StopNCII, NCMEC) into their banks."""

from __future__ import annotations

from queues.context import in_app_context
from workbench.current import settings
from workbench.extensions import db
from workbench.imagebanks.exchanges import fetch_due


@in_app_context
def fetch_exchanges() -> dict[str, str]:
    """Fetch each configured exchange whose last fetch is due; what each one did."""

    return fetch_due(db.session, settings())
