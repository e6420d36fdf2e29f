"""Answers, jobs and latencies: the 5xx rule, the failed registry, and the timing figures.

A sample counts as "with faults" when its interval overlaps a fault's window, or the
``TAIL_S`` after it (a platform back from an outage still works through its backlog);
the rest are "without faults".
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench.soak_harness.client import Accepted, Answer
from bench.soak_harness.drain import FailedJob
from bench.soak_harness.faults import Window, overlaps, windows_of
from bench.soak_harness.ledger import Ledger
from workbench.enums import DeliveryEvent
from workbench.models import Action, EnforcementDelivery, Platform, Report

#: Seconds after a fault's window during which its effects still count as the fault's.
TAIL_S = 15.0
#: A 503 may come a moment after the database's window closes (a request in flight).
DB_GRACE_S = 2.0
#: Faults that interrupt jobs: a job failed by one of them was meant to fail.
JOB_FAULTS = {"kill_worker", "restart_redis", "postgres_unreachable"}
#: The errors those faults raise in a job (anything else failing a job is a finding).
FAULT_ERRORS = ("not currently accepting connection", "terminating connection",
                "server closed the connection", "redis.exceptions.ConnectionError",
                "connection is closed", "consuming input failed")


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 4)

    return {"n": len(ordered), "p50": round(statistics.median(ordered), 4), "p95": at(0.95),
            "p99": at(0.99)}


def split(samples: list[tuple[float, float, float]], windows: list[Window]) -> dict[str, Any]:
    """Percentiles of (start, end, value) samples: all, without faults, with faults."""
    spans = [(w.start, w.end) for w in windows]
    quiet = [v for t0, t1, v in samples if not overlaps(t0, t1, spans, TAIL_S)]
    noisy = [v for t0, t1, v in samples if overlaps(t0, t1, spans, TAIL_S)]
    return {"all": percentiles([v for _, _, v in samples]), "without_faults": percentiles(quiet),
            "with_faults": percentiles(noisy)}


def check_answers(ledger: Ledger, answers: list[Answer], windows: list[Window]) -> None:
    """No 5xx to anything, except a 503 with Retry-After while the database was down."""
    ledger.zero("server_errors", "server_errors_on_bad_input", "bad_input_accepted",
                "bad_error_bodies", "unanswered", "deadlock_503s")
    db_down = windows_of(windows, {"postgres_unreachable"})
    excused = 0
    for a in answers:
        if a.status is None:
            ledger.problem("unanswered", f"{a.kind} at {a.t0:.1f}: {a.error}")
            continue
        if a.status >= 500:
            if a.status == 503 and a.retry_after and overlaps(a.t0, a.t1, db_down, DB_GRACE_S):
                excused += 1
                continue
            if a.status == 503 and a.retry_after and "transaction_conflict" in (a.error or ""):
                ledger.problem("deadlock_503s", f"{a.kind} at {a.t1:.1f}")
                continue
            ledger.problem("server_errors", f"{a.kind} answered {a.status} at {a.t1:.1f}: "
                                            f"{(a.error or '')[:160]}")
            if not a.good:
                ledger.problem("server_errors_on_bad_input", f"{a.kind} answered {a.status}")
        elif not a.good and a.status < 300 and a.kind.startswith("bad:"):
            ledger.problem("bad_input_accepted", f"{a.kind} answered {a.status}")
        elif not a.good and a.kind.startswith("bad:") and not a.error_body_ok \
                and not a.kind.startswith(("bad:login", "bad:act_")):
            ledger.problem("bad_error_bodies", f"{a.kind} answered {a.status}: {a.error}")
    ledger.facts["answers"] = len(answers)
    ledger.facts["answers_503_while_db_down"] = excused
    ledger.facts["status_counts"] = dict(sorted(Counter(
        f"{'good' if a.good else 'bad'} {a.status}" for a in answers).items()))


def check_jobs(ledger: Ledger, waiting: dict[str, list[str]], failed: list[FailedJob],
               windows: list[Window]) -> list[tuple[FailedJob, bool]]:
    """Jobs left waiting are stuck; a failed job is expected only if a fault failed it."""
    ledger.zero("stuck_jobs")
    for place, ids in waiting.items():
        for job_id in ids:
            if place.endswith(":abandoned"):
                ledger.problem("abandoned_by_killed_workers", f"{job_id} ({place})")
            else:
                ledger.problem("stuck_jobs", f"{job_id} still {place}")
    spans = windows_of(windows, JOB_FAULTS)
    listed = []
    for job in failed:
        # What the faults themselves raise, while they last: the database refusing or
        # ending connections, Redis gone, a worker killed under its job.
        caused = any(sign in job.reason for sign in FAULT_ERRORS)
        meant = caused and job.ended_at is not None and overlaps(
            job.ended_at, job.ended_at, spans, TAIL_S)
        meant = meant or "AbandonedJobError" in job.reason
        if not meant:
            ledger.problem("stuck_jobs", f"{job.queue}/{job.job_id} failed unexpectedly: "
                                         f"{job.reason}")
        listed.append((job, meant))
    return listed


def intake_figures(answers: list[Answer], accepted: list[Accepted], engine: Engine,
                   windows: list[Window], load_s: float, start: float) -> dict[str, Any]:
    """Request to 202, and 202 to the report being in a case; items accepted per second
    (from ``start``: the accounts sent before the clock are not timed)."""
    api = [(a.t0, a.t1, a.t1 - a.t0) for a in answers
           if a.good and a.status == 202 and a.t0 >= start]
    accepted = [acc for acc in accepted if acc.t0 >= start]
    answered_at: dict[str, float] = {}
    for acc in accepted:
        for kind, slug, item_id in acc.request.items:
            if kind == "report":
                answered_at.setdefault(f"{slug}/{item_id}", acc.t1)
    to_case: list[tuple[float, float, float]] = []
    with Session(engine) as session:
        slugs = dict(session.execute(select(Platform.id, Platform.slug)).all())
        for platform_id, pid, cased in session.execute(
                select(Report.platform_id, Report.platform_report_id, Report.cased_at)
                .where(Report.source == "user", Report.cased_at.is_not(None))):
            t = answered_at.get(f"{slugs[platform_id]}/{pid}")
            if t is not None and cased is not None:
                end = cased.timestamp()
                to_case.append((t, end, max(0.0, end - t)))
    items = sum(len(a.request.items) for a in accepted)
    return {"request_to_202_s": split(api, windows), "accepted_to_case_s": split(to_case, windows),
            "items_per_s": round(items / load_s, 2),
            "requests_202_per_s": round(len(api) / load_s, 2)}


def enforcement_figures(engine: Engine, windows: list[Window]) -> dict[str, Any]:
    """A moderator's action to the last platform's 2xx; deliveries per second."""
    samples: list[tuple[float, float, float]] = []
    with Session(engine) as session:
        rows = session.execute(
            select(Action.id, Action.created_at, func.max(EnforcementDelivery.delivered_at),
                   func.count(EnforcementDelivery.id))
            .join(EnforcementDelivery, EnforcementDelivery.action_id == Action.id)
            .where(Action.decided_by_id.is_not(None),
                   EnforcementDelivery.event == DeliveryEvent.ACTION.value)
            .group_by(Action.id, Action.created_at)).all()
        span = session.execute(select(func.min(EnforcementDelivery.created_at),
                                      func.max(EnforcementDelivery.delivered_at),
                                      func.count(EnforcementDelivery.delivered_at))).one()
    for _, created, last, _n in rows:
        if last is not None:
            samples.append((created.timestamp(), last.timestamp(),
                            last.timestamp() - created.timestamp()))
    per_s = 0.0
    if span[0] is not None and span[1] is not None and span[1] > span[0]:
        per_s = span[2] / (span[1] - span[0]).total_seconds()
    return {"action_to_last_2xx_s": split(samples, windows), "deliveries_per_s": round(per_s, 2),
            "moderator_actions": len(rows)}
