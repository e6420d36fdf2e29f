"""Legal jobs: building an evidence bundle, and the periodic maintenance (retention and
erasure requests)."""

from __future__ import annotations

import logging

import redis
from sqlalchemy import select

from actions.retention import run_retention
from queues.context import in_app_context
from queues.names import QueueName
from queues.outbox import SWEEP_GRACE
from queues.runtime import enqueue_once, queue, still_to_run
from workbench.current import redis_connection, settings
from workbench.enums import ExportStatus
from workbench.extensions import db
from workbench.models import EvidenceExport, utcnow
from workbench.models.audit import record
from workbench.storage import blob_store

log = logging.getLogger(__name__)

#: A bundle of a few hundred thousand records and hours of audio takes minutes.
EXPORT_TIMEOUT_S = 3 * 3600
#: Counts, per export, the builds that ended without finishing it (their worker died).
EXPORT_REDOS_KEY = "workbench:export-redos:"
#: Builds that may die before an export is marked failed, so one that kills its worker
#: each time (a bundle too big for memory) does not loop.
MAX_EXPORT_REDOS = 3


def export_job_id(export_id: int) -> str:
    return f"evidence-export-{export_id}"


def _enqueue(export_id: int) -> tuple[str, bool]:
    return enqueue_once(queue(QueueName.EXPORT), run_export, export_id,
                        job_id=export_job_id(export_id), job_timeout=EXPORT_TIMEOUT_S,
                        result_ttl=86400, failure_ttl=7 * 86400)


def enqueue_export(export_id: int) -> str | None:
    """Queue the build of an export; None when Redis is down (the sweep queues it later)."""
    try:
        return _enqueue(export_id)[0]
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable; evidence export %s left for the sweep: %s",
                    export_id, exc)
        return None


def sweep_exports(limit: int = 500) -> int:
    """Queue the exports waiting to be built whose job is not in Redis or died; returns
    how many were queued (0 while Redis is down)."""

    rows = db.session.execute(
        select(EvidenceExport.id, EvidenceExport.status)
        .where(EvidenceExport.status.in_([ExportStatus.QUEUED.value, ExportStatus.RUNNING.value]),
               EvidenceExport.created_at < utcnow() - SWEEP_GRACE)
        .order_by(EvidenceExport.id).limit(limit)).all()
    db.session.rollback()
    queued, given_up = 0, []
    try:
        conn, export_queue = redis_connection(), queue(QueueName.EXPORT)
        for export_id, status in rows:
            job = export_queue.fetch_job(export_job_id(export_id))
            if job is not None and still_to_run(job):
                continue
            # A build ended (or vanished from Redis) with the export unfinished: its
            # worker died, as a build's own errors mark the export failed.
            if (job is not None or status == ExportStatus.RUNNING.value) and \
                    _redos(conn, export_id) > MAX_EXPORT_REDOS:
                given_up.append(export_id)
                continue
            queued += _enqueue(export_id)[1]
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable; evidence exports left for the next sweep: %s", exc)
    if given_up:
        _give_up(given_up)
    if queued:
        log.info("sweeper queued %d evidence export(s)", queued)
    return queued


def _redos(conn: redis.Redis, export_id: int) -> int:
    key = f"{EXPORT_REDOS_KEY}{export_id}"
    with conn.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, 7 * 86400)
        return int(pipe.execute()[0])


def _give_up(export_ids: list[int]) -> None:
    """Mark exports failed whose builds kept dying, so a person sees it and asks again."""

    error = f"the build stopped {MAX_EXPORT_REDOS} times without finishing (its worker died)"
    for export in db.session.scalars(
            select(EvidenceExport).where(EvidenceExport.id.in_(export_ids))):
        export.status, export.error = ExportStatus.FAILED.value, error
        record(db.session, "evidence.failed", "evidence_export", export.id,
               data={"error": error})
    db.session.commit()
    log.error("evidence export(s) %s failed: %s", export_ids, error)


@in_app_context
def run_export(export_id: int) -> dict[str, object]:
    """Build one evidence bundle (progress is written to the export as it goes)."""
    # Heavy: imported on first use, not when the module loads.
    from actions.evidence import build_export

    export = build_export(db.session, blob_store(settings()), export_id)
    return {"export": export.id, "status": export.status, "sha256": export.archive_sha256,
            "size": export.archive_size}


@in_app_context
def maintenance() -> dict[str, object]:
    """Purge what has outlived its retention, then carry out the erasure requests due."""
    # Heavy: imported on first use, not when the module loads.
    from actions.erasure import run_due_erasures

    s = settings()
    policy = s.retention_policy
    store = blob_store(s)
    purged = run_retention(db.session, store, policy)
    erasures = run_due_erasures(db.session, store, policy)
    return {"retention": purged.as_dict(), "erasures": erasures}


@in_app_context
def refresh_transparency() -> list[str]:
    """Draw this month's and last month's transparency reports and keep them for the
    console (which then only reads them); returns the keys written."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.transparency import refresh_reports

    try:
        return refresh_reports(db.session)
    finally:
        db.session.rollback()  # read only: end the transaction the report opened
