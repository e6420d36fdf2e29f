"""The sweep queues evidence exports whose build never started or died with its worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from rq import Queue

from queues.legal import MAX_EXPORT_REDOS, export_job_id, sweep_exports
from queues.names import QueueName
from workbench.current import redis_connection
from workbench.extensions import db
from workbench.models import AuditEvent, EvidenceExport, utcnow


def _export(status: str) -> int:
    export = EvidenceExport(scope="case", scope_id=1, reason="s.94 BNSS notice",
                            request_ref="FIR 77/2026", status=status,
                            created_at=utcnow() - timedelta(minutes=5))
    db.session.add(export)
    db.session.commit()
    return export.id


def test_a_build_whose_worker_died_is_queued_again_until_it_has_died_too_often(
        app: Flask) -> None:
    with app.app_context():
        queue = Queue(QueueName.EXPORT.value, connection=redis_connection())
        export_id = _export("running")  # its build was under way; its job is gone
        for _ in range(MAX_EXPORT_REDOS):
            assert sweep_exports() == 1
            assert sweep_exports() == 0  # queued once, not on every sweep
            job = queue.fetch_job(export_job_id(export_id))
            assert job is not None
            job.delete()  # the worker dies with the build (and the job ends unfinished)
        assert sweep_exports() == 0
        export = db.session.get(EvidenceExport, export_id)
        assert export is not None and export.status == "failed"
        assert "worker died" in (export.error or "")
        assert db.session.query(AuditEvent).filter_by(
            verb="evidence.failed", object_id=str(export_id)).count() == 1
        assert sweep_exports() == 0  # a failed export is left for a person to ask again


def test_finished_and_failed_exports_are_left_alone(app: Flask) -> None:
    with app.app_context():
        _export("done")
        _export("failed")
        assert sweep_exports() == 0
        assert redis_connection().llen(f"rq:queue:{QueueName.EXPORT.value}") == 0


def test_a_build_taken_off_its_queue_by_a_worker_that_died_before_starting_it_is_queued_again(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import queues.abandoned

    with app.app_context():
        queue = Queue(QueueName.EXPORT.value, connection=redis_connection())
        export_id = _export("queued")
        assert sweep_exports() == 1
        assert queue.connection.lpop(queue.key) is not None  # the worker that took it died
        assert sweep_exports() == 0  # seen out of its queue once: it may be starting
        monkeypatch.setattr(queues.abandoned, "STRANDED_AFTER_S", 0)
        assert sweep_exports() == 1
        assert queue.get_job_ids() == [export_job_id(export_id)]
