"""Enforcement delivery: time from a ban to the last platform's 2xx, and burst throughput.

Run: ``make bench-enforcement``. Three platform webhook servers on 127.0.0.1 (threaded,
keep-alive) and a fourth that answers only after ``--slow-s`` seconds (a platform in
trouble; the workers' delivery timeout is set past that, so it is slow, not down), the
real workers (``workbench worker --queues enforce``), PostgreSQL and
Redis. The figures are about the three that answer: a ban's time to the last of them,
and their deliveries per second in a burst, while the slow one holds its requests open.
Measuring starts once the workers listen and a few bans have warmed them up; each figure
is the median of ``--runs`` runs. Each run times a burst twice: with the platforms taking
one delivery a request (the webhook's default form), then with them taking up to
``--webhook-batch`` a request (``event: actions``, for platforms that ask for it); the
latency runs use the default form. The bursts also report CPU time per delivery of the
workers, of this process (the platforms) and of the database. Baseline in the same run:
the same deliveries posted one at a time, each on a fresh connection.

The scratch database is ``BENCH_DATABASE_URL`` and Redis ``BENCH_REDIS_URL`` (both
emptied at the start).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from bench.harness import SECRET_KEY, Stack, median, percentile, print_json, print_table  # noqa: E402
from tests.support.platform_server import PlatformServer  # noqa: E402

SLUGS = ("calls", "web", "meet")
#: The platform that answers late; its deliveries are not counted, only waited beside.
SLOW_SLUG = "slow"


def _app(stack: Stack):
    from workbench.app import create_app

    return create_app({"database_url": stack.database_url, "redis_url": stack.redis_url,
                       "secret_key": SECRET_KEY, "instance_dir": stack.instance_dir})


def _people(app, servers: Mapping[str, object], n: int, offset: int) -> list[int]:
    """``n`` people, each with an account on every platform (bulk inserted)."""
    from workbench.demo.seed import _ids
    from workbench.extensions import db
    from workbench.models import Account, Person, Platform, utcnow

    with app.app_context():
        now = utcnow()
        platforms = dict(db.session.execute(select(Platform.slug, Platform.id)).all())
        people = _ids(db.session, Person, [{"created_at": now} for _ in range(n)])
        rows = [{"platform_id": platforms[slug], "platform_user_id": f"u{offset + i}",
                 "person_id": p, "created_at": now, "updated_at": now, "status": "active",
                 "is_stub": False}
                for i, p in enumerate(people) for slug in servers]
        _ids(db.session, Account, rows)
        db.session.commit()
        return people


def _ban(app, person_ids: list[int], moderator_id: int) -> tuple[list[int], list[int]]:
    from actions.enforcement import ActionRequest, apply_action
    from workbench.enums import ActionType
    from workbench.extensions import db

    with app.app_context():
        actions, deliveries = [], []
        for p in person_ids:
            a = apply_action(db.session, ActionRequest(
                type=ActionType.BAN, person_id=p, policy_reason="spam_scam",
                decided_by_id=moderator_id))
            actions.append(a.id)
            deliveries += [d.id for d in a.deliveries]
        db.session.commit()
        return actions, deliveries


def wait_for_workers(app, n: int, timeout_s: float = 120) -> None:
    """Until ``n`` workers listen on the enforce queue (their start-up is not a ban's)."""
    from rq import Queue, Worker

    from queues.names import QueueName
    from workbench.current import redis_connection

    with app.app_context():
        conn = redis_connection()
        queue = Queue(QueueName.ENFORCE.value, connection=conn)
        deadline = time.monotonic() + timeout_s
        while Worker.count(connection=conn, queue=queue) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fewer than {n} enforce workers started")
            time.sleep(0.2)


def latency(app, servers, people: list[int], moderator_id: int, rate: float) -> list[float]:
    """Seconds from each ban's commit to its last platform's 2xx."""
    from queues.enforce import enqueue_deliveries

    issued: dict[int, float] = {}
    for person in people:
        start = time.time()
        (action_id,), ids = _ban(app, [person], moderator_id)
        issued[action_id] = time.time()
        with app.app_context():
            enqueue_deliveries(ids)
        time.sleep(max(0.0, start + 1 / rate - time.time()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(all(a in s.arrivals for a in issued) for s in servers.values()):
            break
        time.sleep(0.1)
    out = []
    for action_id, t in issued.items():
        last = max(s.arrivals.get(action_id, float("inf")) for s in servers.values())
        out.append(last - t)
    return out


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time so far of the workers, this process (the platforms) and the database."""
    me = psutil.Process().cpu_times()
    return {"workers": stack.procs_cpu_s(), "platforms_and_bench": me.user + me.system,
            "postgresql": stack.database_cpu_s()}


def _set_batch(app, n: int) -> None:
    """Every platform takes up to ``n`` deliveries a request from now on."""
    from workbench.extensions import db
    from workbench.models import Platform

    with app.app_context():
        db.session.execute(update(Platform).values(webhook_batch=n))
        db.session.commit()


def _answering(app) -> list[int]:
    """The ids of the platforms that answer (all but the slow one)."""
    from workbench.extensions import db
    from workbench.models import Platform

    with app.app_context():
        return list(db.session.scalars(select(Platform.id).where(Platform.slug.in_(SLUGS))))


def burst(app, servers, people: list[int], moderator_id: int,
          stack: Stack) -> tuple[float, int, dict[str, float], float]:
    """Deliveries per second to the answering platforms in a burst of bans, CPU ms per
    such delivery by process, and the seconds each ban took to create (``apply_action``,
    one after another in one transaction)."""
    from queues.enforce import enqueue_deliveries
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery

    started = time.perf_counter()
    actions, ids = _ban(app, people, moderator_id)
    ban_s = (time.perf_counter() - started) / len(people)
    answering = _answering(app)
    counted = sum(1 for _ in people) * len(answering)
    # Every earlier action has arrived (the runs before this one waited for them): the
    # burst's are the ones counted past these.
    arrived = {slug: len(s.arrivals) for slug, s in servers.items()}
    cpu_before = cpu_seconds(stack)
    t0 = time.perf_counter()
    with app.app_context():
        enqueue_deliveries(ids)
        deadline = time.monotonic() + 600
        # Done when every delivery to an answering platform is recorded as delivered (not
        # merely received). The platforms' servers are asked first (in this process, at
        # no cost to the database); then the database, until none of them is still
        # pending, which reads the pending ones alone through the due index (a count
        # over every delivery of the burst took PostgreSQL 25 ms a poll, a tenth of a
        # millisecond of its CPU a delivery at these rates).
        while time.monotonic() < deadline and any(
                len(s.arrivals) < arrived[slug] + len(actions) for slug, s in servers.items()
                if slug in SLUGS):
            time.sleep(0.01)
        while time.monotonic() < deadline and db.session.execute(
                select(func.count(EnforcementDelivery.id)).where(
                    EnforcementDelivery.state == "pending",
                    EnforcementDelivery.id.between(min(ids), max(ids)),
                    EnforcementDelivery.platform_id.in_(answering))).scalar_one():
            db.session.rollback()
            time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    cpu_after = cpu_seconds(stack)
    cpu_ms = {k: 1000 * (cpu_after[k] - cpu_before[k]) / counted for k in cpu_after}
    return counted / elapsed, counted, cpu_ms, ban_s


def baseline(app, sample: int) -> float:
    """The same requests posted one at a time on fresh connections."""
    from actions.signing import signed_headers
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery, Platform
    from workbench.platforms import platform_secret

    with app.app_context():
        rows = db.session.execute(
            select(EnforcementDelivery.payload, EnforcementDelivery.idempotency_key, Platform)
            .join(Platform, Platform.id == EnforcementDelivery.platform_id)
            .where(Platform.slug.in_(SLUGS))
            .order_by(EnforcementDelivery.id).limit(sample)).all()
        outgoing = []
        for payload, key, platform in rows:
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            headers = {**signed_headers(platform.slug, platform_secret(platform, SECRET_KEY),
                                        body),
                       "Content-Type": "application/json", "Idempotency-Key": key}
            outgoing.append((platform.webhook_url, body, headers))
    t0 = time.perf_counter()
    for url, body, headers in outgoing:
        requests.post(url, data=body, headers=headers, timeout=5)
    return len(outgoing) / (time.perf_counter() - t0)


class TimedServer(PlatformServer):
    """Records when each action first arrived, by action id."""

    def __init__(self, slug: str, secret: str) -> None:
        super().__init__(slug, secret)
        self.arrivals: dict[int, float] = {}

    def _apply(self, payload: dict[str, Any]) -> None:
        self.arrivals.setdefault(payload["action_id"], time.time())


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bans", type=int, default=1000, help="bans per latency run")
    parser.add_argument("--burst", type=int, default=10_000, help="bans per burst run")
    parser.add_argument("--rate", type=float, default=20.0, help="bans per second, latency run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="latency and burst runs each")
    parser.add_argument("--slow-s", type=float, default=5.0,
                        help="seconds the fourth platform takes to answer (0: no such platform)")
    parser.add_argument("--warm-up", type=int, default=20,
                        help="bans sent (and not counted) once the workers listen")
    parser.add_argument("--webhook-batch", type=int, default=100,
                        help="deliveries a request in the second burst of each run")
    parser.add_argument("--delivery-timeout-s", type=int, default=None,
                        help="the workers' timeout for a webhook request (default: the slow "
                             "platform's answer time and 5 s more, so it is slow, not down)")
    return parser.parse_args()


@dataclass
class Runs:
    """What each run measured."""

    p50s: list[float] = field(default_factory=list)
    p95s: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    #: The same, with the platforms taking deliveries in batches.
    rates_batched: list[float] = field(default_factory=list)
    cpu_batched: list[dict[str, float]] = field(default_factory=list)
    deliveries: int = 0
    ban_seconds: list[float] = field(default_factory=list)


def _measure(args: argparse.Namespace, stack: Stack, app, servers,
             moderator_id: int) -> Runs:
    runs, offset = Runs(), 0
    answering = {slug: s for slug, s in servers.items() if slug in SLUGS}

    def people(n: int) -> list[int]:
        nonlocal offset
        offset += n
        return _people(app, servers, n, offset - n)

    try:
        stack.start_workers(args.workers, queues="enforce")
        wait_for_workers(app, args.workers)
        latency(app, answering, people(args.warm_up), moderator_id, args.rate)
        for _ in range(args.runs):
            lat = latency(app, answering, people(args.bans), moderator_id, args.rate)
            runs.p50s.append(percentile(lat, 50))
            runs.p95s.append(percentile(lat, 95))
            rate, runs.deliveries, cpu_ms, ban_s = burst(app, servers, people(args.burst),
                                                         moderator_id, stack)
            runs.ban_seconds.append(ban_s)
            runs.rates.append(rate)
            runs.cpu.append(cpu_ms)
            _set_batch(app, args.webhook_batch)
            rate, _, cpu_ms, ban_s = burst(app, servers, people(args.burst), moderator_id,
                                           stack)
            runs.ban_seconds.append(ban_s)
            _set_batch(app, 1)
            runs.rates_batched.append(rate)
            runs.cpu_batched.append(cpu_ms)
    finally:
        stack.stop()
    return runs


def _report(args: argparse.Namespace, runs: Runs, base: list[float], undelivered: int,
            slow: dict[str, int]) -> None:
    ratio = median(runs.rates) / median(base)
    cpu = {k: round(median([run[k] for run in runs.cpu]), 3) for k in runs.cpu[0]}
    cpu_batched = {k: round(median([run[k] for run in runs.cpu_batched]), 3)
                   for k in runs.cpu_batched[0]}
    figures = {
        "ban_to_last_platform_p50_s": round(median(runs.p50s), 3),
        "ban_to_last_platform_p95_s": round(median(runs.p95s), 3),
        "ban_to_last_platform_p95_runs_s": [round(v, 3) for v in runs.p95s],
        "deliveries_per_s": round(median(runs.rates_batched), 1),
        "deliveries_per_s_runs": [round(v, 1) for v in runs.rates_batched],
        "webhook_batch": args.webhook_batch,
        "deliveries_per_s_one_a_request": round(median(runs.rates), 1),
        "deliveries_per_s_one_a_request_runs": [round(v, 1) for v in runs.rates],
        "batched_vs_one_a_request": round(median(runs.rates_batched) / median(runs.rates), 2),
        "burst_deliveries": runs.deliveries,
        "ban_created_ms": round(1000 * median(runs.ban_seconds), 2),
        "baseline_sequential_deliveries_per_s": round(median(base), 1),
        "ratio_vs_sequential": round(ratio, 2),
        "burst_cpu_ms_per_delivery": cpu,
        "burst_cpu_ms_per_delivery_batched": cpu_batched,
        "runs": args.runs,
        "undelivered": undelivered,
        "slow_platform_answer_s": args.slow_s,
        "slow_platform_requests_received": slow.get("received", 0),
        "slow_platform_delivered": slow.get("delivered", 0),
        "delivery_timeout_s": slow.get("timeout_s", 0),
    }
    slow_note = f", a 4th answering after {args.slow_s:g} s" if args.slow_s else ""
    print_table(f"Enforcement ({args.workers} workers, 3 platforms on loopback{slow_note}; "
                f"medians of {args.runs} runs)", [
        (f"ban to last platform's 2xx, p50 over {args.bans} (s)",
         f"{figures['ban_to_last_platform_p50_s']:.3f}"),
        ("ban to last platform's 2xx, p95 (s)", f"{figures['ban_to_last_platform_p95_s']:.3f}"),
        (f"burst of {args.burst} bans, one delivery a request: deliveries/s",
         f"{figures['deliveries_per_s_one_a_request']:,.0f}"),
        ("baseline, one request at a time on fresh connections (deliveries/s)",
         f"{figures['baseline_sequential_deliveries_per_s']:,.0f}"),
        ("ratio", f"{ratio:.2f}x"),
        *[(f"  CPU per delivery, {k.replace('_', ' ')} (ms)", f"{v:.3f}")
          for k, v in cpu.items()],
        (f"burst of {args.burst} bans, up to {args.webhook_batch} a request: deliveries/s",
         f"{figures['deliveries_per_s']:,.0f}"),
        ("ratio to one a request", f"{figures['batched_vs_one_a_request']:.2f}x"),
        *[(f"  CPU per delivery, {k.replace('_', ' ')} (ms)", f"{v:.3f}")
          for k, v in cpu_batched.items()],
        (f"creating a ban in a burst (apply_action, {4 if args.slow_s else 3} platforms "
         "reached), ms",
         f"{figures['ban_created_ms']:.2f}"),
        ("not delivered at the end (the 3 answering platforms)", str(undelivered)),
        ("requests the slow platform received", str(figures["slow_platform_requests_received"])),
        ("deliveries the slow platform got (answered in time)",
         str(figures["slow_platform_delivered"])),
    ])
    print_json(figures)


def main() -> None:
    args = _arguments()
    stack = Stack()
    stack.reset()
    slugs = (*SLUGS, SLOW_SLUG) if args.slow_s else SLUGS
    # The workers read it from the environment: a timeout past the slow platform's answer,
    # so its requests are answered late rather than all timing out and being retried.
    timeout_s = args.delivery_timeout_s or math.ceil(args.slow_s) + 5
    os.environ["WORKBENCH_DELIVERY_TIMEOUT_S"] = str(timeout_s)
    servers = {slug: TimedServer(slug, f"bench-{slug}-secret-0123456789") for slug in slugs}
    if args.slow_s:
        servers[SLOW_SLUG].delay_s = args.slow_s
    for server in servers.values():
        server.start()
        stack.register_platform(server.slug, server.secret, webhook_url=server.url)
    app = _app(stack)
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery
    from workbench.staff import create_moderator

    with app.app_context():
        moderator_id = create_moderator(db.session, "bench@example.org", "lantern-kiwi-9",
                                        "senior").id
        db.session.commit()
    runs = _measure(args, stack, app, servers, moderator_id)
    base = [baseline(app, 300) for _ in range(args.runs)]
    answering = _answering(app)
    with app.app_context():
        undelivered = db.session.execute(select(func.count(EnforcementDelivery.id)).where(
            EnforcementDelivery.platform_id.in_(answering),
            EnforcementDelivery.state != "delivered")).scalar_one()
        slow_delivered = db.session.execute(select(func.count(EnforcementDelivery.id)).where(
            EnforcementDelivery.platform_id.not_in(answering),
            EnforcementDelivery.state == "delivered")).scalar_one()
    slow = {"received": len(servers[SLOW_SLUG].received) if args.slow_s else 0,
            "delivered": int(slow_delivered), "timeout_s": timeout_s}
    for server in servers.values():
        server.stop()
    _report(args, runs, base, int(undelivered), slow)


if __name__ == "__main__":
    main()
