"""The dashboard and the transparency report: drawn ahead, shared, revalidated, never stale
for long, and never handed to someone who may not see them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import count

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from queues.dashboard import refresh_dashboard
from queues.legal import refresh_transparency
from queues.names import QueueName
from queues.runtime import queue
from queues.scheduler import periodic_jobs
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from tests.support.present import present
from workbench.extensions import db
from workbench.models import Account, Report, utcnow
from workbench.reporting.transparency import monthly_report, published_report, report_charts

_numbers = count()


def _report(category: str) -> None:
    """One more user report received now, on an account of the world."""
    account = db.session.scalars(select(Account).order_by(Account.id)).first()
    assert account is not None
    now = utcnow()
    db.session.add(Report(
        platform_id=account.platform_id, platform_report_id=f"cache-{next(_numbers)}",
        reported_account_id=account.id, category=category, created_at=now, received_at=now,
        status="pending", source="user"))
    db.session.commit()


def _run(app: Flask, job: Callable[..., object]) -> None:
    with app.app_context():
        queue(QueueName.MAINTENANCE).enqueue(job)
    run_jobs(app)


def _revalidate(client: FlaskClient, path: str) -> tuple[str, int]:
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    return etag, again.status_code


def _reports_csv(client: FlaskClient) -> str:
    page = client.get("/admin/dashboard/").get_data(as_text=True)
    href = re.search(r'href="(/admin/dashboard/chart/reports-by-category\.csv[^"]*)"', page)
    assert href, page[:300]
    return client.get(href.group(1).replace("&amp;", "&")).get_data(as_text=True)


def test_a_repeated_request_is_answered_304_and_a_changed_one_is_not(
        app: Flask, world: World, signed_in) -> None:
    _run(app, refresh_dashboard)
    lead, legal = signed_in("senior"), signed_in("legal")
    page = lead.get("/admin/dashboard/").get_data(as_text=True)
    chart = present(re.search(r'src="(/admin/dashboard/chart/[^"]+\.svg[^"]*)"', page)).group(1)
    for client, path in ((lead, "/admin/dashboard/"), (lead, chart.replace("&amp;", "&")),
                         (legal, "/admin/transparency/"),
                         (legal, "/admin/transparency/chart/grievances.svg"),
                         (legal, "/admin/transparency/report.json")):
        etag, status = _revalidate(client, path)
        assert status == 304, path
        assert client.get(path, headers={"If-None-Match": '"another"'}).status_code == 200
    # The same page to another session is not the same page (its forms carry its token).
    other = signed_in("senior")
    assert other.get("/admin/dashboard/", headers={
        "If-None-Match": lead.get("/admin/dashboard/").headers["ETag"]}).status_code == 200


def test_the_dashboard_shows_new_figures_once_the_job_counts_them(
        app: Flask, world: World, signed_in) -> None:
    assert any(p.name == "dashboard-figures" for p in periodic_jobs())
    _run(app, refresh_dashboard)
    lead = signed_in("senior")
    before = _reports_csv(lead)
    etag = lead.get("/admin/dashboard/").headers["ETag"]
    assert "as of" in lead.get("/admin/dashboard/").get_data(as_text=True)
    with app.app_context():
        _report("impersonation")
    assert "impersonation" not in _reports_csv(lead)  # counted by the job, not per view
    _run(app, refresh_dashboard)
    after = _reports_csv(lead)
    assert after != before and "impersonation" in after.splitlines()[0]
    assert lead.get("/admin/dashboard/", headers={"If-None-Match": etag}).status_code == 200


def test_other_windows_are_drawn_once_and_kept_for_every_process(
        app: Flask, world: World, signed_in) -> None:
    from workbench.reporting import dashboard as board

    _run(app, refresh_dashboard)
    lead = signed_in("senior")
    page = lead.get("/admin/dashboard/?days=12")
    assert page.status_code == 200
    board._cache.clear()  # as another process would start: nothing in its memory
    with app.app_context():
        kept = board.dashboard(db.session, days=12)
    assert [c.slug for c in kept][0] == "reports-by-category"
    with app.app_context():
        _report("impersonation")
    _run(app, refresh_dashboard)
    assert "impersonation" in lead.get(
        "/admin/dashboard/chart/reports-by-category.csv?days=12").get_data(as_text=True)


def test_a_signed_out_or_unentitled_user_gets_nothing_from_the_cache(
        app: Flask, world: World, signed_in) -> None:
    _run(app, refresh_dashboard)
    lead = signed_in("senior")
    page = lead.get("/admin/dashboard/")
    chart = present(re.search(r'src="(/admin/dashboard/chart/[^"]+\.svg)[^"]*"',
                              page.get_data(as_text=True))).group(1)
    chart_etag = lead.get(chart).headers["ETag"]
    assert page.headers["Cache-Control"].startswith("private")
    assert "Cookie" in page.headers["Vary"]
    stranger = app.test_client()
    for path, etag in (("/admin/dashboard/", page.headers["ETag"]), (chart, chart_etag)):
        answer = stranger.get(path, headers={"If-None-Match": etag})
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], path
        assert b"<svg" not in answer.data
    moderator = signed_in("moderator")  # signed in, but the dashboard is not theirs
    assert moderator.get(chart, headers={"If-None-Match": chart_etag}).status_code == 403
    assert moderator.get("/admin/transparency/chart/grievances.svg").status_code == 403
    lead.post("/logout", data={"csrf_token": present(re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))).group(1)})
    after = lead.get("/admin/dashboard/", headers={"If-None-Match": page.headers["ETag"]})
    assert after.status_code == 302


def test_the_kept_transparency_report_matches_one_computed_afresh(
        app: Flask, world: World, signed_in) -> None:
    assert any(p.name == "transparency-report" and p.func is refresh_transparency
               for p in periodic_jobs())
    legal = signed_in("legal")
    now = utcnow()
    month = f"{now.year:04d}-{now.month:02d}"
    with app.app_context():
        _report("hate")
    _run(app, refresh_transparency)
    with app.app_context():
        fresh = monthly_report(db.session, now.year, now.month)
        kept = published_report(db.session, now.year, now.month)
        assert kept.body == json.loads(json.dumps({"report": fresh,
                                                   "charts": report_charts(fresh)}))
    downloaded = json.loads(legal.get(f"/admin/transparency/report.json?month={month}").data)
    assert downloaded == json.loads(json.dumps(fresh))
    page = legal.get(f"/admin/transparency/?month={month}").get_data(as_text=True)
    assert "Figures as of" in page
    received = fresh["reports_received"]["total"]
    with app.app_context():
        _report("hate")
    # Until the job runs again the kept report is shown; then the new report counts.
    assert json.loads(legal.get(f"/admin/transparency/report.json?month={month}").data)[
        "reports_received"]["total"] == received
    _run(app, refresh_transparency)
    assert json.loads(legal.get(f"/admin/transparency/report.json?month={month}").data)[
        "reports_received"]["total"] == received + 1


def test_a_chart_revalidated_by_its_date_alone_is_answered_304(
        app: Flask, world: World, signed_in) -> None:
    _run(app, refresh_dashboard)
    lead, legal = signed_in("senior"), signed_in("legal")
    page = lead.get("/admin/dashboard/").get_data(as_text=True)
    chart = present(re.search(r'src="(/admin/dashboard/chart/[^"]+\.svg[^"]*)"', page)).group(1)
    for client, path in ((lead, chart.replace("&amp;", "&")),
                         (legal, "/admin/transparency/chart/grievances.svg")):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["Last-Modified"], path
        again = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert again.status_code == 304, path
        assert again.get_data() == b""
