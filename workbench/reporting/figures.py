"""Pre-aggregated dashboard figures: one row per day, metric and key (``DailyFigure``).

The maintenance job refreshes today and yesterday every few minutes (``refresh_figures``);
``workbench dashboard rebuild`` recomputes every day from the first report. Each metric
is one grouped query over a day range of an indexed timestamp, so a refresh reads two
days of rows, never the whole history. Days are UTC days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Date, cast, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session

from workbench.enums import OPEN_CASE_STATUSES, ReportSource
from workbench.models import Action, Case, DailyFigure, Report, utcnow

log = logging.getLogger(__name__)


class Metric:
    """The metrics kept, and what their keys are."""

    #: Reports received per day; key: category.
    REPORTS = "reports"
    #: Actions taken per day; key: action type.
    ACTIONS = "actions"
    #: Cases decided per day; key: the deciding moderator's id.
    DECISIONS = "decisions"
    #: Median minutes from a case opening to its decision, for cases decided that day.
    DECISION_MINUTES_P50 = "decision_minutes_p50"
    DECIDED = "decided"
    #: Classifier-raised reports whose case was decided that day, and those upheld;
    #: key: ``"<model> <version>|<label>"``.
    CLASSIFIER_DECIDED = "classifier_decided"
    CLASSIFIER_UPHELD = "classifier_upheld"
    #: A snapshot of open cases by time left before their deadline; key: bucket label.
    OPEN_BY_DEADLINE = "open_by_deadline"


#: Time left before the deadline (hours; negative is overdue), as ``(upper bound, label)``.
DEADLINE_BUCKETS: tuple[tuple[float, str], ...] = (
    (-72, "overdue >3 d"), (-24, "overdue 1-3 d"), (-4, "overdue 4-24 h"),
    (0, "overdue <4 h"), (1, "due <1 h"), (4, "due 1-4 h"), (24, "due 4-24 h"),
    (72, "due 1-3 d"), (float("inf"), "due >3 d"),
)
#: The report category each classifier label raises, reversed (``workbench.cases.scoring``).
CATEGORY_LABEL = {"harassment": "abusive", "hate": "hate", "spam_scam": "spam_scam"}


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last``, in UTC."""
    return (datetime.combine(first, time(), UTC),
            datetime.combine(last + timedelta(days=1), time(), UTC))


def _utc_day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        # A literal, not a parameter: the expression is repeated in GROUP BY.
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)  # SQLite keeps UTC text; its date part is the UTC day


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class Row:
    day: date
    metric: str
    key: str
    value: float


def _grouped(session: Session, metric: str, column: Any, key: Any, start: datetime,
             end: datetime, *where: Any) -> list[Row]:
    day = _utc_day(session, column)
    return [Row(_as_date(d), metric, str(k), float(n)) for d, k, n in session.execute(
        select(day, key, func.count()).where(column >= start, column < end, *where)
        .group_by(day, key)).all()]


def _decision_times(session: Session, start: datetime, end: datetime) -> list[Row]:
    rows = session.execute(
        select(Case.decided_at, Case.created_at)
        .where(Case.decided_at >= start, Case.decided_at < end)).all()
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["decided_at", "created_at"])
    frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
    frame["minutes"] = (frame["decided_at"] - pd.to_datetime(frame["created_at"], utc=True)
                        ).dt.total_seconds() / 60
    grouped = frame.groupby(frame["decided_at"].dt.date)["minutes"].agg(["median", "size"])
    out = []
    for day, row in grouped.iterrows():
        out.append(Row(_as_date(day), Metric.DECISION_MINUTES_P50, "", float(row["median"])))
        out.append(Row(_as_date(day), Metric.DECIDED, "", float(row["size"])))
    return out


