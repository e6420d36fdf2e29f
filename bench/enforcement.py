"""Enforcement delivery: time from a ban to the last platform's 2xx, and burst throughput.

Run: ``make bench-enforcement``. Three platform webhook servers on 127.0.0.1, the real
workers (``workbench worker --queues enforce``), PostgreSQL and Redis. Baseline in the
same run: the same deliveries posted one at a time, each on a fresh connection.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.harness import SECRET_KEY, Stack, median, percentile, print_json, print_table  # noqa: E402
from tests.platform_server import PlatformServer  # noqa: E402

SLUGS = ("calls", "web", "meet")


def _app(stack: Stack):  # type: ignore[no-untyped-def]
    from workbench.app import create_app

    return create_app({"database_url": stack.database_url, "redis_url": stack.redis_url,
                       "secret_key": SECRET_KEY, "instance_dir": stack.instance_dir})


def _people(app, servers: dict[str, PlatformServer], n: int, offset: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` people, each with an account on every platform (bulk inserted)."""
    from workbench.extensions import db
    from workbench.models import Account, Person, Platform, utcnow
    from workbench.seed import _ids

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


def _ban(app, person_ids: list[int], moderator_id: int) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
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


def latency(app, servers, people: list[int], moderator_id: int, rate: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds from each ban's commit to its last platform's 2xx."""
    from queues.enforce import enqueue_deliveries

    issued: dict[int, float] = {}
    for k, person in enumerate(people):
        start = time.time()
        (action_id,), ids = _ban(app, [person], moderator_id)
        issued[action_id] = time.time()
        with app.app_context():
            enqueue_deliveries(ids)
        time.sleep(max(0.0, start + 1 / rate - time.time()))
        del k
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(len(s.arrivals) >= len(people) for s in servers.values()):
            break
        time.sleep(0.1)
    out = []
    for action_id, t in issued.items():
        last = max(s.arrivals.get(action_id, float("inf")) for s in servers.values())
        out.append(last - t)
    return out


def burst(app, servers, people: list[int], moderator_id: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from queues.enforce import enqueue_deliveries
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery

    _, ids = _ban(app, people, moderator_id)
    t0 = time.perf_counter()
    with app.app_context():
        enqueue_deliveries(ids)
        deadline = time.monotonic() + 600
        # Done when every delivery is recorded as delivered (not merely received).
        while time.monotonic() < deadline and db.session.execute(
                select(func.count(EnforcementDelivery.id)).where(
                    EnforcementDelivery.id.in_(ids),
                    EnforcementDelivery.state != "delivered")).scalar_one():
            db.session.rollback()
            time.sleep(0.05)
    return len(ids) / (time.perf_counter() - t0), len(ids)


def baseline(app, sample: int) -> float:  # type: ignore[no-untyped-def]
    """The same requests posted one at a time on fresh connections."""
    from actions.delivery import prepare
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery
    from workbench.platforms import platform_secret

    with app.app_context():
        ids = list(db.session.scalars(select(EnforcementDelivery.id).limit(sample)))
        outgoing = prepare(db.session, ids, lambda p: platform_secret(p, SECRET_KEY))
    t0 = time.perf_counter()
    for out in outgoing:
        requests.post(out.url, data=out.body, headers=out.headers, timeout=5)
    return len(outgoing) / (time.perf_counter() - t0)


class TimedServer(PlatformServer):
    """Records when each action first arrived, by action id."""

    def __init__(self, slug: str, secret: str) -> None:
        super().__init__(slug, secret)
        self.arrivals: dict[int, float] = {}

    def _apply(self, payload: dict) -> None:  # type: ignore[type-arg]
        self.arrivals.setdefault(payload["action_id"], time.time())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bans", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="bans per second, latency run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    stack = Stack()
    stack.reset()
    servers = {slug: TimedServer(slug, f"bench-{slug}-secret-0123456789") for slug in SLUGS}
    for server in servers.values():
        server.start()
        stack.register_platform(server.slug, server.secret, webhook_url=server.url)
    app = _app(stack)
    from workbench.extensions import db
    from workbench.models import EnforcementDelivery
    from workbench.staff import create_moderator

    with app.app_context():
        moderator_id = create_moderator(db.session, "bench@example.org", "password-123",
                                        "senior").id
        db.session.commit()
    try:
        stack.start_workers(args.workers, queues="enforce")
        lat = latency(app, servers, _people(app, servers, args.bans, 0), moderator_id, args.rate)
        rate, n = burst(app, servers, _people(app, servers, args.burst, args.bans), moderator_id)
    finally:
        stack.stop()
    base = [baseline(app, 300) for _ in range(3)]
    with app.app_context():
        undelivered = db.session.execute(select(func.count(EnforcementDelivery.id)).where(
            EnforcementDelivery.state != "delivered")).scalar_one()
    for server in servers.values():
        server.stop()
    figures = {
        "ban_to_last_platform_p50_s": round(percentile(lat, 50), 3),
        "ban_to_last_platform_p95_s": round(percentile(lat, 95), 3),
        "deliveries_per_s": round(rate, 1),
        "burst_deliveries": n,
        "baseline_sequential_deliveries_per_s": round(median(base), 1),
        "undelivered": int(undelivered),
    }
    figures["ratio_vs_sequential"] = round(rate / figures["baseline_sequential_deliveries_per_s"],
                                           1)
    print_table(f"Enforcement ({args.workers} workers, 3 platforms on loopback)", [
        (f"ban to last platform's 2xx, p50 over {args.bans} (s)",
         f"{figures['ban_to_last_platform_p50_s']:.3f}"),
        ("ban to last platform's 2xx, p95 (s)", f"{figures['ban_to_last_platform_p95_s']:.3f}"),
        (f"burst of {args.burst} bans: deliveries/s", f"{figures['deliveries_per_s']:,.0f}"),
        ("baseline, one request at a time (deliveries/s)",
         f"{figures['baseline_sequential_deliveries_per_s']:,.0f}"),
        ("ratio", f"{figures['ratio_vs_sequential']}x"),
        ("not delivered at the end", str(figures["undelivered"])),
    ])
    print_json(figures)


if __name__ == "__main__":
    main()
