"""The dashboard: figures from a small data set counted by hand, and charts a lead can read."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queues.dashboard import refresh_dashboard
from queues.names import QueueName
from queues.runtime import queue
from queues.scheduler import periodic_jobs
from tests.support.app import TEST_SECRET_KEY
from tests.support.jobs import run_jobs
from tests.support.present import present
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    Case,
    DailyFigure,
    DashboardChart,
    Person,
    Platform,
    Report,
)
from workbench.platforms import register_platform
from workbench.reporting import dashboard as board
from workbench.reporting.dashboard import Chart, dashboard
from workbench.reporting.figures import Metric, rebuild_figures, refresh_figures
from workbench.staff import create_moderator

#: Noon today (UTC): the data set sits on today, yesterday and three days ago.
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
D0, D1, D3 = NOW.date(), NOW.date() - timedelta(days=1), NOW.date() - timedelta(days=3)
SVG = "{http://www.w3.org/2000/svg}"


class World:
    """A handful of rows, each placed so the expected figures can be counted by hand."""

    def __init__(self) -> None:
        register_platform(db.session, TEST_SECRET_KEY, "web", secret="secret-web-0123456789")
        self.platform = db.session.scalars(select(Platform.id)).one()
        self.asha = create_moderator(db.session, "asha@example.org", "lantern-kiwi-9", "moderator",
                                     display_name="Asha").id
        self.ravi = create_moderator(db.session, "ravi@example.org", "lantern-kiwi-9",
                                     "moderator").id
        self.n = 0

    def account(self) -> Account:
        person = Person()
        db.session.add(person)
        db.session.flush()
        self.n += 1
        account = Account(platform_id=self.platform, platform_user_id=f"u{self.n}",
                          person_id=person.id)
        db.session.add(account)
        db.session.flush()
        return account

    def case(self, opened: datetime, decided: datetime | None = None, by: int | None = None,
             decision: str | None = None, due: datetime | None = None) -> tuple[int, Account]:
        account = self.account()
        case = Case(person_id=account.person_id, due_at=due or opened, primary_category="other",
                    created_at=opened, decided_at=decided, decided_by_id=by, decision=decision,
                    status={"violation": "actioned", "dismissed": "dismissed"}.get(
                        decision or "", "open"))
        db.session.add(case)
        db.session.flush()
        return case.id, account

    def report(self, at: datetime, category: str, case: tuple[int, Account] | None = None,
               model: str | None = None) -> None:
        case_id, account = case if case else (None, self.account())
        db.session.add(Report(
            platform_id=self.platform, platform_report_id=f"r{self.n}-{category}-{at:%j%H%M}",
            reported_account_id=account.id, category=category, created_at=at, received_at=at,
            case_id=case_id, status="cased" if case_id else "pending",
            source="classifier" if model else "user", model_name="text" if model else None,
            model_version=model))
        self.n += 1

    def action(self, at: datetime, kind: str) -> None:
        db.session.add(Action(type=kind, person_id=self.account().person_id,
                              policy_reason="harassment", decided_by_rule="test",
                              created_at=at, ends_at=None))


def build(world: World) -> None:
    h = timedelta(hours=1)
    c1 = world.case(NOW - timedelta(days=3) - 2 * h, NOW - timedelta(days=3), world.asha,
                    "violation")  # 120 min
    c2 = world.case(NOW - timedelta(days=1) - 2 * h, NOW - timedelta(days=1) - h, world.asha,
                    "dismissed")  # 60 min
    c3 = world.case(NOW - timedelta(days=1) - 4 * h, NOW - timedelta(days=1), world.ravi,
                    "violation")  # 240 min
    c4 = world.case(NOW - timedelta(minutes=30), NOW - timedelta(minutes=10), world.asha,
                    "violation")  # 20 min
    c5 = world.case(NOW - 2 * h, NOW - h, world.asha, "dismissed")  # 60 min
    world.case(NOW - 5 * h, due=NOW + timedelta(minutes=30))  # open: due <1 h
    world.case(NOW - 5 * h, due=NOW - 2 * h)  # open: overdue <4 h
    world.case(NOW - 5 * h, due=NOW + timedelta(days=2))  # open: due 1-3 d
    world.report(NOW - timedelta(days=3) - 3 * h, "harassment", c1, model="v1")  # upheld
    world.report(NOW - timedelta(days=1) - 3 * h, "harassment", c2, model="v1")  # dismissed
    world.report(NOW - timedelta(days=1) - 5 * h, "spam_scam", c3, model="v1")  # upheld
    world.report(NOW - h, "hate", c4, model="v2")  # upheld
    world.report(NOW - 2 * h, "hate", c5, model="v2")  # dismissed, the same day and label
    for _ in range(3):
        world.report(NOW - 3 * h, "harassment")
    world.report(NOW - 3 * h, "spam_scam")
    world.action(NOW - h, "suspend")
    world.action(NOW - h, "suspend")
    world.action(NOW - h, "ban")
    world.action(NOW - timedelta(days=3), "warn")
    db.session.commit()


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        world = World()
        build(world)
        return world


def _charts(session: Session) -> dict[str, Chart]:
    return {c.slug: c for c in dashboard(session, days=7)}


def _csv(chart: Chart, index: str | None = None) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(chart.csv))
    return frame.set_index(index) if index else frame


def test_the_figures_match_the_hand_counted_data_set(app: Flask, world: World) -> None:
    with app.app_context():
        rebuild_figures(db.session, now=NOW)
        db.session.commit()
        charts = _charts(db.session)
    reports = _csv(charts["reports-by-category"], "day")
    assert reports.loc[str(D0)].to_dict() == {"harassment": 3, "spam_scam": 1, "hate": 2}
    assert reports.loc[str(D1)].to_dict() == {"harassment": 1, "spam_scam": 1, "hate": 0}
    assert reports.loc[str(D3)].to_dict() == {"harassment": 1, "spam_scam": 0, "hate": 0}
    assert len(reports) == 7 and reports.sum().sum() == 9

    open_cases = _csv(charts["open-cases-deadline"], "bucket")["cases"].to_dict()
    assert {k: v for k, v in open_cases.items() if v} == {
        "overdue <4 h": 1, "due <1 h": 1, "due 1-3 d": 1}

    actions = _csv(charts["actions-by-type"], "day")
    assert actions.loc[str(D0)].to_dict() == {"suspend": 2, "ban": 1, "warn": 0}
    assert actions.loc[str(D3), "warn"] == 1

    times = _csv(charts["decision-time"], "day")
    assert times.loc[str(D0)].to_dict() == {"median_minutes": 40.0, "decided": 2}
    assert times.loc[str(D1)].to_dict() == {"median_minutes": 150.0, "decided": 2}
    assert times.loc[str(D3)].to_dict() == {"median_minutes": 120.0, "decided": 1}

    precision = _csv(charts["classifier-precision"], "model|label")
    assert precision.to_dict("index") == {
        "text v1|abusive": {"decided": 2, "upheld": 1, "precision": 0.5},
        "text v1|spam_scam": {"decided": 1, "upheld": 1, "precision": 1.0},
        "text v2|hate": {"decided": 2, "upheld": 1, "precision": 0.5}}

    throughput = _csv(charts["moderator-throughput"], "moderator")
    assert throughput.to_dict("index") == {
        "Asha": {"decisions": 4, "days_active": 3, "per_day": 1.3},
        "ravi": {"decisions": 1, "days_active": 1, "per_day": 1.0}}


def test_the_job_recounts_the_last_two_days_and_the_dashboard_follows(
    app: Flask, world: World
) -> None:
    with app.app_context():
        rebuild_figures(db.session, now=NOW)
        db.session.commit()
        before = _charts(db.session)
        assert _charts(db.session) == before  # nothing new counted: the same charts
        world.report(NOW - timedelta(minutes=5), "harassment")
        world.report(NOW - timedelta(days=3), "harassment")  # too old for the job to see
        db.session.commit()
        refresh_figures(db.session, days=2, now=NOW)
        db.session.commit()
        after = _csv(_charts(db.session)["reports-by-category"], "day")
        assert after.loc[str(D0), "harassment"] == 4
        assert after.loc[str(D3), "harassment"] == 1  # kept from the rebuild, not recounted
        days = set(db.session.scalars(select(DailyFigure.day).distinct()))
        assert days == {D0, D1, D3}


def test_each_chart_is_an_inline_svg_with_its_title_and_nothing_fetched(
    app: Flask, world: World
) -> None:
    with app.app_context():
        rebuild_figures(db.session, now=NOW)
        db.session.commit()
        charts = dashboard(db.session, days=30)
    assert [c.title for c in charts] == [
        "Reports per day by category", "Open cases against their deadline",
        "Actions per day by type", "Median time to decision",
        "Classifier precision against moderator decisions", "Decisions per day by moderator"]
    for chart in charts:
        assert chart.svg.startswith("<svg"), chart.slug
        root = ET.fromstring(chart.svg)
        assert root.tag == f"{SVG}svg"
        assert present(root.find(f"{SVG}title")).text == chart.title
        texts = {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}
        assert chart.title in texts  # drawn as text, not as glyph outlines
        assert "<script" not in chart.svg and 'href="http' not in chart.svg
        assert chart.csv.count("\n") >= 2
    labels = {"".join(t.itertext()).strip() for t in ET.fromstring(charts[1].svg).iter(
        f"{SVG}text")}
    assert "deadline" in labels and "open cases" in labels


def test_the_job_draws_the_charts_ahead_and_a_view_only_reads_them(
    app: Flask, world: World
) -> None:
    assert any(p.name == "dashboard-figures" and p.func is refresh_dashboard
               for p in periodic_jobs())
    with app.app_context():
        queue(QueueName.MAINTENANCE).enqueue(refresh_dashboard)
    run_jobs(app)
    with app.app_context():
        stored = db.session.scalars(select(DashboardChart).where(DashboardChart.days == 30)
                                    .order_by(DashboardChart.position)).all()
        assert [c.slug for c in stored] == [
            "reports-by-category", "open-cases-deadline", "actions-by-type", "decision-time",
            "classifier-precision", "moderator-throughput"]
        stored[0].svg = "<svg>drawn by the job</svg>"  # a view returns what is stored
        db.session.commit()
        board._cache.clear()
        assert dashboard(db.session)[0].svg == "<svg>drawn by the job</svg>"
        world.report(NOW - timedelta(minutes=1), "hate")
        db.session.commit()
        refresh_figures(db.session, now=NOW)  # newer figures than the stored drawing
        db.session.commit()
        fresh = dashboard(db.session)[0]
        assert fresh.svg.startswith("<svg role=") and "drawn by the job" not in fresh.svg


def test_an_empty_workbench_still_draws_every_chart(app: Flask) -> None:
    with app.app_context():
        charts = dashboard(db.session, days=7)
        assert len(charts) == 6
        for chart in charts:
            ET.fromstring(chart.svg)
        with pytest.raises(ValueError):
            dashboard(db.session, days=0)


def test_the_rebuild_command_fills_the_figures(
    app: Flask, world: World, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = dict(os.environ, WORKBENCH_INSTANCE_DIR=str(tmp_path / "cli"),
               WORKBENCH_DATABASE_URL=database_url, WORKBENCH_REDIS_URL=redis_url,
               WORKBENCH_SECRET_KEY=TEST_SECRET_KEY)
    result = subprocess.run([sys.executable, "-m", "workbench", "dashboard", "rebuild"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("dashboard figures written")
    with app.app_context():
        reports = db.session.execute(select(func.sum(DailyFigure.value)).where(
            DailyFigure.metric == Metric.REPORTS)).scalar_one()
        assert reports == 9


def test_chart_csv_neutralises_names_a_spreadsheet_would_run() -> None:
    # A moderator's display name is typed by a person; the CSV must not carry a formula.
    today = datetime.now(UTC).date()
    frame = pd.DataFrame([(today, Metric.DECISIONS, "1", 4.0),
                          (today, Metric.DECISIONS, "2", 2.0)],
                         columns=["day", "metric", "key", "value"])
    chart = board.throughput_chart(frame, {"1": "=HYPERLINK(\"http://x\")", "2": "-2+3"})
    rows = list(csv.reader(io.StringIO(chart.csv, newline="")))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'-2+3"]
    assert rows[1][1:] == ["4", "1", "4.0"]  # numbers stay numbers
