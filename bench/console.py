"""The console at a million reports: server time of the pages a moderator and a lead open.

Run: ``make bench-console`` (``--scale 0.05`` for a quick run). Seeds (once) a scratch
PostgreSQL database with 1,000,000 reports in 200,000 cases and 5,000,000 messages
(``bench/console_seed.py``), then times, through the whole Flask stack in this process
(routing, sign-in session, queries, templates; no network), the triage queue's first page,
a filtered page, page 500, the case view and the dashboard: p50 and p95 over several
requests each. Baselines measured in the same run: page 500 by OFFSET instead of keyset,
and the dashboard drawn from its figures on every request instead of read pre-drawn.

The last line is one JSON object: ``queue_first_page_p95_ms``, ``queue_filtered_p95_ms``,
``queue_page_500_p95_ms``, ``case_view_p95_ms``, ``dashboard_p95_ms`` (target: each under
150 ms) and the rest of the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_seed import DEFAULT_URL, _app, seed  # noqa: E402
from bench.harness import latency_rows, median, print_json, print_table  # noqa: E402

PAGE = 50
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


#: Words a search looks for in message text: common ones (many matches to order) and rare.
SEARCH_WORDS = ["coins", "free", "call me", "bhej", "idiot", "whatsapp"]


def _timed(fetch: Callable[[int], object], runs: int) -> list[float]:
    """Milliseconds per call; one warm-up call first (connection pool, template cache)."""
    fetch(-1)
    out = []
    for n in range(runs):
        started = time.perf_counter()
        fetch(n)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _signed_in(app, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"email": email, "password": "bench-password",
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def _ok(response):  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response


def _cursor_of_page(client, page: int) -> str:  # type: ignore[no-untyped-def]
    """Walk the queue to the start of ``page`` as a moderator would (not timed)."""
    url = "/admin/queue/"
    cursor = ""
    for _ in range(page - 1):
        html = _ok(client.get(url)).get_data(as_text=True)
        match = re.search(r'href="(/admin/queue/\?after=[^"]+)" rel="next"', html)
        if match is None:
            raise SystemExit(f"the queue has fewer than {page} pages")
        url = match.group(1).replace("&amp;", "&")
        cursor = url
    return cursor


def _offset_page(app, page: int) -> Callable[[int], object]:  # type: ignore[no-untyped-def]
    """The baseline: the same page by OFFSET, with the total count pages often show."""
    from sqlalchemy import func, select

    from workbench.enums import OPEN_CASE_STATUSES
    from workbench.extensions import db
    from workbench.models import Case

    def fetch(_n: int) -> object:
        with app.app_context():
            db.session.scalar(select(func.count(Case.id))
                              .where(Case.status.in_(OPEN_CASE_STATUSES)))
            return db.session.execute(
                select(Case.id, Case.priority).where(Case.status.in_(OPEN_CASE_STATUSES))
                .order_by(Case.priority.desc(), Case.due_at, Case.id)
                .offset((page - 1) * PAGE).limit(PAGE)).all()
    return fetch


def _keyset_page(app, deep_url: str) -> Callable[[int], object]:  # type: ignore[no-untyped-def]
    """The same page by keyset, the query alone (to compare with the OFFSET baseline)."""
    from urllib.parse import parse_qs, urlsplit

    from workbench.cases import triage
    from workbench.extensions import db

    cursor = triage.Cursor.decode(parse_qs(urlsplit(deep_url).query)["after"][0])

    def fetch(_n: int) -> object:
        with app.app_context():
            return triage.queue_page(db.session, triage.QueueFilter(), after=cursor)
    return fetch


def _drawn_anew(app) -> Callable[[int], object]:  # type: ignore[no-untyped-def]
    from workbench.extensions import db
    from workbench.reporting.dashboard import DEFAULT_DAYS, _window, draw

    def fetch(_n: int) -> object:
        with app.app_context():
            return draw(db.session, *_window(DEFAULT_DAYS))
    return fetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is a million reports")
    parser.add_argument("--runs", type=int, default=30, help="requests timed per page")
    parser.add_argument("--page", type=int, default=500, help="the deep page timed")
    args = parser.parse_args()

    report = seed(args.url, args.scale)
    app = _app(args.url)
    app.config["SESSION_COOKIE_SECURE"] = False
    moderator = _signed_in(app, "moderator1@bench.local")
    lead = _signed_in(app, "senior0@bench.local")
    from sqlalchemy import select

    from workbench.extensions import db
    from workbench.models import Case

    with app.app_context():
        case_ids = list(db.session.scalars(select(Case.id).order_by(Case.id)
                                           .limit(args.runs * 50)))[::50]
        filtered = "/admin/queue/?category=harassment&platform=harmoni-web"
    deep = _cursor_of_page(moderator, min(args.page, max(2, report.size.cases // PAGE)))
    timings = {
        "queue_first_page": _timed(lambda n: _ok(moderator.get("/admin/queue/")), args.runs),
        "queue_filtered": _timed(lambda n: _ok(moderator.get(filtered)), args.runs),
        "queue_page_500": _timed(lambda n: _ok(moderator.get(deep)), args.runs),
        "case_view": _timed(lambda n: _ok(moderator.get(
            f"/admin/case/{case_ids[max(n, 0) % len(case_ids)]}")), args.runs),
        "dashboard": _timed(lambda n: _ok(lead.get("/admin/dashboard/")), args.runs),
        "search_username": _timed(lambda n: _ok(lead.get(
            f"/admin/search/?q=user{1000 + n}")), args.runs),
        "search_words": _timed(lambda n: _ok(lead.get(
            f"/admin/search/?q={SEARCH_WORDS[n % len(SEARCH_WORDS)]}")), args.runs),
        "keyset_page_500_query": _timed(_keyset_page(app, deep), args.runs),
        "offset_page_500_baseline": _timed(_offset_page(app, args.page), args.runs),
        "dashboard_drawn_anew_baseline": _timed(_drawn_anew(app), max(3, args.runs // 6)),
    }
    figures: dict[str, object] = {"scale": args.scale, "cases": report.size.cases,
                                  "reports": report.size.reports,
                                  "messages": report.size.messages, "runs": args.runs}
    rows = latency_rows(timings, figures)
    figures["keyset_vs_offset_page_500_ratio"] = round(
        median(timings["offset_page_500_baseline"]) / median(timings["keyset_page_500_query"]), 2)
    figures["stored_vs_drawn_dashboard_ratio"] = round(
        median(timings["dashboard_drawn_anew_baseline"]) / median(timings["dashboard"]), 2)
    print_table(f"console server time, {report.size.reports:,} reports in "
                f"{report.size.cases:,} cases", rows)
    print_json(figures)


if __name__ == "__main__":
    main()
