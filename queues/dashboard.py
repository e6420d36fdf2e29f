"""The dashboard's job: recount today and yesterday from the big tables, draw the charts."""

from __future__ import annotations

import logging

from queues.context import in_app_context
from workbench.extensions import db

log = logging.getLogger(__name__)

#: Days recounted on each run: today, and yesterday for what arrived late or was decided
#: after midnight.
REFRESH_DAYS = 2


@in_app_context
def refresh_dashboard() -> int:
    """Recompute the recent dashboard figures and draw the charts; returns the rows written."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.dashboard import store_charts

    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.figures import refresh_figures

    written = refresh_figures(db.session, days=REFRESH_DAYS)
    store_charts(db.session)
    db.session.commit()
    log.debug("dashboard figures refreshed: %d rows", written)
    return written
