"""The console's depth: bulk work with undo, reporters, wellness, operations, audit, dashboard."""

from __future__ import annotations

import re

from flask import Flask
from rq import Queue
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from tests.support.present import present
from workbench.extensions import db
from workbench.models import Action, AuditEvent, Case


def _bulk(senior, ids: list[int], decision: str = "suspend_1",
          reason: str = "spam_scam"):
    data = {"decision": decision, "policy_reason": reason}
    fields = [("case_id", str(i)) for i in ids] + list(data.items())
    token = present(re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                              senior.get("/admin/queue/").get_data(as_text=True))).group(1)
    form = MultiDict(fields + [("csrf_token", token)])
    return senior.post("/admin/bulk/preview", data=form), form


def test_a_senior_decides_a_spam_wave_at_once_and_undoes_it(app: Flask, world: World,
                                                            signed_in) -> None:
    senior = signed_in("senior")
    assert 'name="case_id"' in senior.get("/admin/queue/").get_data(as_text=True)
    preview, form = _bulk(senior, world.other_case_ids)
    text = preview.get_data(as_text=True)
    assert "for <strong>3 cases</strong>" in text and "3 accounts on 1 platforms" in text
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []  # nothing before confirming
    done = senior.post("/admin/bulk/confirm", data=form)
    assert done.status_code == 302
    run_jobs(app)
    assert world.servers["meet"].state == {"s-0": "suspended", "s-1": "suspended",
                                           "s-2": "suspended"}
    page = senior.get(done.headers["Location"]).get_data(as_text=True)
    assert "3 of 3 cases decided" in page
    undo = post_form(senior, done.headers["Location"] + "/undo", page=done.headers["Location"])
    assert undo.status_code == 302
    run_jobs(app)
    assert set(world.servers["meet"].state.values()) == {"active"}
    with app.app_context():
        statuses = db.session.scalars(select(Case.status).where(
            Case.id.in_(world.other_case_ids))).all()
    assert set(statuses) == {"open"}


def test_moderators_have_no_bulk_controls_and_are_refused(app: Flask, world: World,
                                                         signed_in) -> None:
    moderator = signed_in("moderator")
    assert 'name="case_id"' not in moderator.get("/admin/queue/").get_data(as_text=True)
    response, form = _bulk(moderator, world.other_case_ids)
    assert response.status_code == 403
    assert moderator.post("/admin/bulk/confirm", data=form).status_code == 403


def test_reporter_accuracy_shows_and_a_senior_marks_an_abusive_reporter(
        app: Flask, world: World, signed_in) -> None:
    senior = signed_in("senior")
    page = senior.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert "no decided reports" in page and "Mark as abusing reports" in page
    with app.app_context():
        before = db.session.get_one(Case, world.case_id).priority
        from workbench.models import Account

        reporter = db.session.scalars(select(Account.id).where(
            Account.platform_user_id == "c-200")).one()
    response = post_form(senior, f"/admin/reporters/{reporter}",
                         {"mark": "1", "reason": "files a report on everyone she calls",
                          "back": f"/admin/case/{world.case_id}"},
                         page=f"/admin/case/{world.case_id}")
    assert response.status_code == 302
    with app.app_context():
        after = db.session.get_one(Case, world.case_id).priority
    assert after < before  # her reports sink
    assert "marked: reports sink" in senior.get(f"/admin/case/{world.case_id}").get_data(
        as_text=True)
    assert "Mark as abusing" not in signed_in("moderator").get(
        f"/admin/case/{world.case_id}").get_data(as_text=True)


def test_a_moderator_hands_off_distressing_work_for_the_day(app: Flask, world: World,
                                                            signed_in) -> None:
    moderator = signed_in("moderator")
    page = moderator.get("/admin/queue/").get_data(as_text=True)
    assert 'id="distressing-today">0<' in page
    post_form(moderator, "/admin/wellness/hand-off")
    assert "Handed off for today" in moderator.get("/admin/queue/").get_data(as_text=True)
    claimed = []
    for _ in range(6):
        response = post_form(moderator, "/admin/queue/next")
        if "/admin/case/" not in response.headers["Location"]:
            break
        claimed.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    with app.app_context():
        categories = {c: db.session.get_one(Case, c).primary_category for c in claimed}
    # The live sexual-content case and the violent-threat case are not offered.
    assert world.live_case_id not in claimed and world.case_id not in claimed
    assert set(categories.values()) == {"spam_scam"}


def test_media_preferences_are_saved_and_audio_starts_muted(app: Flask, world: World,
                                                            signed_in) -> None:
    moderator = signed_in("moderator")
    page = moderator.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert "<audio controls preload=\"none\" muted" in page
    post_form(moderator, "/admin/wellness/preferences", {"blur_media": "1", "greyscale": "1"},
              page="/admin/account/")
    page = moderator.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert "<audio controls preload=\"none\"  src" in page
    assert 'data-blur-media="yes"' in page


def test_failed_jobs_are_listed_and_retried(app: Flask, world: World, signed_in) -> None:
    from workbench.current import redis_connection

    with app.app_context():
        queue = Queue("maintenance", connection=redis_connection())
        job = queue.enqueue("workbench.no_such_module.job")
    run_jobs(app)
    senior = signed_in("senior")
    page = senior.get("/admin/operations/").get_data(as_text=True)
    assert job.id in page and "no_such_module" in page
    post_form(senior, "/admin/operations/retry", {"job_id": job.id}, page="/admin/operations/")
    with app.app_context():
        assert job.id in Queue("maintenance", connection=redis_connection()).job_ids
        assert db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.verb.like("job.%"))).first()


def test_the_audit_log_filters_by_verb(app: Flask, world: World, signed_in) -> None:
    signed_in("moderator").get(f"/admin/case/{world.case_id}")
    admin = signed_in("admin")
    page = admin.get("/admin/audit/?verb=case.viewed").get_data(as_text=True)
    assert "case.viewed" in page and "login.succeeded" not in page


def test_the_dashboard_draws_its_charts_with_csv_beside_each(app: Flask, world: World,
                                                             signed_in) -> None:
    from queues.dashboard import refresh_dashboard

    with app.app_context():
        refresh_dashboard()
    lead = signed_in("senior")
    page = lead.get("/admin/dashboard/").get_data(as_text=True)
    slugs = re.findall(r'/admin/dashboard/chart/([a-z0-9_-]+)\.svg', page)
    assert len(slugs) >= 6
    for slug in slugs:
        svg = lead.get(f"/admin/dashboard/chart/{slug}.svg")
        assert svg.mimetype == "image/svg+xml" and svg.data.lstrip().startswith(b"<")
        csv = lead.get(f"/admin/dashboard/chart/{slug}.csv")
        assert csv.mimetype == "text/csv" and csv.data.splitlines()[0]
    reports = lead.get(f"/admin/dashboard/chart/{slugs[0]}.csv").get_data(as_text=True)
    assert "harassment" in reports.splitlines()[0]  # today's reports, by category
