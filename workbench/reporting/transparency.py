"""Transparency: the monthly report, its CSV, JSON and charts, and statements of reasons
in the form the DSA transparency database takes.

The monthly report carries the figures of India's IT Rules 2021 rule 4(1)(d) monthly
compliance report (grievances received and acted on, proactive removals) and of the
DSA Art. 15(1) transparency report (orders, notices, own-initiative moderation,
complaints, automated means). All times are UTC; a month is [first day, next first day).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from actions.spreadsheet import frame_csv
from workbench.cases.policy import DEFAULT_DEADLINE_HOURS
from workbench.enums import ActionType, ReportSource
from workbench.models import (
    Account,
    Action,
    Appeal,
    Case,
    HashBank,
    ImageMatch,
    LegalRequest,
    Message,
    Recording,
    Report,
    StatementOfReasons,
)
from workbench.reporting import drawn

#: Report sources that are the workbench's own detection rather than a person's notice.
AUTOMATED_SOURCES = (ReportSource.CLASSIFIER.value, ReportSource.FRAUD.value,
                     ReportSource.EVASION.value)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1 to 12, got {month}")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _frame(session: Session, query: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    result = session.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for name in frame.columns:
        if name.endswith("_at"):  # times, NaT where empty (not None, which cannot compare)
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def _median_hours(delta: pd.Series) -> float | None:
    delta = delta.dropna()
    if delta.empty:
        return None
    return round(float(delta.dt.total_seconds().median()) / 3600, 2)


def _reports(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    return _frame(session, select(
        Report.id, Report.category, Report.source, Report.received_at, Report.case_id,
        Case.status.label("case_status"), Case.decision, Case.decided_at)
        .outerjoin(Case, Case.id == Report.case_id)
        .where(Report.received_at >= start, Report.received_at < end))


def _actions(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    first_report = (select(Report.case_id, Report.received_at, Report.source)
                    .where(Report.case_id.is_not(None)))
    in_window = (Action.created_at >= start, Action.created_at < end)
    actions = _frame(session, select(
        Action.id, Action.type, Action.automated, Action.decided_by_rule, Action.case_id,
        Action.category, Action.policy_reason, Action.created_at).where(*in_window))
    # The cases by a subquery, not a list of their ids: a month of a large platform acts
    # on hundreds of thousands of cases, past the 65,535 parameters a statement may bind.
    reports = _frame(session, first_report.where(
        Report.case_id.in_(select(Action.case_id).where(*in_window,
                                                        Action.case_id.is_not(None)))))
    if reports.empty:
        actions["first_report_at"] = pd.Series(pd.NaT, index=actions.index,
                                               dtype="datetime64[ns, UTC]")
        actions["user_notice"] = False
        return actions
    # Vectorised: a Python function per case took seconds on a month of 7,000 cases.
    per_case = reports.assign(from_user=reports["source"] == ReportSource.USER.value).groupby(
        "case_id").agg(first_report_at=("received_at", "min"), user_notice=("from_user", "any"))
    return actions.merge(per_case, how="left", left_on="case_id", right_index=True)


def _grievances(reports: pd.DataFrame, deadlines: Mapping[str, float]) -> dict[str, Any]:
    """IT Rules 2021 r.4(1)(d): user grievances received, acknowledged, resolved in time."""
    user = reports[reports["source"] == ReportSource.USER.value]
    hours = user["category"].map(lambda c: deadlines.get(c, deadlines.get("other", 168)))
    due = user["received_at"] + pd.to_timedelta(hours, unit="h")
    resolved = user["decided_at"].notna()
    in_time = resolved & (user["decided_at"] <= due)
    return {"received": int(len(user)),
            # The intake acknowledges each grievance in its 202 answer, at receipt.
            "acknowledged_within_24h": int(len(user)),
            "resolved": int(resolved.sum()), "resolved_within_deadline": int(in_time.sum()),
            "resolved_late": int((resolved & ~in_time).sum()),
            "pending": int((~resolved).sum()),
            "actioned": int((user["decision"] == "violation").sum())}


def _appeals(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    received = _frame(session, select(Appeal.id).where(Appeal.received_at >= start,
                                                       Appeal.received_at < end))
    decided = _frame(session, select(Appeal.status, Appeal.received_at, Appeal.decided_at,
                                     Action.automated)
                     .join(Action, Action.id == Appeal.action_id)
                     .where(Appeal.decided_at >= start, Appeal.decided_at < end))
    overturned = decided["status"] == "overturned"
    return {"received": int(len(received)), "decided": int(len(decided)),
            "upheld": int((decided["status"] == "upheld").sum()),
            "overturned": int(overturned.sum()),
            "overturned_automated": int((overturned & decided["automated"]).sum()),
            "median_hours_to_decision": _median_hours(decided["decided_at"]
                                                      - decided["received_at"])}


def _orders(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """DSA Art. 15(1)(a): orders from authorities (take down: Art. 9; disclose: Art. 10)."""
    frame = _frame(session, select(LegalRequest.authority_type, LegalRequest.asks,
                                   LegalRequest.received_at, LegalRequest.closed_at)
                   .where(LegalRequest.received_at >= start, LegalRequest.received_at < end))
    asks = frame["asks"].explode() if not frame.empty else pd.Series(dtype=object)
    return {"received": int(len(frame)), "by_authority": _counts(frame["authority_type"]),
            "by_ask": _counts(asks.dropna()),
            "median_hours_to_answer": _median_hours(frame["closed_at"] - frame["received_at"])}


def _hash_matches(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Images found near a hash bank's entry this month, by bank and by bank category
    (one image matching two entries of a bank counts twice)."""
    frame = _frame(session, select(HashBank.name.label("bank"), HashBank.category)
                   .join(ImageMatch, ImageMatch.bank_id == HashBank.id)
                   .where(ImageMatch.created_at >= start, ImageMatch.created_at < end))
    return {"total": int(len(frame)), "by_bank": _counts(frame["bank"]),
            "by_category": _counts(frame["category"])}


