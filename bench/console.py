"""The console at a million reports: server time of every page a moderator, a lead, the
legal team and an administrator open, and of search.

Run: ``make bench-console`` (``--scale 0.05`` for a quick run). Seeds (once) a scratch
PostgreSQL database with 1,000,000 reports in 200,000 cases and 5,000,000 messages
(``bench/console_seed.py``), then times, through the whole Flask stack in this process
(routing, sign-in session, queries, templates; no network), each console page as the role
that works on it: the triage queue's first page, a filtered page, page 500, the case view,
the dashboard, the decided view, the person page, the legal desk and the rest, and search
by a username (prefix), a platform user id (bare and with the platform's slug) and words
in messages (full text): p50 and p95 over several requests each. Baselines measured in
the same run: page 500 by OFFSET instead of keyset, and the dashboard drawn from its
figures on every request instead of read pre-drawn.

A page the code under test does not have (404) is reported as missing, so the same
script can time an older checkout of the workbench: ``BENCH_CODE_DIR=<checkout>`` imports
``workbench``, ``queues``, ``actions`` and ``classifiers`` from there (this script and its
seed stay this checkout's; ``PYTHONPATH`` alone would not do, since the script puts its own
checkout first on the path). ``--label`` names the run; a baseline the older code cannot
compute (a function it does not have) is reported as not timed.

The growth curve: ``--growth-url`` names a second database (seeded at ``--growth-scale``
and ``--growth-messages`` if it is not, e.g. ``--growth-scale 10 --growth-messages
10000000``, 15 minutes and 17 GB); every page is then timed on both, one database after
the other page by page, and ``growth`` in the figures holds each page's p95 on the
smaller and the larger and their ratio.

The last line is one JSON object: ``<page>_p50_ms`` and ``<page>_p95_ms`` for every page
timed on ``--url`` (target: each under 100 ms at 10 million reports), ``signin_p95_ms``
(the sign-in form and POST at the app's password hash cost), ``search_p95_ms`` (the
slowest kind of search), ``growth`` and the rest of the figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CODE_PACKAGES = ("workbench", "queues", "actions", "classifiers")


def _code_from(code_dir: str) -> None:
    """Import the code under test from ``code_dir``: each package is imported from there
    first, and its ``__path__`` then resolves every submodule there too."""
    import importlib

    sys.path.insert(0, code_dir)
    try:
        for name in CODE_PACKAGES:
            module = importlib.import_module(name)
            where = Path(module.__file__ or "").resolve()
            if not where.is_relative_to(Path(code_dir).resolve()):
                raise SystemExit(f"BENCH_CODE_DIR: {name} came from {where}, not {code_dir}")
    finally:
        sys.path.remove(code_dir)


if os.environ.get("BENCH_CODE_DIR"):
    _code_from(os.environ["BENCH_CODE_DIR"])

from bench.console_seed import DEFAULT_URL, _app, seed  # noqa: E402
from bench.harness import latency_rows, median, percentile, print_json, print_table  # noqa: E402
from tests.support.present import present  # noqa: E402

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


#: Staff the seed does not make: the legal team and an administrator (made here if missing).
EXTRA_STAFF = {"legal0@bench.local": "legal", "admin0@bench.local": "admin"}


def _extra_staff(app) -> None:
    from sqlalchemy import select

    from workbench.extensions import db
    from workbench.models import Moderator
    from workbench.staff import hash_password

    with app.app_context():
        have = set(db.session.scalars(select(Moderator.email)))
        password = hash_password("bench-password")
        for email, role in EXTRA_STAFF.items():
            if email not in have:
                db.session.add(Moderator(email=email, display_name=f"{role} 0", role=role,
                                         password_hash=password, languages=["en", "hi"]))
        db.session.commit()
        db.session.remove()


def _signed_in(app, email: str):
    client = app.test_client()
    token = present(CSRF.search(client.get("/login").get_data(as_text=True))).group(1)
    response = client.post("/login", data={"email": email, "password": "bench-password",
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def _sign_in_once(app, email: str) -> Callable[[int], object]:
    """One sign-in as a moderator does it: the form, then the POST (the password hash at the
    app's configured cost) and its redirect to the role's desk; timed together."""
    def fetch(_n: int) -> object:
        _signed_in(app, email)
        return None
    return fetch


def _ok(response):
    assert response.status_code == 200, response.status_code
    return response


class Missing(Exception):
    """The code under test does not serve this page to this role (404, 403, a redirect)."""


def _page(client, url: str) -> Callable[[int], object]:
    def fetch(_n: int) -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise Missing(f"{response.status_code} {url}")
        return response
    return fetch


def _cursor_of_page(client, page: int) -> str:
    """Walk the queue to the start of ``page`` as a moderator would (not timed)."""
    url = "/admin/queue/"
    for _ in range(page - 1):
        html = _ok(client.get(url)).get_data(as_text=True)
        match = re.search(r'href="(/admin/queue/\?after=[^"]+)" rel="next"', html)
        if match is None:
            raise SystemExit(f"the queue has fewer than {page} pages")
        url = match.group(1).replace("&amp;", "&")
    return url


def _offset_page(app, page: int) -> Callable[[int], object]:
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


def _keyset_page(app, deep_url: str) -> Callable[[int], object]:
    """The same page by keyset, the query alone (to compare with the OFFSET baseline)."""
    from urllib.parse import parse_qs, urlsplit

    from workbench.cases import triage
    from workbench.extensions import db

    after = parse_qs(urlsplit(deep_url).query).get("after")
    cursor = triage.Cursor.decode(after[0]) if after else None  # None: the first page

    def fetch(_n: int) -> object:
        with app.app_context():
            return triage.queue_page(db.session, triage.QueueFilter(), after=cursor)
    return fetch


def _drawn_anew(app) -> Callable[[int], object]:
    from workbench.extensions import db
    from workbench.reporting.dashboard import DEFAULT_DAYS, _window, draw

    def fetch(_n: int) -> object:
        with app.app_context():
            return draw(db.session, *_window(DEFAULT_DAYS))
    return fetch


@dataclass
class Console:
    """One seeded database: its app, signed-in clients and the pages timed on it."""

    app: Any
    report: Any
    pages: dict[str, Callable[[int], object]]
    deep: str
    deep_page: int

    @property
    def reports(self) -> int:
        return int(self.report.size.reports)


def _console(url: str, scale: float, messages: int | None, runs: int, page: int) -> Console:
    """Seed ``url`` (once), build the app on it, sign the four roles in, and list the pages
    each role opens."""
    report = seed(url, scale, messages=messages)
    # Sign-in is timed many times over from one address: lift the sign-in rate limit.
    app = _app(url, login_rate_limit="100000 per minute")
    app.config["SESSION_COOKIE_SECURE"] = False
    _extra_staff(app)
    moderator = _signed_in(app, "moderator1@bench.local")
    lead = _signed_in(app, "senior0@bench.local")
    legal = _signed_in(app, "legal0@bench.local")
    admin = _signed_in(app, "admin0@bench.local")
    from sqlalchemy import func, select

    from workbench.extensions import db
    from workbench.models import Account, Case

    with app.app_context():
        case_ids = list(db.session.scalars(select(Case.id).order_by(Case.id)
                                           .limit(runs * 50)))[::50]
        person_ids = list(db.session.scalars(select(Case.person_id).order_by(Case.id)
                                             .limit(runs * 50)))[::50]
        # Accounts past the first thousand (or past half of a small seed's).
        n_accounts = db.session.scalar(select(func.count(Account.id))) or 0
        accounts = db.session.execute(select(Account.platform_user_id, Account.platform_id)
                                      .order_by(Account.id)
                                      .offset(min(1000, n_accounts // 2))
                                      .limit(runs + 1)).all()
        slugs = {1: "harmoni-calls", 2: "harmoni-web", 3: "harmoni-meet"}
        db.session.remove()
    filtered = "/admin/queue/?category=harassment&platform=harmoni-web"
    # The deepest page asked for that a smaller data set has (its open cases, some claimed).
    # (The smallest seeds have a single page: then the "deep" page is the first.)
    deep_page = min(page, max(1, report.size.open_cases // PAGE - 2))
    deep = _cursor_of_page(moderator, deep_page)

    def each(client, url_of: Callable[[int], str]) -> Callable[[int], object]:
        return lambda n: _page(client, url_of(max(n, 0)))(n)

    pages: dict[str, Callable[[int], object]] = {
        "queue_first_page": _page(moderator, "/admin/queue/"),
        "queue_filtered": _page(moderator, filtered),
        "queue_page_500": _page(moderator, deep),
        "queue_live_lane": _page(moderator, "/admin/queue/live"),
        "case_view": each(moderator, lambda n: f"/admin/case/{case_ids[n % len(case_ids)]}"),
        "decided_mine": _page(moderator, "/admin/decided/"),
        "account": _page(moderator, "/admin/account/"),
        "dashboard": _page(lead, "/admin/dashboard/"),
        "decided_everyone": _page(lead, "/admin/decided/"),
        "appeals": _page(lead, "/admin/appeals/"),
        "deliveries": _page(lead, "/admin/deliveries/"),
        "reporters": _page(lead, "/admin/reporters/"),
        "queue_settings": _page(lead, "/admin/queue-settings/"),
        "automation_review": _page(lead, "/admin/automation/"),
        "person": each(legal, lambda n: f"/admin/person/{person_ids[n % len(person_ids)]}"),
        "legal_desk": _page(legal, "/admin/legal/"),
        "transparency": _page(legal, "/admin/transparency/"),
        "audit": _page(admin, "/admin/audit/"),
        "operations": _page(admin, "/admin/operations/"),
        "staff": _page(admin, "/admin/staff/"),
        "platforms": _page(admin, "/admin/platforms/"),
        "search_username": each(lead, lambda n: f"/admin/search/?q=user{1000 + n}"),
        "search_platform_user_id": each(
            lead, lambda n: f"/admin/search/?q={accounts[n % len(accounts)][0]}"),
        "search_slug_and_user_id": each(
            lead, lambda n: "/admin/search/?q=" + slugs[accounts[n % len(accounts)][1]]
            + ":" + accounts[n % len(accounts)][0]),
        "search_words": each(
            lead, lambda n: f"/admin/search/?q={SEARCH_WORDS[n % len(SEARCH_WORDS)]}"),
        "search_words_moderator": each(
            moderator, lambda n: f"/admin/search/?q={SEARCH_WORDS[n % len(SEARCH_WORDS)]}"),
        "signin": _sign_in_once(app, "moderator2@bench.local"),
    }
    return Console(app, report, pages, deep, deep_page)


def _growth(consoles: list[Console], timed: list[dict[str, list[float]]]) -> dict[str, Any]:
    """How each page's p95 grows from the smaller data set to the larger (timed in turns)."""
    (small, small_t), (large, large_t) = sorted(zip(consoles, timed, strict=True),
                                                key=lambda ct: ct[0].reports)
    out: dict[str, Any] = {"reports": [small.reports, large.reports],
                           "messages": [small.report.size.messages,
                                        large.report.size.messages]}
    for name in small_t:
        if name in large_t:
            a, b = percentile(small_t[name], 95), percentile(large_t[name], 95)
            out[name] = {"p95_ms": [round(a, 1), round(b, 1)],
                         "ratio": round(b / a, 2) if a else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is a million reports")
    parser.add_argument("--messages", type=int, default=None,
                        help="messages to seed (default: 5,000,000 times the scale)")
    parser.add_argument("--growth-url", default="",
                        help="a second database (seeded at --growth-scale if it is not): "
                             "every page is timed there too, in turns with --url, and the "
                             "figures say how each page's p95 grows from one to the other")
    parser.add_argument("--growth-scale", type=float, default=10.0)
    parser.add_argument("--growth-messages", type=int, default=None)
    parser.add_argument("--runs", type=int, default=30, help="requests timed per page")
    parser.add_argument("--page", type=int, default=500, help="the deep page timed")
    parser.add_argument("--label", default="", help="names this run in the figures")
    parser.add_argument("--only", default="", help="comma-separated page names to time")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave what the app loaded in the collector's sight, as the "
                             "server's processes did before they froze it")
    args = parser.parse_args()

    consoles = [_console(args.url, args.scale, args.messages, args.runs, args.page)]
    if args.growth_url:
        consoles.append(_console(args.growth_url, args.growth_scale, args.growth_messages,
                                 args.runs, args.page))
    if not args.no_freeze:
        # As a server process does once it has loaded the app (workbench/serving.py).
        gc.collect()
        gc.freeze()
    main_console = consoles[0]
    app, report, deep, deep_page = (main_console.app, main_console.report,
                                    main_console.deep, main_console.deep_page)
    timed: list[dict[str, list[float]]] = [{} for _ in consoles]
    missing: dict[str, str] = {}
    only = set(filter(None, args.only.split(",")))
    for name in main_console.pages:
        if only and name not in only:
            continue
        # Each page on each database in turn, so the machine's load weighs on both alike.
        for console, timings in zip(consoles, timed, strict=True):
            try:
                timings[name] = _timed(console.pages[name], args.runs)
            except Missing as exc:
                missing[name] = str(exc)
            # Each page as it is timed: a slow page should not hide the ones before it.
            where = f"{console.reports:,} reports" if len(consoles) > 1 else ""
            print(name, where, *(latency_rows({name: timings[name]}, {})[0][1:]
                                 if name in timings else [missing[name]]), flush=True)
    timings = timed[0]
    untimed: dict[str, str] = {}
    baselines: dict[str, tuple[Callable[[], Callable[[int], object]], int]] = {
        "keyset_page_500_query": (lambda: _keyset_page(app, deep), args.runs),
        "offset_page_500_baseline": (lambda: _offset_page(app, deep_page), args.runs),
        "dashboard_drawn_anew_baseline": (lambda: _drawn_anew(app), max(3, args.runs // 6)),
    }
    for name, (make, runs) in baselines.items():
        try:
            timings[name] = _timed(make(), runs)
        except (ImportError, AttributeError, TypeError) as exc:
            # An older checkout under BENCH_CODE_DIR may lack what a baseline calls.
            untimed[name] = f"{type(exc).__name__}: {exc}"
    figures: dict[str, object] = {"scale": args.scale, "gc_frozen": not args.no_freeze,
                                  "cases": report.size.cases,
                                  "reports": report.size.reports,
                                  "messages": report.size.messages, "runs": args.runs,
                                  "label": args.label, "missing_pages": missing,
                                  "untimed_baselines": untimed,
                                  "deep_page": deep_page,
                                  "load": os.getloadavg()[0]}
    rows = latency_rows(timings, figures)
    rows += [(name, f"not served: {why}") for name, why in missing.items()]
    rows += [(name, f"not timed: {why}") for name, why in untimed.items()]
    # Search as one figure: the slowest kind of search (a moderator types any of them).
    searched = [figures[f"{n}_p95_ms"] for n in timings if n.startswith("search_")]
    if searched:
        figures["search_p95_ms"] = max(searched)  # type: ignore[type-var]
    if "keyset_page_500_query" in timings and "offset_page_500_baseline" in timings:
        figures["keyset_vs_offset_page_500_ratio"] = round(
            median(timings["offset_page_500_baseline"])
            / median(timings["keyset_page_500_query"]), 2)
    if "dashboard" in timings and "dashboard_drawn_anew_baseline" in timings:
        figures["stored_vs_drawn_dashboard_ratio"] = round(
            median(timings["dashboard_drawn_anew_baseline"]) / median(timings["dashboard"]), 2)
    print_table(f"console server time, {report.size.reports:,} reports in "
                f"{report.size.cases:,} cases", rows)
    if len(consoles) > 1:
        growth = figures["growth"] = _growth(consoles, timed)
        small, large = growth["reports"]
        print_table(f"growth of p95 from {small:,} to {large:,} reports (timed in turns)",
                    [(name, f"{g['p95_ms'][0]:8.1f} -> {g['p95_ms'][1]:8.1f} ms   "
                            f"{g['ratio']}x")
                     for name, g in growth.items() if isinstance(g, dict)])
    print_json(figures)


if __name__ == "__main__":
    main()
