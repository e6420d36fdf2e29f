"""The periodic sweep: work written to the database whose job never reached Redis."""

from __future__ import annotations

from queues.context import in_app_context
from queues.legal import sweep_exports
from queues.outbox import sweep_outbox
from workbench.current import settings
from workbench.extensions import db
from workbench.platforms import forget_old_signatures


@in_app_context
def sweep() -> int:
    """The periodic sweep: enqueue the work written to the database whose job never reached
    (or fell out of) Redis: outbox batches and evidence exports; returns how many.

    Deliveries (enforcement and outcome notices) need no job to be found: ``deliver_due``
    sends every due one every few seconds. Retention runs on the scheduler.
    """
    forget_old_signatures(settings().signature_tolerance_s)
    db.session.commit()
    return sweep_outbox() + sweep_exports()
