"""Sign-in, the dashboard and the transparency report as a browser meets them: server time.

Run: ``make bench-pages`` (``BENCH_ARGS="--scale 0.05"`` for a quick run). Uses the console
seed (``bench/console_seed.py``: 1,000,000 reports at ``--scale 1``), lets the periodic jobs
draw what they draw (as a running worker would), then times through the whole Flask stack
(routing, session, CSRF, limiter on Redis, queries, templates; no network):

- sign-in: the POST and the redirects to the first page shown, at the default Argon2id
  cost and at OWASP's floor, beside one bare password check at each cost (so what is
  hash and what is the rest can be read off: ``rest = sign-in - check``);
- the dashboard and the transparency report (the last whole month, and this month) on
  their first load in a fresh web process (page and every chart it shows, as a browser
  without a cache fetches them), and loaded again by the same browser (revalidated with
  If-None-Match where the page gives an ETag);
- the transparency report when nothing is kept (the first view after its entry expired).

Baselines measured in the same run: the transparency report computed as the page did
before it was kept (the report four times, three charts), and the dashboard's charts
drawn in the request. p50 and p95 of ``--runs`` runs; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_seed import DEFAULT_URL, _sqlalchemy_url, seed  # noqa: E402
from bench.harness import (  # noqa: E402
    ROOT,
    SECRET_KEY,
    latency_rows,
    median,
    print_json,
    print_table,
)
from tests.support.present import present  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ASSET = re.compile(r'<img src="(/admin/[^"]+)"')
PASSWORD = "bench-password"
LEGAL = "legal0@bench.local"
FLOOR = {"password_hash_time_cost": 2, "password_hash_memory_kib": 19 * 1024,
         "password_hash_parallelism": 1}


def _app(url: str, redis_url: str, **overrides: Any):
    from workbench.app import create_app

    app = create_app({"database_url": _sqlalchemy_url(url), "secret_key": SECRET_KEY,
                      "instance_dir": ROOT / "instance" / "bench-pages",
                      "redis_url": redis_url,
                      # Many sign-ins from one address, on purpose.
                      "login_rate_limit": "10000 per minute", **overrides})
    app.config["SESSION_COOKIE_SECURE"] = False
    return app


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _sign_in(app, email: str) -> tuple[Any, float, float]:
    """A fresh browser signs in: (client, POST ms, POST and redirects to the first page ms)."""
    client = app.test_client()
    token = present(CSRF.search(client.get("/login").get_data(as_text=True))).group(1)
    started = time.perf_counter()
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    post = _ms(started)
    assert response.status_code == 302, response.status_code
    while response.status_code == 302:
        response = client.get(response.headers["Location"])
    assert response.status_code == 200, response.status_code
    return client, post, _ms(started)


def _load(client, path: str, etags: dict[str, str]) -> float:
    """A page and each chart it shows, as a browser fetches them (ms); revalidates what
    it has an ETag for (a browser would not even ask for a chart within its max-age)."""
    started = time.perf_counter()
    for asset in ASSET.findall(_fetch(client, path, etags)):
        _fetch(client, asset.replace("&amp;", "&"), etags)
    return _ms(started)


def _fetch(client, url: str, kept: dict[str, str]) -> str:
    """GET ``url`` as a browser with a cache does; returns the body (the kept one on 304)."""
    headers = {"If-None-Match": kept[url]} if url in kept else {}
    answer = client.get(url, headers=headers)
    assert answer.status_code in (200, 304), (url, answer.status_code)
    if answer.status_code == 200:
        kept[url + "#body"] = answer.get_data(as_text=True)
        if answer.headers.get("ETag"):
            kept[url] = answer.headers["ETag"]
    return kept.get(url + "#body", "")


def _months() -> tuple[str, str]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    last = (now.year - (now.month == 1), (now.month - 2) % 12 + 1)
    return f"{last[0]:04d}-{last[1]:02d}", f"{now.year:04d}-{now.month:02d}"


def child(url: str, redis_url: str) -> None:
    """One fresh web process: each page's first load, then the same browser again."""
    started = time.perf_counter()
    app = _app(url, redis_url)
    out: dict[str, float] = {"app_created_ms": _ms(started)}
    lead = _sign_in(app, "senior0@bench.local")[0]
    legal = _sign_in(app, LEGAL)[0]
    last, this = _months()
    pages = {"dashboard": (lead, "/admin/dashboard/"),
             "dashboard_90_days": (lead, "/admin/dashboard/?days=90"),
             "transparency_last_month": (legal, f"/admin/transparency/?month={last}"),
             "transparency_this_month": (legal, f"/admin/transparency/?month={this}")}
    for name, (client, path) in pages.items():
        etags: dict[str, str] = {}
        out[f"{name}_first_ms"] = _load(client, path, etags)
        out[f"{name}_again_ms"] = _load(client, path, etags)
    print(json.dumps(out))