def monthly_report(session: Session, year: int, month: int, *,
                   deadline_hours: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Every figure of one month's transparency and compliance report."""
    start, end = month_bounds(year, month)
    deadlines = {**DEFAULT_DEADLINE_HOURS, **(deadline_hours or {})}
    reports = _reports(session, start, end)
    actions = _actions(session, start, end)
    appeals = _appeals(session, start, end)
    automated_detection = reports["source"].isin(AUTOMATED_SOURCES)
    own_initiative = actions[~actions["user_notice"].fillna(False).astype(bool)]
    removals = actions[actions["type"] == ActionType.REMOVE_CONTENT.value]
    notices = reports[reports["source"] == ReportSource.USER.value]
    decided_notices = notices[notices["decided_at"].notna()]
    return {
        "period": {"year": year, "month": month, "from": start.isoformat(),
                   "to": end.isoformat()},
        "reports_received": {"total": int(len(reports)),
                             "by_category": _counts(reports["category"]),
                             "by_source": _counts(reports["source"])},
        "actions": {"total": int(len(actions)), "by_type": _counts(actions["type"])},
        # Safety resources sent to people at risk: support, not enforcement.
        "welfare_checks": {"sent": int(
            (actions["type"] == ActionType.WELFARE_CHECK.value).sum())},
        "automation": {"reports_detected_automatically": int(automated_detection.sum()),
                       "actions_decided_automatically": int(actions["automated"].sum()),
                       "actions_decided_by_people": int((~actions["automated"]).sum())},
        "median_hours_to_action": _median_hours(actions["created_at"]
                                                - actions["first_report_at"]),
        "appeals": appeals,
        "grievances": _grievances(reports, deadlines),
        "proactive_removals": int((~removals["user_notice"].fillna(False).astype(bool)).sum()),
        "hash_matches": _hash_matches(session, start, end),
        "dsa_art15": {
            "orders": _orders(session, start, end),
            "notices": {"received": int(len(notices)),
                        "by_category": _counts(notices["category"]),
                        "from_trusted_flaggers": 0,
                        "acted_on": int((notices["decision"] == "violation").sum()),
                        "median_hours_to_decision": _median_hours(
                            decided_notices["decided_at"] - decided_notices["received_at"])},
            "own_initiative": {"actions": int(len(own_initiative)),
                               "by_type": _counts(own_initiative["type"]),
                               "automated": int(own_initiative["automated"].sum())},
            "complaints": appeals,
            "automated_means": {
                "actions_decided_automatically": int(actions["automated"].sum()),
                "automated_actions_overturned_on_appeal": appeals["overturned_automated"]},
        },
    }


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV, one figure a row (``metric,value``)."""
    frame = pd.DataFrame(list(_flatten(report)), columns=["metric", "value"])
    return frame_csv(frame)


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def _bar(title: str, counts: Mapping[str, int]) -> str:
    # Imported here: a web process that only reads kept reports never loads matplotlib.
    import matplotlib

    # Heavy: imported on first use, not when the module loads.
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "harmoni", "svg.fonttype": "none"}):
        fig = Figure(figsize=(6, 3.2))  # drawn on the server, no pyplot and no display
        ax = fig.subplots()
        labels = list(counts) or ["none"]
        ax.barh(labels, [counts.get(k, 0) for k in labels], color="#3b6ea8")
        ax.set_title(title)
        ax.invert_yaxis()
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def report_charts(report: dict[str, Any]) -> dict[str, str]:
    """SVG charts of the report, drawn with matplotlib on the server."""
    grievances = report["grievances"]
    return {
        "reports_by_category": _bar("Reports received by category",
                                    report["reports_received"]["by_category"]),
        "actions_by_type": _bar("Actions by type", report["actions"]["by_type"]),
        "grievances": _bar("Grievances", {k: grievances[k] for k in (
            "received", "resolved_within_deadline", "resolved_late", "pending")}),
    }


#: Charts of the report, in the order the page shows them.
CHART_NAMES = ("reports_by_category", "actions_by_type", "grievances")
#: Seconds a kept report is shown: the job draws the current and the last month again
#: every ``REPORT_REFRESH_S``, so a report on the page is at most that old while the
#: worker runs, and never older than this (a report nobody drew is drawn on first view).
REPORT_MAX_AGE_S = 900
REPORT_REFRESH_S = 300


def report_key(year: int, month: int, deadline_hours: Mapping[str, float] | None) -> str:
    """Where a month's drawn report is kept (the deadlines change its figures)."""
    deadlines = json.dumps(dict(deadline_hours or {}), sort_keys=True)
    digest = hashlib.sha256(deadlines.encode()).hexdigest()[:12]
    return f"transparency:{year:04d}-{month:02d}:{digest}"


def draw_report(session: Session, year: int, month: int, *,
                deadline_hours: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A month's report and its charts, as the page shows them (seconds on a big month)."""
    report = monthly_report(session, year, month, deadline_hours=deadline_hours)
    return {"report": report, "charts": report_charts(report)}


def published_report(session: Session, year: int, month: int, *,
                     deadline_hours: Mapping[str, float] | None = None) -> drawn.Drawn:
    """A month's report and charts as kept for every process, drawn here if none is."""
    return drawn.fetch(report_key(year, month, deadline_hours),
                       lambda: draw_report(session, year, month,
                                           deadline_hours=deadline_hours),
                       REPORT_MAX_AGE_S)


def refresh_reports(session: Session, now: datetime | None = None, *,
                    deadline_hours: Mapping[str, float] | None = None) -> list[str]:
    """Draw this month's and last month's reports and keep them (the periodic job)."""
    now = now or datetime.now(UTC)
    last = (now.year - (now.month == 1), (now.month - 2) % 12 + 1)
    kept = []
    for year, month in ((now.year, now.month), last):
        key = report_key(year, month, deadline_hours)
        drawn.keep(key, drawn.Drawn.of(draw_report(session, year, month,
                                                   deadline_hours=deadline_hours)),
                   REPORT_MAX_AGE_S)
        kept.append(key)
    return kept


#: Fields of a statement of reasons in the DSA transparency database's API.
DSA_FIELDS = frozenset({
    "decision_visibility", "decision_visibility_other", "decision_monetary",
    "decision_monetary_other", "decision_provision", "decision_account", "account_type",
    "decision_ground", "decision_ground_reference_url", "illegal_content_legal_ground",
    "illegal_content_explanation", "incompatible_content_ground",
    "incompatible_content_explanation", "incompatible_content_illegal", "content_type",
    "content_type_other", "category", "category_addition", "category_specification",
    "category_specification_other", "territorial_scope", "content_language", "content_date",
    "application_date", "end_date_account_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_visibility_restriction", "decision_facts",
    "source_type", "source_identity", "automated_detection", "automated_decision", "puid"})
FREE_TEXT = ("decision_facts", "illegal_content_explanation", "incompatible_content_explanation")
#: Emails, links, @handles and phone numbers.
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://\S+|www\.\S+|@\w{2,}"
                      r"|\+?\d[\d\s().-]{6,}\d")


def redact(text: str | None, identifiers: set[str]) -> str | None:
    """Free text with contact details and the person's own identifiers blanked out."""
    if not text:
        return text
    text = _CONTACT.sub("[redacted]", text)
    for value in sorted((i for i in identifiers if i and len(i) >= 3), key=len, reverse=True):
        text = re.sub(re.escape(value), "[redacted]", text, flags=re.IGNORECASE)
    return text


def dsa_statement(body: dict[str, Any], *, action_id: int, content_date: datetime,
                  identifiers: set[str]) -> dict[str, Any]:
    """A stored statement as the DSA database takes it: its fields only, no personal data.

    What a user is told beyond those fields (how to seek redress) is left out, an empty
    visibility list is dropped, and free text loses the person's identifiers.
    """
    record = {k: v for k, v in body.items() if k in DSA_FIELDS and v not in (None, [])}
    for name in FREE_TEXT:
        if name in record:
            record[name] = redact(record[name], identifiers)
    if "CONTENT_TYPE_OTHER" in record.get("content_type", []):
        record.setdefault("content_type_other", "user account")
    record["content_date"] = content_date.date().isoformat()
    record["puid"] = f"harmoni-sor-{action_id}"
    return record


def dsa_statements(session: Session, since: datetime | None = None,
                   batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every statement of reasons (from ``since``), ready for the DSA database."""
    query = (select(StatementOfReasons.action_id, StatementOfReasons.body, Action.person_id,
                    Action.created_at, Message.sent_at, Recording.recorded_at)
             .join(Action, Action.id == StatementOfReasons.action_id)
             .outerjoin(Message, Message.id == Action.message_id)
             .outerjoin(Recording, Recording.id == Action.recording_id)
             .order_by(StatementOfReasons.id))
    if since is not None:
        query = query.where(StatementOfReasons.created_at >= since)
    for chunk in session.execute(query.execution_options(yield_per=batch)).partitions():
        people = {row.person_id for row in chunk}
        known: dict[int, set[str]] = {}
        for person_id, user_id, username in session.execute(
                select(Account.person_id, Account.platform_user_id, Account.username)
                .where(Account.person_id.in_(people))):
            known.setdefault(person_id, set()).update({user_id, username or ""})
        for row in chunk:
            yield dsa_statement(row.body, action_id=row.action_id,
                                content_date=row.sent_at or row.recorded_at or row.created_at,
                                identifiers=known.get(row.person_id, set()))
