"""Sign-in, and where its time goes: the password check, the rest of the POST, the page after.

Run: ``make bench-signin`` (``BENCH_ARGS="--scale 0.05 --runs 15"``). Uses the console seed
(``bench/console_seed.py``) and times, through the whole Flask stack in this process
(routing, session cookie, CSRF, limiter on Redis, queries, templates; no network), a fresh
browser signing in as a moderator: the form (GET), the POST, and the page it is sent to
(the moderator's queue). Each part is split into what it spends its time on, each
counted once (time inside an inner part is not counted again in the outer one):

- ``password_check``: the Argon2id verification; ``rehash``: a new hash when the stored
  one was made at another cost (only the first sign-in after a change);
- ``limiter``: the per-address sign-in limit (flask-limiter's counters on Redis);
- ``audit``: writing the ``login.*`` audit event (the chain under its lock), its SQL
  included; ``db``: every other SQL statement's round trip, ``commit``: the ORM's flush
  and commit around them; ``statements``: how many round trips;
- ``session``: opening and saving the signed session cookie; ``template``: rendering;
- ``zxcvbn``: password strength scoring (should be 0: it is for setting a password);
- ``rest``: Flask, Flask-Login, WTForms and our own Python in between.

Then, beside it, the bare password check at each Argon2id profile offered (OWASP's
equivalent set, and RFC 9106's second profile, the default before), measured in rounds
that take every profile in turn so the machine's load falls on all alike.

Baseline, in the same run and the same rounds: the whole sign-in at the old default cost
(RFC 9106's second profile: 3 passes over 64 MiB, 4 lanes). Medians (p50) and p95 of
``--runs`` sign-ins; the last line is one JSON object (``signin_p95_ms`` is the form and
the POST, as ``bench/console.py`` times it; ``signin_to_first_page_p95_ms`` adds the page).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_seed import DEFAULT_URL, _sqlalchemy_url, seed  # noqa: E402
from bench.harness import (  # noqa: E402
    ROOT,
    SECRET_KEY,
    median,
    percentile,
    print_json,
    print_table,
)
from tests.support.present import present  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "bench-password"
#: The users signed in: one hashed at the app's default cost, one at the old default.
USER, OLD_COST_USER = "moderator3@bench.local", "moderator2@bench.local"
#: (passes, KiB, lanes): RFC 9106's second profile (the default before), then OWASP's
#: equivalent set for Argon2id (https://cheatsheetseries.owasp.org/cheatsheets/
#: Password_Storage_Cheat_Sheet.html), then two costs above it.
OLD_DEFAULT = (3, 65536, 4)
PROFILES = [OLD_DEFAULT, (1, 47104, 1), (2, 19456, 1), (3, 12288, 1), (4, 9216, 1),
            (5, 7168, 1), (3, 19456, 1), (2, 65536, 1)]
PARTS = ("password_check", "rehash", "limiter", "audit", "db", "commit", "session",
         "template", "zxcvbn", "rest")
PHASES = ("form", "post", "first_page")


class Meter:
    """Time spent in named parts, each counted once: an inner part's time is taken out of
    the part around it."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.statements = 0
        self._stack: list[list[Any]] = []  # [part, started, time in inner parts]

    def reset(self) -> None:
        self.spent.clear()
        self.statements = 0

    def enter(self, part: str) -> None:
        self._stack.append([part, time.perf_counter(), 0.0])

    def leave(self) -> None:
        part, started, inner = self._stack.pop()
        elapsed = (time.perf_counter() - started) * 1000
        self.spent[part] += elapsed - inner
        if self._stack:
            self._stack[-1][2] += elapsed

    def statement_starts(self) -> None:
        """A SQL round trip: the audit's own when inside it, else ``db``."""
        self.statements += 1
        self.enter("audit" if any(p[0] == "audit" for p in self._stack) else "db")

    def wrap(self, owner: Any, attribute: str, part: str) -> None:
        """Replace ``owner.attribute`` by the same callable, timed as ``part``."""
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(part)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()
        setattr(owner, attribute, timed)


def _instrument(app, meter: Meter) -> None:
    """Time every part of a sign-in named in the module docstring (this process only)."""
    import flask.templating
    from sqlalchemy import event

    from workbench import staff
    from workbench.console import auth
    from workbench.console.security import limiter
    from workbench.extensions import db

    meter.wrap(auth, "verify_password", "password_check")
    meter.wrap(auth, "hash_password", "rehash")
    meter.wrap(auth, "record", "audit")
    meter.wrap(staff, "zxcvbn", "zxcvbn")
    meter.wrap(flask.templating, "_render", "template")
    meter.wrap(app.session_interface, "open_session", "session")
    meter.wrap(app.session_interface, "save_session", "session")
    with app.app_context():
        strategy = limiter.limiter
        for name in ("hit", "test", "get_window_stats"):
            meter.wrap(strategy, name, "limiter")
        meter.wrap(db.session, "commit", "commit")
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *_a: meter.statement_starts())
    event.listen(engine, "after_cursor_execute", lambda *_a: meter.leave())


def _app(url: str, redis_url: str):
    from workbench.app import create_app

    # The hash cost is left at the app's default: that is what is measured.
    app = create_app({"database_url": _sqlalchemy_url(url), "secret_key": SECRET_KEY,
                      "instance_dir": ROOT / "instance" / "bench-signin",
                      "redis_url": redis_url,
                      # Many sign-ins from one address, on purpose.
                      "login_rate_limit": "100000 per minute"})
    app.config["SESSION_COOKIE_SECURE"] = False
    return app