def _fresh_processes(url: str, redis_url: str, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for _ in range(runs):
        result = subprocess.run([sys.executable, __file__, "--url", url, "--redis", redis_url,
                                 "--child"], capture_output=True, text=True, check=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        for key, value in json.loads(result.stdout.strip().splitlines()[-1]).items():
            out.setdefault(key, []).append(value)
    return out


def _prepare(app) -> None:
    """A legal user, and what the worker's periodic jobs draw (whatever this code has)."""
    from sqlalchemy import select

    from workbench.extensions import db
    from workbench.models import Moderator
    from workbench.reporting import dashboard as board
    from workbench.reporting import transparency
    from workbench.reporting.figures import refresh_figures
    from workbench.staff import hash_password

    with app.app_context():
        if db.session.scalar(select(Moderator.id).where(Moderator.email == LEGAL)) is None:
            db.session.add(Moderator(email=LEGAL, display_name="legal 0", role="legal",
                                     password_hash=hash_password(PASSWORD), languages=["en"]))
        refresh_figures(db.session)
        board.store_charts(db.session)
        db.session.commit()
        if hasattr(transparency, "refresh_reports"):
            transparency.refresh_reports(db.session)
        db.session.rollback()


def _timed(call: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append(_ms(started))
    return out


def _baselines(app, runs: int) -> dict[str, list[float]]:
    from workbench.extensions import db
    from workbench.reporting import dashboard as board
    from workbench.reporting.transparency import monthly_report, report_charts

    year, month = (int(x) for x in _months()[0].split("-"))

    def transparency_as_before() -> None:
        monthly_report(db.session, year, month)  # the page
        for _ in range(3):  # each chart computed the report again, then drew its chart
            report_charts(monthly_report(db.session, year, month))
        db.session.rollback()

    with app.app_context():
        return {"transparency_computed_per_view_baseline": _timed(transparency_as_before,
                                                                  max(3, runs // 2)),
                "dashboard_drawn_in_request_baseline": _timed(
                    lambda: board.draw(db.session, *board._window(board.DEFAULT_DAYS)),
                    max(3, runs // 2))}


def _uncached_transparency(app, client, runs: int) -> list[float]:
    """The last month's page when nothing is kept: the entry expired, no job ran since."""
    from workbench.current import redis_connection

    path = f"/admin/transparency/?month={_months()[0]}"
    out = []
    for _ in range(runs):
        with app.app_context():
            connection = redis_connection()
            for key in connection.scan_iter("workbench:drawn:transparency:*"):
                connection.delete(key)
        out.append(_load(client, path, {}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/11"))
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is a million reports")
    parser.add_argument("--runs", type=int, default=7, help="runs of each measurement")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.url, args.redis)
        return

    report = seed(args.url, args.scale)
    from workbench.staff import hash_password, verify_password

    timings: dict[str, list[float]] = {}
    app = _app(args.url, args.redis)
    _prepare(app)
    # The default cost: what sign-in costs in production (the team's setting).
    stored = hash_password(PASSWORD)
    timings["password_check_default_cost"] = _timed(lambda: verify_password(stored, PASSWORD),
                                                    args.runs)
    # Once untimed: a hash the seed made at another cost is renewed at the first sign-in.
    _sign_in(app, "moderator1@bench.local")
    signed = [_sign_in(app, "moderator1@bench.local") for _ in range(args.runs)]
    timings["sign_in_post_default_cost"] = [s[1] for s in signed]
    timings["sign_in_to_first_page_default_cost"] = [s[2] for s in signed]
    timings.update(_baselines(app, args.runs))
    legal = _sign_in(app, LEGAL)[0]
    timings["transparency_nothing_kept"] = _uncached_transparency(app, legal,
                                                                  max(3, args.runs // 2))
    _prepare(app)  # kept again for the fresh processes
    timings.update(_fresh_processes(args.url, args.redis, args.runs))

    # OWASP's floor, for a user hashed at it (the hasher's cost is per process: last).
    floor_app = _app(args.url, args.redis, **FLOOR)
    with floor_app.app_context():
        from sqlalchemy import update

        from workbench.extensions import db
        from workbench.models import Moderator

        floor_hash = hash_password(PASSWORD)
        db.session.execute(update(Moderator).where(Moderator.email == "moderator2@bench.local")
                           .values(password_hash=floor_hash))
        db.session.commit()
    timings["password_check_floor_cost"] = _timed(lambda: verify_password(floor_hash, PASSWORD),
                                                  args.runs)
    signed = [_sign_in(floor_app, "moderator2@bench.local") for _ in range(args.runs)]
    timings["sign_in_post_floor_cost"] = [s[1] for s in signed]
    timings["sign_in_to_first_page_floor_cost"] = [s[2] for s in signed]

    figures: dict[str, object] = {"scale": args.scale, "reports": report.size.reports,
                                  "runs": args.runs, "load_average": os.getloadavg()[0]}
    rows = latency_rows(timings, figures)
    for cost in ("default", "floor"):
        figures[f"sign_in_post_{cost}_cost_without_check_p50_ms"] = round(
            median(timings[f"sign_in_post_{cost}_cost"])
            - median(timings[f"password_check_{cost}_cost"]), 1)
    figures["transparency_kept_vs_computed_ratio"] = round(
        median(timings["transparency_computed_per_view_baseline"])
        / median(timings["transparency_last_month_first_ms"]), 2)
    figures["dashboard_first_vs_drawn_ratio"] = round(
        median(timings["dashboard_drawn_in_request_baseline"])
        / median(timings["dashboard_first_ms"]), 2)
    print_table(f"pages, {report.size.reports:,} reports (load average "
                f"{figures['load_average']:.1f})", rows)
    print_json(figures)


if __name__ == "__main__":
    main()
