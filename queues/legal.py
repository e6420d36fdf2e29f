"""Legal jobs: building an evidence bundle, and the periodic maintenance (retention and
erasure requests)."""

from __future__ import annotations

import logging

import redis

from queues.context import in_app_context
from queues.names import QueueName
from queues.runtime import queue
from workbench.app import settings
from workbench.extensions import db
from workbench.storage import blob_store

log = logging.getLogger(__name__)

#: A bundle of a few hundred thousand records and hours of audio takes minutes.
EXPORT_TIMEOUT_S = 3 * 3600


def enqueue_export(export_id: int) -> str | None:
    """Queue the build of an export; None when Redis is down (the export stays queued)."""
    try:
        job = queue(QueueName.EXPORT).enqueue(
            run_export, export_id, job_id=f"evidence-export-{export_id}",
            job_timeout=EXPORT_TIMEOUT_S, result_ttl=86400, failure_ttl=7 * 86400)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable; evidence export %s not queued: %s", export_id, exc)
        return None
    return str(job.id)


@in_app_context
def run_export(export_id: int) -> dict[str, object]:
    """Build one evidence bundle (progress is written to the export as it goes)."""
    from actions.evidence import build_export

    export = build_export(db.session, blob_store(settings()), export_id)
    return {"export": export.id, "status": export.status, "sha256": export.archive_sha256,
            "size": export.archive_size}


@in_app_context
def maintenance() -> dict[str, object]:
    """Purge what has outlived its retention, then carry out the erasure requests due."""
    from actions.erasure import run_due_erasures
    from actions.retention import retention_policy, run_retention

    s = settings()
    policy = retention_policy(s.retention_days)
    store = blob_store(s)
    purged = run_retention(db.session, store, policy)
    erasures = run_due_erasures(db.session, store, policy)
    return {"retention": purged.as_dict(), "erasures": erasures}
