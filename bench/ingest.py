"""Intake throughput and time to case, against gunicorn, Redis and PostgreSQL.

Run: ``make bench-ingest`` (or ``.venv/bin/python bench/ingest.py``). Uses a scratch
database (``BENCH_DATABASE_URL``, default ``workbench_bench`` on the local PostgreSQL) and
Redis database 11 (``BENCH_REDIS_URL``). Figures are medians of several runs; the baseline,
one RQ job per report, is measured in the same run on the same Redis.

Beside each rate, the CPU it cost per item, by part: this process (the platforms sending:
JSON, signing, HTTP), the web server's processes, the intake workers and the database's
backends. Chat messages are timed too (accepted, stored and queued for classification;
no classify worker runs here), for the capacity model's intake figures (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.signing import signed_headers  # noqa: E402
from bench.harness import (  # noqa: E402
    ABUSIVE,
    BENIGN,
    Stack,
    median,
    percentile,
    print_json,
    print_table,
    running,
)

SLUG, SECRET = "bench-calls", "bench-platform-secret-0123456789"
CHAT = BENIGN * 3 + ABUSIVE
_ids = itertools.count()


class _Tally:
    """Reports the server said it accepted (its 202 bodies), over every phase."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = 0

    def add(self, n: int) -> None:
        with self.lock:
            self.n += n


ACCEPTED = _Tally()


def counted_by_server(stack: Stack) -> float:
    """``workbench_intake_items_total`` for this platform's reports, from ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(stack.base_url + "/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == "workbench_intake_items_total"
               and s.labels == {"kind": "reports", "platform": SLUG})


def noop() -> None:
    """The baseline's job: nothing, so what is measured is RQ's own cost per job."""


def _reports(n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat()
    out: list[dict[str, object]] = []
    for _ in range(n):
        i = next(_ids)
        out.append({"id": f"r{i}", "reporter_id": f"rep{i % 5000}",
                    "reported_user_id": f"user{i % 20000}", "category": "harassment",
                    "created_at": now})
    return out


def _messages(n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat()
    out: list[dict[str, object]] = []
    for _ in range(n):
        i = next(_ids)
        out.append({"id": f"m{i}", "conversation_id": f"c{i % 10000}",
                    "sender_id": f"user{i % 20000}", "recipient_id": f"user{(i + 1) % 20000}",
                    "text": CHAT[i % len(CHAT)], "sent_at": now})
    return out


def _post(session: requests.Session, base: str, items: list[dict[str, object]],
          kind: str = "reports") -> None:
    body = json.dumps({kind: items}).encode()
    headers = {**signed_headers(SLUG, SECRET, body), "Content-Type": "application/json"}
    r = session.post(f"{base}/api/v1/{kind}", data=body, headers=headers, timeout=60)
    if r.status_code != 202:
        raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
    if kind == "reports":
        ACCEPTED.add(int(r.json()["accepted"]))


def _sessions(n: int) -> list[requests.Session]:
    return [requests.Session() for _ in range(n)]


def _cased(stack: Stack) -> int:
    return int(stack.scalar("SELECT count(*) FROM report WHERE case_id IS NOT NULL"))


def _last_batch(stack: Stack) -> int:
    return int(stack.scalar("SELECT coalesce(max(id), 0) FROM outbox_batch"))


def _wait_until_cased(stack: Stack, after_batch: int, cased: int) -> None:
    """Until the batches written after ``after_batch`` are processed, then until ``cased``
    reports are in a case (a batch's reports are filed in its job's transaction, so this
    is normally so at the first count). Polls the few batches, not the growing report
    table: counting every cased report 20 times a second cost the database more than a
    tenth of a core by the third run."""
    while stack.scalar(f"SELECT count(*) FROM outbox_batch WHERE id > {after_batch} "
                       "AND processed_at IS NULL"):
        time.sleep(0.05)
    while _cased(stack) < cased:
        time.sleep(0.05)


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each part: this process (the platforms sending), the web
    server (its gunicorn processes), the queue workers and the database's backends."""
    me = psutil.Process().cpu_times()
    return {"senders": me.user + me.system, "web": stack.procs_cpu_s(stack.procs[:1]),
            "workers": stack.procs_cpu_s(stack.procs[1:]), "postgresql": stack.database_cpu_s()}


@dataclass
class Batched:
    accepted_per_s: float
    cased_per_s: float
    #: CPU milliseconds per report, by part (``cpu_seconds``), from the first request
    #: to the last report cased.
    cpu_ms: dict[str, float]


def _send_all(stack: Stack, batches: list[list[dict[str, object]]], threads: int,
              kind: str = "reports") -> float:
    """Post every batch from ``threads`` threads (a session each); the seconds it took."""
    sessions = _sessions(threads)
    local = threading.local()

    def send(items: list[dict[str, object]]) -> None:
        if not hasattr(local, "s"):
            local.s = sessions.pop()
        _post(local.s, stack.base_url, items, kind)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, batches))
    return time.perf_counter() - t0