def _classifier(session: Session, start: datetime, end: datetime) -> list[Row]:
    day = _utc_day(session, Case.decided_at)
    totals: dict[tuple[date, str, str], float] = {}
    for d, model, version, category, decision, n in session.execute(
        select(day, Report.model_name, Report.model_version, Report.category, Case.decision,
               func.count(Report.id))
        .join(Case, Case.id == Report.case_id)
        .where(Case.decided_at >= start, Case.decided_at < end,
               Report.source == ReportSource.CLASSIFIER.value)
        .group_by(day, Report.model_name, Report.model_version, Report.category,
                  Case.decision)
    ).all():
        key = f"{model or 'model'} {version or '?'}|{CATEGORY_LABEL.get(category, category)}"
        metrics = [Metric.CLASSIFIER_DECIDED]
        if decision == "violation":
            metrics.append(Metric.CLASSIFIER_UPHELD)
        for metric in metrics:  # upheld and dismissed rows add up under one key
            totals[(_as_date(d), metric, key)] = totals.get((_as_date(d), metric, key), 0) + n
    return [Row(d, metric, key, float(n)) for (d, metric, key), n in totals.items()]


def deadline_bucket(hours_left: float) -> str:
    return next(label for bound, label in DEADLINE_BUCKETS if hours_left < bound)


def _open_snapshot(session: Session, now: datetime) -> list[Row]:
    """Open cases now, by time left before their deadline (stored under today)."""
    counts = dict.fromkeys((label for _, label in DEADLINE_BUCKETS), 0)
    for (due_at,) in session.execute(
        select(Case.due_at).where(Case.status.in_(OPEN_CASE_STATUSES))
    ).all():
        counts[deadline_bucket((due_at - now) / timedelta(hours=1))] += 1
    return [Row(now.date(), Metric.OPEN_BY_DEADLINE, label, float(n))
            for label, n in counts.items()]


def compute(session: Session, first: date, last: date, now: datetime | None = None) -> list[Row]:
    """Every metric for the days ``first`` to ``last``, plus today's open-case snapshot."""
    now = now or utcnow()
    start, end = day_bounds(first, last)
    rows = _grouped(session, Metric.REPORTS, Report.created_at, Report.category, start, end)
    rows += _grouped(session, Metric.ACTIONS, Action.created_at, Action.type, start, end)
    rows += _grouped(session, Metric.DECISIONS, Case.decided_at, Case.decided_by_id, start, end,
                     Case.decided_by_id.is_not(None))
    rows += _decision_times(session, start, end)
    rows += _classifier(session, start, end)
    if first <= now.date() <= last:
        rows += _open_snapshot(session, now)
    return rows


def store(session: Session, rows: Iterable[Row], first: date, last: date) -> int:
    """Replace the figures of ``first`` to ``last`` with ``rows`` (in the caller's transaction).

    ``updated_at`` is the time of writing: the dashboard keeps its charts until it changes.
    """
    now = utcnow()
    session.execute(delete(DailyFigure).where(DailyFigure.day >= first, DailyFigure.day <= last))
    values = [{"day": r.day, "metric": r.metric, "key": r.key[:200], "value": r.value,
               "updated_at": now} for r in rows]
    for start in range(0, len(values), 1000):
        session.execute(insert(DailyFigure), values[start:start + 1000])
    return len(values)


def refresh_figures(session: Session, days: int = 2, now: datetime | None = None) -> int:
    """Recompute the last ``days`` days (today included); the scheduled job's work."""
    now = now or utcnow()
    first = now.date() - timedelta(days=days - 1)
    return store(session, compute(session, first, now.date(), now), first, now.date())


def rebuild_figures(session: Session, now: datetime | None = None) -> int:
    """Recompute every day since the first report (``workbench dashboard rebuild``)."""
    now = now or utcnow()
    earliest = [session.execute(select(func.min(column))).scalar_one()
                for column in (Report.created_at, Action.created_at, Case.decided_at)]
    known = [_as_date(e) for e in earliest if e is not None]
    first = min(known, default=now.date())
    session.execute(delete(DailyFigure))
    written = store(session, compute(session, first, now.date(), now), first, now.date())
    log.info("dashboard figures rebuilt from %s: %d rows", first, written)
    return written