def _sign_in(app, meter: Meter, email: str) -> dict[str, float]:
    """A fresh browser signs in; each phase's parts (ms) and its total."""
    out: dict[str, float] = {}
    client = app.test_client()

    def phase(name: str, call: Callable[[], Any]) -> Any:
        meter.reset()
        started = time.perf_counter()
        answer = call()
        total = (time.perf_counter() - started) * 1000
        out[f"{name}_ms"] = total
        for part in PARTS[:-1]:
            out[f"{name}.{part}"] = meter.spent.get(part, 0.0)
        out[f"{name}.statements"] = meter.statements
        out[f"{name}.rest"] = total - sum(meter.spent.values())
        return answer

    form = phase("form", lambda: client.get("/login"))
    token = present(CSRF.search(form.get_data(as_text=True))).group(1)
    answer = phase("post", lambda: client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}))
    assert answer.status_code == 302, answer.status_code
    page = phase("first_page", lambda: client.get(answer.headers["Location"]))
    assert page.status_code == 200, page.status_code
    out["signin_ms"] = out["form_ms"] + out["post_ms"]
    out["signin_to_first_page_ms"] = out["signin_ms"] + out["first_page_ms"]
    return out


def _set_password(app, email: str, cost: tuple[int, int, int]) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import update

    from workbench.extensions import db
    from workbench.models import Moderator

    hashed = PasswordHasher(time_cost=cost[0], memory_cost=cost[1],
                            parallelism=cost[2]).hash(PASSWORD)
    with app.app_context():
        db.session.execute(update(Moderator).where(Moderator.email == email)
                           .values(password_hash=hashed))
        db.session.commit()
        db.session.remove()


def _profiles(runs: int) -> dict[str, list[float]]:
    """The bare check at each profile, in rounds taking every profile in turn (ms)."""
    from argon2 import PasswordHasher

    hashers = {cost: PasswordHasher(time_cost=cost[0], memory_cost=cost[1],
                                    parallelism=cost[2]) for cost in PROFILES}
    stored = {cost: hasher.hash(PASSWORD) for cost, hasher in hashers.items()}
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for cost, hasher in hashers.items():
            started = time.perf_counter()
            hasher.verify(stored[cost], PASSWORD)
            out[_name(cost)].append((time.perf_counter() - started) * 1000)
    return out


def _name(cost: tuple[int, int, int]) -> str:
    return f"t={cost[0]} m={cost[1] // 1024}MiB p={cost[2]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/11"))
    parser.add_argument("--scale", type=float, default=0.05, help="1.0 is a million reports")
    parser.add_argument("--runs", type=int, default=15, help="sign-ins timed at each cost")
    parser.add_argument("--label", default="", help="names this run in the figures")
    args = parser.parse_args()

    seed(args.url, args.scale)
    from workbench.current import settings
    from workbench.staff import set_hash_cost

    app = _app(args.url, args.redis)
    with app.app_context():  # the default, or WORKBENCH_PASSWORD_HASH_* if set
        current = settings()
        default = (current.password_hash_time_cost, current.password_hash_memory_kib,
                   current.password_hash_parallelism)
    meter = Meter()
    _instrument(app, meter)
    _set_password(app, USER, default)
    _set_password(app, OLD_COST_USER, OLD_DEFAULT)
    costs = {"default": (USER, default), "old_default": (OLD_COST_USER, OLD_DEFAULT)}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in costs}
    for round_ in range(args.runs + 1):  # the first round warms up (pool, templates)
        for name, (email, cost) in costs.items():
            set_hash_cost(*cost)  # the hasher is per process: as the app would set it
            sample = _sign_in(app, meter, email)
            if round_:
                samples[name].append(sample)
    set_hash_cost(*default)
    profiles = _profiles(args.runs)

    figures: dict[str, Any] = {"scale": args.scale, "runs": args.runs, "label": args.label,
                               "default_cost": _name(default),
                               "load_average": round(os.getloadavg()[0], 2)}
    rows: list[tuple[str, str]] = []
    for name in costs:
        got = samples[name]
        for key in ("signin_ms", "signin_to_first_page_ms", "form_ms", "post_ms",
                    "first_page_ms"):
            values = [s[key] for s in got]
            label = key[:-3] + ("" if name == "default" else f"_{name}")
            figures[f"{label}_p50_ms"] = round(median(values), 1)
            figures[f"{label}_p95_ms"] = round(percentile(values, 95), 1)
            rows.append((label, f"p50 {median(values):8.1f} ms   "
                                f"p95 {percentile(values, 95):8.1f} ms"))
    breakdown: dict[str, dict[str, float]] = {}
    for phase in PHASES:
        parts = {part: round(median([s[f"{phase}.{part}"] for s in samples["default"]]), 1)
                 for part in (*PARTS, "statements")}
        breakdown[phase] = parts
        rows.append((f"{phase}, p50 by part", ", ".join(
            f"{part} {value:g}" + ("" if part == "statements" else " ms")
            for part, value in parts.items() if value)))
    figures["breakdown_p50_ms"] = breakdown
    figures["signin_old_vs_default_ratio"] = round(
        figures["signin_old_default_p50_ms"] / figures["signin_p50_ms"], 2)
    for name, values in profiles.items():
        key = "check " + name
        figures[f"check_{name.replace(' ', '_').replace('=', '')}_p50_ms"] = round(
            median(values), 1)
        rows.append((key, f"p50 {median(values):8.1f} ms   "
                          f"p95 {percentile(values, 95):8.1f} ms"))
    print_table(f"sign-in at {_name(default)} (baseline {_name(OLD_DEFAULT)}), "
                f"load average {figures['load_average']}", rows)
    print_json(figures)


if __name__ == "__main__":
    main()
