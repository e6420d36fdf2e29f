"""The lead's dashboard: charts drawn on the server from pre-aggregated figures.

``dashboard(session, days=30)`` reads only ``DailyFigure`` rows (see
``workbench.reporting.figures``), shapes them with pandas and draws each chart with
matplotlib as an inline SVG (text kept as text, no scripts, nothing fetched from
elsewhere), with the same table as CSV beside it.
The figures job draws the charts of every window the page offers after each refresh and
keeps them (``DashboardChart``), so a view reads them with two small queries; any other
window is drawn on its first view and kept in Redis for every process
(``workbench.reporting.drawn``) until the figures change. Charts are also kept per process until
the figures change. matplotlib is imported only to draw: a web process that reads
charts never loads it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from actions.spreadsheet import frame_csv
from workbench.models import DailyFigure, DashboardChart, Moderator, utcnow
from workbench.reporting import drawn
from workbench.reporting.figures import DEADLINE_BUCKETS, Metric

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

log = logging.getLogger(__name__)

#: Series shown by name in a stacked chart; the rest are summed as "other".
TOP_SERIES = 7
#: Moderators shown in the throughput chart (the CSV has everyone).
TOP_MODERATORS = 15
#: Dashboards kept per process (one per window asked for, usually one).
CACHE_SIZE = 8
OVERDUE = "#c0392b"
ON_TIME = "#2e86c1"
_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')
STYLE: dict[RcKeyType, Any] = {"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 11,
                                "axes.titleweight": "bold", "axes.spines.top": False,
                                "axes.spines.right": False}


@dataclass(frozen=True)
class Chart:
    """One chart: an SVG to inline in the page, and its data as CSV."""

    slug: str
    title: str
    svg: str
    csv: str


def load_figures(session: Session, first: date, last: date) -> pd.DataFrame:
    """The pre-aggregated rows of the window, as a frame (day, metric, key, value)."""
    rows = session.execute(
        select(DailyFigure.day, DailyFigure.metric, DailyFigure.key, DailyFigure.value)
        .where(DailyFigure.day >= first, DailyFigure.day <= last)).all()
    frame = pd.DataFrame(rows, columns=["day", "metric", "key", "value"])
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def _per_day(frame: pd.DataFrame, metric: str, days: list[date]) -> pd.DataFrame:
    """A day-by-key table of one metric, every day of the window present (0 when none)."""
    table = (frame[frame.metric == metric]
             .pivot_table(index="day", columns="key", values="value", aggfunc="sum")
             .reindex(days).fillna(0.0))
    table.index.name = "day"
    if not table.empty:
        table = table[table.sum().sort_values(ascending=False).index]
    return table


def _top(table: pd.DataFrame) -> pd.DataFrame:
    if table.shape[1] <= TOP_SERIES:
        return table
    head = table.iloc[:, :TOP_SERIES - 1].copy()
    head["other"] = table.iloc[:, TOP_SERIES - 1:].sum(axis=1)
    return head


def _day_axis(ax: Axes, days: list[date]) -> None:
    step = max(1, len(days) // 8)
    ax.set_xticks(range(0, len(days), step))
    ax.set_xticklabels([d.strftime("%d %b") for d in days[::step]])
    ax.set_xlim(-0.5, len(days) - 0.5)
    ax.set_xlabel("day (UTC)")


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data in this window", ha="center", va="center",
            transform=ax.transAxes, color="#777777")


def _stacked(table: pd.DataFrame, days: list[date], ylabel: str) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        shown = _top(table)
        if shown.empty or not shown.to_numpy().any():
            _no_data(ax)
        else:
            ax.stackplot(range(len(days)), shown.T.to_numpy(), labels=list(shown.columns),
                         alpha=0.9)
            ax.legend(loc="upper left", fontsize=7, ncols=4, frameon=False)
            ax.set_ylim(0, float(shown.sum(axis=1).max()) * 1.3)
        _day_axis(ax, days)
        ax.set_ylabel(ylabel)
    return draw


def _figure(title: str, draw: Callable[[Axes], None], height: float = 3.2) -> Figure:
    """Draw one chart on a figure whose layout makes room for every label.

    Constrained layout sizes the margins from the labels themselves (a long classifier
    or moderator name, rotated deadline buckets), where fixed margins clipped them.
    """
    # Heavy: imported on first use, not when the module loads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, height), layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    ax.set_title(title, loc="left")
    return fig


def _svg(title: str, draw: Callable[[Axes], None], height: float = 3.2) -> str:
    """Draw one chart and return it as an SVG element ready to inline (no XML prolog).

    The element scales to its container's width (its ``viewBox`` keeps the proportions).
    The saved area is the drawing's own bounds plus a margin, since the browser sets the
    text in its own font, which can run a little wider than matplotlib measured.
    """
    # Heavy: imported on first use, not when the module loads.
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend in a server process
    with matplotlib.rc_context(STYLE):
        fig = _figure(title, draw, height)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight",
                    pad_inches=0.15)
    body = buffer.getvalue()
    body = body[body.index("<svg"):]
    head_end = body.index(">") + 1
    head = _SIZE.sub("", body[:head_end]).replace(
        "<svg", '<svg role="img" width="100%" preserveAspectRatio="xMinYMin meet" '
        'overflow="visible"', 1)
    return head + f"<title>{escape(title)}</title>" + body[head_end:]


def reports_chart(frame: pd.DataFrame, days: list[date]) -> Chart:
    title = "Reports per day by category"
    table = _per_day(frame, Metric.REPORTS, days)
    return Chart("reports-by-category", title, _svg(title, _stacked(table, days, "reports")),
                 frame_csv(table.astype(int), index=True))


def actions_chart(frame: pd.DataFrame, days: list[date]) -> Chart:
    title = "Actions per day by type"
    table = _per_day(frame, Metric.ACTIONS, days)
    return Chart("actions-by-type", title, _svg(title, _stacked(table, days, "actions")),
                 frame_csv(table.astype(int), index=True))


def open_cases_chart(frame: pd.DataFrame) -> Chart:
    title = "Open cases against their deadline"
    snapshot = frame[frame.metric == Metric.OPEN_BY_DEADLINE]
    latest = snapshot[snapshot.day == snapshot.day.max()] if not snapshot.empty else snapshot
    labels = [label for _, label in DEADLINE_BUCKETS]
    counts = latest.groupby("key")["value"].sum().reindex(labels).fillna(0).astype(int)
    overdue = [label.startswith("overdue") for label in labels]
    table = pd.DataFrame({"bucket": labels, "cases": counts.to_numpy(), "overdue": overdue})

    def draw(ax: Axes) -> None:
        ax.bar(range(len(labels)), table.cases,
               color=[OVERDUE if o else ON_TIME for o in overdue])
        line = sum(overdue) - 0.5
        ax.axvline(line, color="#333333", linestyle="--", linewidth=1)
        ax.text(line, 1.0, " deadline", transform=ax.get_xaxis_transform(), va="top",
                fontsize=8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=7)
        ax.set_xlabel("time left before the deadline (left of the line: overdue)")
        ax.set_ylabel("open cases")
        if not table.cases.any():
            _no_data(ax)
    return Chart("open-cases-deadline", title, _svg(title, draw, 3.4),
                 frame_csv(table))


def decision_time_chart(frame: pd.DataFrame, days: list[date]) -> Chart:
    title = "Median time to decision"
    table = pd.DataFrame({
        "median_minutes": _per_day(frame, Metric.DECISION_MINUTES_P50, days).sum(axis=1),
        "decided": _per_day(frame, Metric.DECIDED, days).sum(axis=1).astype(int),
    }, index=pd.Index(days, name="day"))

    def draw(ax: Axes) -> None:
        hours = table.median_minutes.where(table.decided > 0) / 60
        if hours.notna().any():
            ax.plot(range(len(days)), hours.to_numpy(), marker="o", markersize=3,
                    color=ON_TIME)
            ax.set_ylim(0, float(hours.max()) * 1.2)
        else:
            _no_data(ax)
        _day_axis(ax, days)
        ax.set_ylabel("hours from case opened to decided")
    return Chart("decision-time", title, _svg(title, draw),
                 frame_csv(table.round(1), index=True))


def precision_chart(frame: pd.DataFrame) -> Chart:
    title = "Classifier precision against moderator decisions"
    decided = frame[frame.metric == Metric.CLASSIFIER_DECIDED].groupby("key")["value"].sum()
    upheld = frame[frame.metric == Metric.CLASSIFIER_UPHELD].groupby("key")["value"].sum()
    table = pd.DataFrame({"decided": decided, "upheld": upheld.reindex(decided.index)}).fillna(0)
    table["precision"] = (table.upheld / table.decided).round(3)
    table.index = table.index.rename("model|label")
    table = table.sort_values("decided", ascending=False)

    def draw(ax: Axes) -> None:
        if table.empty:
            _no_data(ax)
            return
        names = [k.replace("|", " · ") for k in table.index]
        ax.barh(range(len(table)), table.precision, color=ON_TIME)
        for y, (p, n) in enumerate(zip(table.precision, table.decided, strict=True)):
            ax.text(min(p, 0.98), y, f" {p:.0%} of {int(n)}", va="center", fontsize=7)
        ax.set_yticks(range(len(table)))
        ax.set_yticklabels(names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.15)
        ax.set_xlabel("share of its decided reports that moderators upheld")
    return Chart("classifier-precision", title,
                 _svg(title, draw, max(2.4, 0.9 + 0.3 * len(table))),
                 frame_csv(table.astype({"decided": int, "upheld": int}), index=True))


def throughput_chart(frame: pd.DataFrame, names: dict[str, str]) -> Chart:
    title = "Decisions per day by moderator"
    rows = frame[frame.metric == Metric.DECISIONS]
    table = rows.groupby("key").agg(decisions=("value", "sum"), days_active=("day", "nunique"))
    table["per_day"] = (table.decisions / table.days_active).round(1)
    table.index = pd.Index([names.get(k, f"#{k}") for k in table.index], name="moderator")
    table = table.sort_values("per_day", ascending=False).astype({"decisions": int})
    shown = table.head(TOP_MODERATORS)

    def draw(ax: Axes) -> None:
        if shown.empty:
            _no_data(ax)
            return
        ax.barh(range(len(shown)), shown.per_day, color=ON_TIME)
        ax.set_yticks(range(len(shown)))
        ax.set_yticklabels(list(shown.index), fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("decisions per day worked (mean over the window)")
    return Chart("moderator-throughput", title,
                 _svg(title, draw, max(2.4, 0.9 + 0.22 * len(shown))),
                 frame_csv(table, index=True))


def build_charts(frame: pd.DataFrame, days: list[date], names: dict[str, str]) -> list[Chart]:
    """Every chart, from a frame of figures (pure: no database)."""
    return [reports_chart(frame, days), open_cases_chart(frame), actions_chart(frame, days),
            decision_time_chart(frame, days), precision_chart(frame),
            throughput_chart(frame, names)]


#: The window the dashboard opens on.
DEFAULT_DAYS = 30
#: The windows the page offers; the figures job draws each ahead of time.
OFFERED_DAYS = (7, 30, 90)
#: Seconds a window drawn on demand is kept in Redis (its key names the figures it was
#: drawn from, so it is never shown once they change; this only bounds the memory).
DRAWN_MAX_AGE_S = 3600

_cache: dict[tuple[Any, ...], Board] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Board:
    """The charts of one window, the time of the figures they show, and their version."""

    charts: list[Chart]
    #: When the figures were last counted (the job's last run), None before the first.
    as_of: datetime | None
    #: Names the figures drawn (their window, count and last change): the charts'
    #: validator, and part of their address so a browser never mixes two versions.
    version: str


def _window(days: int) -> tuple[date, date]:
    if not 1 <= days <= 366:
        raise ValueError("days must be between 1 and 366")
    last = utcnow().date()
    return last - timedelta(days=days - 1), last


def _figures_state(session: Session, first: date, last: date) -> tuple[str, datetime | None]:
    count, updated = session.execute(
        select(func.count(), func.max(DailyFigure.updated_at))
        .where(DailyFigure.day >= first, DailyFigure.day <= last)).one()
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)  # stored in UTC; SQLite returns it naive
    return f"{first}/{last}/{count}/{updated.isoformat() if updated else '-'}", updated


def figures_key(session: Session, first: date, last: date) -> str:
    """Which figures a window holds: its days, their count and their last change."""
    return _figures_state(session, first, last)[0]


def draw(session: Session, first: date, last: date) -> list[Chart]:
    """Draw every chart of the window from its figures (a few hundred ms of matplotlib)."""
    names = {str(i): name or email for i, name, email in session.execute(
        select(Moderator.id, Moderator.display_name, Moderator.email)).all()}
    window = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return build_charts(load_figures(session, first, last), window, names)


def store_charts(session: Session, days: int | None = None) -> list[Chart]:
    """Draw a window's charts and keep them, so views only read them (the figures job).

    Without ``days``, every window the page offers; returns the default window's charts.
    """
    out: list[Chart] = []
    for window_days in (days,) if days is not None else OFFERED_DAYS:
        first, last = _window(window_days)
        key = figures_key(session, first, last)
        charts = draw(session, first, last)
        session.execute(delete(DashboardChart).where(DashboardChart.days == window_days))
        session.add_all(DashboardChart(days=window_days, slug=c.slug, position=n,
                                       title=c.title, svg=c.svg, csv=c.csv, figures_key=key)
                        for n, c in enumerate(charts))
        if window_days == (days or DEFAULT_DAYS):
            out = charts
    session.flush()
    return out


def _drawn_elsewhere(session: Session, days: int, first: date, last: date,
                     key: str) -> list[Chart]:
    """A window the job did not draw from these figures: drawn once, kept in Redis."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    kept = drawn.fetch(f"dashboard:{days}:{digest}",
                       lambda: [c.__dict__ for c in draw(session, first, last)],
                       DRAWN_MAX_AGE_S)
    return [Chart(**c) for c in kept.body]


def dashboard_board(session: Session, days: int = DEFAULT_DAYS) -> Board:
    """The dashboard's charts for the last ``days`` days (today included), and their age.

    Charts the figures job drew from the current figures are read as they are; otherwise
    (another window, or figures newer than the drawing) they are drawn once and kept in
    Redis for every process. Either way they are kept in this process until the figures
    change.
    """
    first, last = _window(days)
    key, as_of = _figures_state(session, first, last)
    cache_key = (str(session.get_bind().engine.url), days, key)
    with _cache_lock:
        cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    stored = session.scalars(select(DashboardChart).where(DashboardChart.days == days)
                             .order_by(DashboardChart.position)).all()
    if stored and all(c.figures_key == key for c in stored):
        charts = [Chart(c.slug, c.title, c.svg, c.csv) for c in stored]
    else:
        charts = _drawn_elsewhere(session, days, first, last, key)
    board = Board(charts, as_of, hashlib.sha256(key.encode()).hexdigest()[:16])
    with _cache_lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[cache_key] = board
    return board


def dashboard(session: Session, days: int = DEFAULT_DAYS) -> list[Chart]:
    """The dashboard's charts for the last ``days`` days (see ``dashboard_board``)."""
    return dashboard_board(session, days).charts