def _cpu_ms(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, float]:
    return {k: 1000 * (after[k] - before[k]) / items for k in after}


def run_batched(stack: Stack, total: int, batch: int, threads: int) -> Batched:
    """Reports accepted and cased per second, and the CPU they cost, for ``total`` reports."""
    start_cased, start_batch = _cased(stack), _last_batch(stack)
    batches = [_reports(batch) for _ in range(total // batch)]
    cpu_before = cpu_seconds(stack)
    t0 = time.perf_counter()
    accepted = _send_all(stack, batches, threads)
    _wait_until_cased(stack, start_batch, start_cased + total)
    cased = time.perf_counter() - t0
    return Batched(total / accepted, total / cased,
                   _cpu_ms(cpu_before, cpu_seconds(stack), total))


def run_messages(stack: Stack, total: int, batch: int, threads: int) -> Batched:
    """Chat messages accepted per second (stored, and queued for the classify workers,
    which this benchmark does not start), and the CPU they cost by part."""
    batches = [_messages(batch) for _ in range(total // batch)]
    cpu_before = cpu_seconds(stack)
    accepted = _send_all(stack, batches, threads, "messages")
    cpu = _cpu_ms(cpu_before, cpu_seconds(stack), total)
    del cpu["workers"]  # no worker takes messages here
    return Batched(total / accepted, float("nan"), cpu)


def run_single(stack: Stack, total: int, threads: int) -> tuple[float, float]:
    """Reports accepted per second, one report per request (a platform that sends each
    report as it is made), and accepted and cased per second."""
    start_cased, start_batch = _cased(stack), _last_batch(stack)
    t0 = time.perf_counter()
    accepted = _send_all(stack, [_reports(1) for _ in range(total)], threads)
    _wait_until_cased(stack, start_batch, start_cased + total)
    return total / accepted, total / (time.perf_counter() - t0)


def wait_until_cased(stack: Stack, timeout: float = 600) -> None:
    """Let the workers finish what earlier phases queued, so phases do not overlap."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not int(stack.scalar("SELECT count(*) FROM report WHERE case_id IS NULL")):
            return
        time.sleep(0.2)


def run_steady(stack: Stack, rate: int, seconds: float) -> list[float]:
    """Send ``rate`` reports/s in batches of rate/10 every 100 ms; seconds from intake to case."""
    first_id = int(stack.scalar("SELECT coalesce(max(id), 0) FROM report"))
    per_tick = rate // 10
    sessions = _sessions(4)
    local = threading.local()

    def send(reports: list[dict[str, object]]) -> None:
        if not hasattr(local, "s"):
            local.s = sessions.pop()
        _post(local.s, stack.base_url, reports)

    ticks = int(seconds * 10)
    with ThreadPoolExecutor(4) as pool:
        t0 = time.perf_counter()
        futures = []
        for k in range(ticks):
            futures.append(pool.submit(send, _reports(per_tick)))
            time.sleep(max(0.0, t0 + (k + 1) * 0.1 - time.perf_counter()))
        for future in futures:
            future.result()  # a refused batch is an error in the benchmark, not a figure
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if int(stack.scalar(f"SELECT count(*) FROM report WHERE id > {first_id} "
                            "AND case_id IS NOT NULL")) >= ticks * per_tick:
            break
        time.sleep(0.2)
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT extract(epoch FROM cased_at - received_at) FROM report "
            f"WHERE id > {first_id} AND cased_at IS NOT NULL")).scalars().all()
    engine.dispose()
    return [float(r) for r in rows]


def run_baseline(stack: Stack, jobs: int, forking: bool) -> float:
    """Jobs per second when each report is its own (empty) RQ job."""
    import redis
    from rq import Queue, SimpleWorker, Worker

    from bench.ingest import noop as job  # importable by name, unlike __main__.noop

    conn = redis.Redis.from_url(stack.redis_url)
    queue = Queue("baseline", connection=conn)
    queue.empty()
    with conn.pipeline() as pipe:
        for _ in range(jobs):
            queue.enqueue(job, pipeline=pipe)
        pipe.execute()
    worker_cls = Worker if forking else SimpleWorker
    t0 = time.perf_counter()
    worker_cls([queue], connection=conn).work(burst=True, logging_level="WARNING")
    return jobs / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--total", type=int, default=20_000, help="reports per batched run")
    parser.add_argument("--workers", type=int, default=2, help="queue workers")
    parser.add_argument("--steady-seconds", type=float, default=20)
    args = parser.parse_args()

    stack = Stack()
    stack.reset()
    stack.register_platform(SLUG, SECRET)
    with running(stack):
        stack.start_server(workers=2)
        counted_before = counted_by_server(stack)
        stack.start_workers(args.workers, queues="intake")
        run_batched(stack, 2000, 500, 4)  # warm up: imports, connections, caches
        batched = [run_batched(stack, args.total, 500, 4) for _ in range(args.runs)]
        single = [run_single(stack, 1000, 8) for _ in range(args.runs)]
        wait_until_cased(stack)
        run_messages(stack, 2000, 500, 4)  # warm up the message path
        messages = [run_messages(stack, args.total, 500, 4) for _ in range(args.runs)]
        wait_until_cased(stack)
        latencies = run_steady(stack, 500, args.steady_seconds)
        counted = counted_by_server(stack) - counted_before
    simple = [run_baseline(stack, 2000, forking=False) for _ in range(args.runs)]
    forked = [run_baseline(stack, 300, forking=True) for _ in range(args.runs)]

    figures = {
        "reports_per_s_batched": round(median([b.accepted_per_s for b in batched]), 1),
        "reports_per_s_batched_cased": round(median([b.cased_per_s for b in batched]), 1),
        "reports_per_s_single": round(median([a for a, _ in single]), 1),
        "reports_per_s_single_cased": round(median([c for _, c in single]), 1),
        "p50_to_case_s": round(percentile(latencies, 50), 3),
        "p95_to_case_s": round(percentile(latencies, 95), 3),
        "steady_rate_reports_per_s": 500,
        "steady_reports": len(latencies),
        "baseline_per_item_jobs_per_s": round(median(simple), 1),
        "baseline_per_item_forking_jobs_per_s": round(median(forked), 1),
        # The same count twice: the 202 bodies this benchmark read, and the server's own
        # counter at /metrics (added up over its gunicorn processes).
        "accepted_reports_by_responses": ACCEPTED.n,
        "accepted_reports_by_metrics": int(counted),
    }
    for part in batched[0].cpu_ms:
        figures[f"cpu_ms_per_report_{part}"] = round(median([b.cpu_ms[part] for b in batched]), 4)
    figures["messages_per_s_batched"] = round(median([m.accepted_per_s for m in messages]), 1)
    for part in messages[0].cpu_ms:
        figures[f"cpu_ms_per_message_{part}"] = round(
            median([m.cpu_ms[part] for m in messages]), 4)
    figures["cpu_ms_per_report"] = round(median([sum(b.cpu_ms.values()) for b in batched]), 4)
    figures["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    figures["ratio_batched_cased_vs_per_item_jobs"] = round(
        figures["reports_per_s_batched_cased"] / figures["baseline_per_item_jobs_per_s"], 1)
    print_table("Intake (gunicorn 2 workers, PostgreSQL, Redis; medians of "
                f"{args.runs} runs, batches of 500)", [
        ("accepted, batched (reports/s)", f"{figures['reports_per_s_batched']:,.0f}"),
        ("accepted and cased, batched (reports/s)",
         f"{figures['reports_per_s_batched_cased']:,.0f}"),
        ("accepted, one report per request (reports/s)",
         f"{figures['reports_per_s_single']:,.0f}"),
        ("accepted and cased, one report per request (reports/s)",
         f"{figures['reports_per_s_single_cased']:,.0f}"),
        ("intake to case at 500 reports/s, p50 (s)", f"{figures['p50_to_case_s']:.3f}"),
        ("intake to case at 500 reports/s, p95 (s)", f"{figures['p95_to_case_s']:.3f}"),
        ("baseline: one RQ job per report, SimpleWorker (jobs/s)",
         f"{figures['baseline_per_item_jobs_per_s']:,.0f}"),
        ("baseline: one RQ job per report, forking Worker (jobs/s)",
         f"{figures['baseline_per_item_forking_jobs_per_s']:,.0f}"),
        *[(f"CPU per report, batched: {part} (ms)", f"{figures[f'cpu_ms_per_report_{part}']:.3f}")
          for part in batched[0].cpu_ms],
        ("CPU per report, batched: all parts (ms)", f"{figures['cpu_ms_per_report']:.3f}"),
        ("chat messages accepted, batched (messages/s)",
         f"{figures['messages_per_s_batched']:,.0f}"),
        *[(f"CPU per message accepted: {part} (ms)",
           f"{figures[f'cpu_ms_per_message_{part}']:.3f}") for part in messages[0].cpu_ms],
        ("batched and cased / per-item jobs",
         f"{figures['ratio_batched_cased_vs_per_item_jobs']}x"),
        ("reports accepted, all phases: by the 202 answers",
         f"{figures['accepted_reports_by_responses']:,}"),
        ("reports accepted, all phases: by /metrics (workbench_intake_items_total)",
         f"{figures['accepted_reports_by_metrics']:,}"),
    ])
    print_json(figures)


if __name__ == "__main__":
    main()
