"""An evidence export asked for while Redis is down is built once Redis is back.

Found by trying it: the export was written, its job could not be queued, and nothing
queued it later: it stayed "queued" at 0% for ever (the sweeper covered only outbox
batches).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from queues.names import QueueName
from queues.sweep import sweep
from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from workbench.current import redis_connection, redis_url
from workbench.extensions import db
from workbench.models import EvidenceExport, utcnow

#: Nothing listens on port 1: connecting is refused at once, as when Redis is down.
CLOSED_PORT = "redis://127.0.0.1:1/0"


def test_an_export_asked_for_while_redis_is_down_is_built_once_it_is_back(
        app: Flask, world: World, signed_in) -> None:
    legal = signed_in("legal")
    url = redis_url(app)
    app.extensions["workbench.redis_url"] = CLOSED_PORT  # Redis goes away
    try:
        response = post_form(legal, "/admin/legal/exports", {
            "scope": "case", "scope_ref": str(world.case_id), "reason": "s.94 BNSS notice",
            "request_ref": "FIR 77/2026"}, page="/admin/legal/")
        assert response.status_code == 302  # the request is written, not refused
        with app.app_context():
            export = db.session.scalars(select(EvidenceExport)).one()
            assert (export.status, export.progress) == ("queued", 0)
            db.session.execute(update(EvidenceExport).values(
                created_at=utcnow() - timedelta(minutes=1)))  # past the sweep's grace
            db.session.commit()
            assert sweep() == 0  # still down: nothing queued, nothing lost
    finally:
        app.extensions["workbench.redis_url"] = url  # Redis is back
    with app.app_context():
        assert sweep() == 1
        assert sweep() == 0  # its job is waiting: not queued twice
        assert redis_connection().llen(f"rq:queue:{QueueName.EXPORT.value}") == 1
    run_jobs(app)
    with app.app_context():
        export = db.session.scalars(select(EvidenceExport)).one()
        assert (export.status, export.progress) == ("done", 100)
        assert export.archive_sha256
