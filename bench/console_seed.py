"""A million-report console data set in a scratch PostgreSQL database, and the dashboard on it.

Run: ``make bench-console-seed`` (``--scale 0.05`` for a quick run). Fills
``BENCH_CONSOLE_DATABASE_URL`` (default ``workbench_bench_console`` on the local server,
migrated with ``workbench.database.upgrade``) with 1,000,000 reports in 200,000 cases and
5,000,000 messages (30,000 cases still open, a backlog deep enough for a page 500 of
the queue), plus the people, accounts, conversations, platforms, moderators,
classifier scores, actions, strikes and decisions the console and its dashboard read.
Rows are generated with numpy and streamed with ``COPY`` (psycopg 3); secondary indexes
are dropped during the load and rebuilt after it. A second run with the same size keeps
the data. Then it rebuilds the dashboard figures and times ``dashboard(session)``.

Importable: ``from bench.console_seed import seed; seed(url, scale)``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.harness import (  # noqa: E402
    DEFAULT_REDIS,
    ROOT,
    SECRET_KEY,
    median,
    percentile,
    print_json,
    print_table,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/workbench_bench_console"
MARKER = "bench_console_seed"
#: Tables loaded with COPY, in dependency order.
TABLES = ("person", "account", "conversation", "message", "case", "report", "classifier_score",
          "action", "strike")
DAY = 86_400
#: Report categories and their share of reports (the distressing ones included).
CATEGORY_MIX = {"harassment": 0.24, "spam_scam": 0.2, "hate": 0.11, "sexual_content": 0.09,
                "fraud": 0.08, "impersonation": 0.06, "underage_user": 0.05,
                "violent_threat": 0.06, "self_harm": 0.04, "ncii": 0.03, "child_safety": 0.02,
                "other": 0.02}
# SQL NULL in np.where: None as a 0-d object array, which numpy's stubs accept where a bare
# None is refused (the result is the same object array either way).
NULL = np.array(None)
URGENT = {"self_harm", "child_safety", "violent_threat", "ncii"}


@dataclass(frozen=True)
class SeedSize:
    reports: int
    cases: int
    messages: int
    people: int
    conversations: int
    moderators: int
    open_cases: int

    @classmethod
    def scaled(cls, scale: float, messages: int | None = None) -> SeedSize:
        """Every count at ``scale`` (1.0: a million reports), or ``messages`` messages
        where given (the message table is most of the disk a large seed takes)."""
        def n(full: int, least: int = 10) -> int:
            return max(least, int(round(full * scale)))
        return cls(reports=n(1_000_000, 50), cases=n(200_000, 10),
                   messages=messages if messages is not None else n(5_000_000, 100),
                   people=n(150_000, 20), conversations=n(250_000, 10), moderators=n(40, 4),
                   open_cases=n(30_000, 2))


@dataclass
class SeedReport:
    size: SeedSize
    skipped: bool
    seconds: float
    rows: dict[str, int]
    load_s: float = 0.0
    figures_s: float = 0.0


def _dsn(url: str) -> str:
    return make_url(url.replace("postgresql+psycopg://", "postgresql://")).render_as_string(
        hide_password=False)


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _already_seeded(url: str, size: SeedSize) -> bool:
    try:
        with psycopg.connect(_dsn(url)) as conn:
            row = conn.execute(f"SELECT size FROM {MARKER}").fetchone()  # noqa: S608
    except psycopg.Error:
        return False
    return row is not None and row[0] == json.dumps(size.__dict__, sort_keys=True)


def _recreate(url: str) -> None:
    parsed = make_url(_dsn(url))
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    from workbench import database

    database.upgrade(_sqlalchemy_url(url))


def _app(url: str, **overrides: object):
    from workbench.app import create_app

    return create_app({"database_url": _sqlalchemy_url(url), "secret_key": SECRET_KEY,
                       "instance_dir": ROOT / "instance" / "bench-console",
                       "redis_url": os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
                       **overrides})


def _staff_and_platforms(url: str, moderators: int) -> None:
    """Platforms and console users go through the workbench's own functions."""
    from workbench.extensions import db
    from workbench.models import Moderator
    from workbench.platforms import register_platform
    from workbench.staff import hash_password

    app = _app(url)
    with app.app_context():
        for slug in ("harmoni-calls", "harmoni-web", "harmoni-meet"):
            register_platform(db.session, SECRET_KEY, slug, secret=f"bench-secret-{slug}",
                              webhook_url=f"http://127.0.0.1:9/{slug}")
        password = hash_password("bench-password")  # one hash: Argon2 is slow on purpose
        for n in range(moderators):
            role = "senior" if n % 8 == 0 else "moderator"
            db.session.add(Moderator(email=f"{role}{n}@bench.local", display_name=f"{role} {n}",
                                     password_hash=password, role=role, languages=["en", "hi"]))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class Generator:
    """Every table's rows as DataFrames, consistent with each other by construction."""

    def __init__(self, size: SeedSize, now: datetime, seed: int = 7) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.now = int(now.timestamp())
        self.accounts = 0
        self.account_platform = np.empty(0, dtype=np.int64)

    def times(self, seconds: np.ndarray) -> pd.Series:
        return pd.to_datetime(seconds, unit="s")  # naive UTC; the session's zone is UTC

    def people(self) -> pd.DataFrame:
        n = self.size.people
        created = self.now - self.rng.integers(DAY, 900 * DAY, n)
        return pd.DataFrame({"id": np.arange(1, n + 1), "created_at": self.times(created)})

    def accounts_frame(self) -> pd.DataFrame:
        """Person p's first account has id p; a quarter of people have a second one."""
        rng, people = self.rng, self.size.people
        first = rng.integers(1, 4, people)
        extra = np.sort(rng.choice(people, people // 4, replace=False)) + 1
        person = np.concatenate([np.arange(1, people + 1), extra])
        platform = np.concatenate([first, first[extra - 1] % 3 + 1])
        ids = np.arange(1, len(person) + 1)
        self.accounts, self.account_platform = len(ids), platform
        created = self.times(self.now - rng.integers(DAY, 900 * DAY, len(ids)))
        return pd.DataFrame({
            "id": ids, "platform_id": platform, "platform_user_id": _named("u", ids),
            "person_id": person, "username": _named("user", ids),
            "languages": np.where(rng.random(len(ids)) < 0.3, '["hi", "en"]', '["en"]'),
            "status": "active", "is_stub": False, "created_at": created, "updated_at": created})

    def conversations(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Conversations between two accounts on one platform; returns (rows, pairs)."""
        rng, n = self.rng, self.size.conversations
        platform = rng.integers(1, 4, n)
        pairs = np.zeros((n, 2), dtype=np.int64)
        for p in (1, 2, 3):
            members = np.flatnonzero(self.account_platform == p) + 1
            rows = platform == p
            pairs[rows] = rng.choice(members, (int(rows.sum()), 2))
        frame = pd.DataFrame({"id": np.arange(1, n + 1), "platform_id": platform,
                              "platform_conversation_id": _named("c", np.arange(1, n + 1)),
                              "created_at": self.times(self.now - rng.integers(DAY, 90 * DAY, n))})
        return frame, np.column_stack([platform, pairs])

    def messages(self, conversations: np.ndarray, texts: list[str],
                 chunk: int = 250_000) -> Iterator[pd.DataFrame]:
        rng, total = self.rng, self.size.messages
        pool = np.array(texts, dtype=object)
        for start in range(1, total + 1, chunk):
            ids = np.arange(start, min(total, start + chunk - 1) + 1)
            conv = rng.integers(0, len(conversations), len(ids))
            side = rng.integers(1, 3, len(ids))
            sent = self.times(self.now - rng.integers(60, 90 * DAY, len(ids)))
            yield pd.DataFrame({
                "id": ids, "platform_id": conversations[conv, 0],
                "platform_message_id": _named("m", ids),
                "conversation_id": conv + 1,
                "sender_account_id": conversations[conv, side],
                "recipient_account_id": conversations[conv, 3 - side],
                "text": pool[rng.integers(0, len(pool), len(ids))],
                "language": np.where(rng.random(len(ids)) < 0.3, "hi-Latn", "en"),
                "sent_at": sent, "received_at": sent, "status": "processed"})


    def cases_and_reports(self, moderators: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Cases (a tenth open, each on a different person) and the reports filed in them."""
        from workbench.cases.policy import DEFAULT_DEADLINE_HOURS, DEFAULT_SEVERITY

        rng, now = self.rng, self.now
        n_cases, n_reports, n_people = self.size.cases, self.size.reports, self.size.people
        n_open = min(self.size.open_cases, n_cases, n_people)
        person = rng.integers(1, n_people + 1, n_cases)
        person[:n_open] = rng.choice(n_people, n_open, replace=False) + 1
        is_open = np.arange(n_cases) < n_open
        created = np.where(is_open, now - rng.integers(600, 10 * DAY, n_cases),
                           now - rng.integers(DAY // 2, 90 * DAY, n_cases))
        decided = np.minimum(created + rng.exponential(6 * 3600, n_cases).astype(np.int64) + 120,
                             now - 60)
        # Every case has a report; the rest go unevenly (a few cases draw many reporters).
        weights = rng.gamma(0.6, size=n_cases)
        more = rng.choice(n_cases, n_reports - n_cases, p=weights / weights.sum())
        case_of = np.concatenate([np.arange(n_cases), more])
        names = np.array(list(CATEGORY_MIX))
        shares = np.array(list(CATEGORY_MIX.values()))
        case_category = rng.choice(names, n_cases, p=shares / shares.sum())
        category = np.where(rng.random(n_reports) < 0.8, case_category[case_of],
                            rng.choice(names, n_reports, p=shares / shares.sum()))
        start, end = created[case_of], np.where(is_open, now, decided)[case_of]
        at = np.where(np.arange(n_reports) < n_cases, start,
                      start + (rng.random(n_reports) * (end - start)).astype(np.int64))
        classifier = rng.random(n_reports) < 0.15
        reports = pd.DataFrame({
            "case_id": case_of + 1, "category": category, "at": at,
            "reported_account_id": person[case_of],
            "reporter_account_id": pd.array(np.where(classifier, 0, rng.integers(
                1, self.accounts + 1, n_reports)), dtype="Int64"),
            "classifier": classifier})
        reports.loc[classifier, "reporter_account_id"] = pd.NA
        reports = reports.sort_values("at", kind="stable").reset_index(drop=True)
        reports["severity"] = reports.category.map(DEFAULT_SEVERITY)
        reports["due"] = reports["at"] + reports.category.map(DEFAULT_DEADLINE_HOURS) * 3600
        cases = self._cases(reports, person, is_open, created, decided, moderators)
        return cases, self._reports(reports, cases)

    def _cases(self, reports: pd.DataFrame, person: np.ndarray, is_open: np.ndarray,
               created: np.ndarray, decided: np.ndarray, moderators: np.ndarray) -> pd.DataFrame:
        rng, n = self.rng, len(person)
        by_case = reports.groupby("case_id")
        counts = reports.groupby(["case_id", "category"]).size().rename("n").reset_index()
        counts["kv"] = '"' + counts.category + '": ' + counts.n.astype(str)
        primary = reports.sort_values("severity", kind="stable").groupby("case_id").category.last()
        urgent = reports.category.isin(URGENT).groupby(reports.case_id).any()
        language = np.where(rng.random(n) < 0.3, "hi-Latn", "en")
        roll = rng.random(n)
        status = np.where(is_open, np.where(roll < 0.85, "open",
                                            np.where(roll < 0.95, "claimed", "escalated")),
                          np.where(roll < 0.6, "actioned", "dismissed"))
        decider = pd.array(np.where(is_open, 0, rng.choice(moderators, n)), dtype="Int64")
        decider[is_open] = pd.NA
        claimed = status == "claimed"
        assignee = pd.array(rng.choice(moderators, n), dtype="Int64")
        assignee[~claimed] = pd.NA
        reporters = by_case.reporter_account_id.nunique().to_numpy()
        frame = pd.DataFrame({
            "id": np.arange(1, n + 1), "person_id": person, "status": status,
            "queue": np.where(urgent.to_numpy(), "urgent-safety",
                              np.where(language == "hi-Latn", "hindi", "general")),
            "priority": np.round(10 * primary.map(_severity()).to_numpy()
                                 + 30 * rng.random(n) + 8 * np.log2(1 + reporters), 3),
            "due_at": self.times(by_case.due.min().to_numpy()),
            "primary_category": primary.to_numpy(),
            "categories": ("{" + counts.groupby("case_id").kv.agg(", ".join) + "}").to_numpy(),
            "platform_id": self.account_platform[person - 1], "language": language,
            "report_count": by_case.size().to_numpy(), "reporter_count": reporters,
            "live": False, "assignee_id": assignee,
            "claimed_at": self.times(np.where(claimed, self.now - rng.integers(0, 600, n), 0)),
            "decision": np.where(is_open, NULL, np.where(status == "actioned", "violation",
                                                         "dismissed")),
            "decided_category": np.where(is_open, NULL, primary.to_numpy()),
            "decided_by_id": decider,
            "decided_at": self.times(decided), "created_at": self.times(created),
            "updated_at": self.times(np.where(is_open, created, decided))})
        frame.loc[~claimed, "claimed_at"] = pd.NaT
        frame.loc[is_open, "decided_at"] = pd.NaT
        return frame

    def _reports(self, reports: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
        rng, n = self.rng, len(reports)
        ids = np.arange(1, n + 1)
        message = pd.array(rng.integers(1, self.size.messages + 1, n), dtype="Int64")
        message[rng.random(n) < 0.2] = pd.NA
        classifier = reports.classifier.to_numpy()
        version = np.where(reports["at"].to_numpy() < self.now - 45 * DAY, "v1", "v2")
        platform = self.account_platform[reports.reported_account_id.to_numpy() - 1]
        at = self.times(reports["at"].to_numpy())
        return pd.DataFrame({
            "id": ids, "platform_id": platform, "platform_report_id": _named("r", ids),
            "reporter_account_id": reports.reporter_account_id.array,
            "reported_account_id": reports.reported_account_id.to_numpy(),
            "category": reports.category.to_numpy(), "message_id": message,
            "call_in_progress": False,
            "source": np.where(classifier, "classifier", "user"),
            "model_name": np.where(classifier, "text", NULL),
            "model_version": np.where(classifier, version, NULL),
            "model_score": np.where(classifier, np.round(0.6 + 0.4 * rng.random(n), 3), np.nan),
            "created_at": at, "received_at": at, "status": "cased",
            "case_id": reports.case_id.to_numpy(), "cased_at": at})

    def scores(self, reports: pd.DataFrame) -> pd.DataFrame:
        """One classifier score per reported message."""
        content = np.unique(reports.message_id.dropna().to_numpy(dtype=np.int64))
        def column(high: float) -> pd.Series:
            return pd.Series(np.round(self.rng.random(len(content)) * high, 3)).astype(str)
        return pd.DataFrame({
            "id": np.arange(1, len(content) + 1), "content_type": "message",
            "content_id": content, "model_name": "text", "model_version": "v2",
            "scores": ('{"abusive": ' + column(1.0) + ', "hate": ' + column(0.6)
                       + ', "spam_scam": ' + column(0.8) + "}").to_numpy(),
            "created_at": self.times(np.full(len(content), self.now - DAY))})

    def actions_and_strikes(self, cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """An action and a strike for every upheld case, as a moderator decided it."""
        upheld = cases[cases.decision == "violation"]
        n = len(upheld)
        kind = self.rng.choice(["warn", "mute", "suspend", "ban"], n, p=[0.3, 0.2, 0.35, 0.15])
        days = np.where(kind == "suspend", self.rng.choice([1, 7, 30], n),
                        np.where(kind == "mute", 1, 0))
        at = upheld.decided_at.to_numpy()
        ends = pd.Series(at + pd.to_timedelta(days, unit="D")).where(days > 0)
        ids = np.arange(1, n + 1)
        actions = pd.DataFrame({
            "id": ids, "type": kind, "person_id": upheld.person_id.to_numpy(),
            "case_id": upheld.id.to_numpy(), "ends_at": ends.to_numpy(),
            "policy_reason": upheld.primary_category.to_numpy(),
            "category": upheld.primary_category.to_numpy(),
            "decided_by_id": upheld.decided_by_id.array, "automated": False,
            "status": np.where(ends.notna() & (ends < pd.Timestamp(self.now, unit="s")),
                               "expired", "active"),
            "created_at": at})
        strikes = pd.DataFrame({
            "id": ids, "person_id": actions.person_id, "action_id": ids,
            "case_id": actions.case_id, "category": actions.category,
            "expires_at": at + pd.Timedelta(days=90), "created_at": at})
        return actions, strikes


def _named(prefix: str, ids: np.ndarray) -> np.ndarray:
    """Platform-side ids: a prefix and the row id (unique per platform)."""
    return np.asarray((prefix + pd.Series(ids).astype(str)).to_numpy())


def _severity() -> dict[str, float]:
    from workbench.cases.policy import DEFAULT_SEVERITY

    return DEFAULT_SEVERITY


def _texts() -> list[str]:
    """Message texts from the shipped public datasets (see classifiers/data/PROVENANCE.md)."""
    from workbench.demo.seed import load_text_pools

    pools = load_text_pools()
    rng = np.random.default_rng(11)
    texts = [str(t) for pool, n in ((pools.benign, 3000), (pools.abusive, 600), (pools.hate, 150),
                                    (pools.spam, 250))
             for t in rng.choice(np.array(pool, dtype=object), n)]
    return [t.replace("\x00", "") for t in texts if t.strip()]


def _copy(conn: psycopg.Connection, table: str, frames: Iterator[pd.DataFrame] | pd.DataFrame,
          progress: bool = True) -> int:
    """Stream frames into ``table`` with COPY (CSV: NULL is an empty unquoted field)."""
    started, rows = time.perf_counter(), 0
    iterator = iter([frames] if isinstance(frames, pd.DataFrame) else frames)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = ", ".join(f'"{c}"' for c in first.columns)
    with conn.cursor() as cursor, cursor.copy(
            f'COPY "{table}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
        for frame in (first, *iterator):
            buffer = io.StringIO()
            frame.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S")
            copy.write(buffer.getvalue())
            rows += len(frame)
            if progress and len(frame) < rows:
                print(f"  {table}: {rows:,} rows", flush=True)
    if progress:
        print(f"{table:<17} {rows:>10,} rows in {time.perf_counter() - started:6.1f} s",
              flush=True)
    return rows


def _secondary_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the indexes of the loaded tables that back no constraint; returns their DDL."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        ([f'"{t}"' for t in TABLES],)).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [ddl for _, ddl in rows]


def load(url: str, size: SeedSize, progress: bool = True) -> dict[str, int]:
    """Generate and COPY every table (in one transaction), then rebuild indexes and analyse."""
    gen = Generator(size, datetime.now(UTC).replace(second=0, microsecond=0))
    rows: dict[str, int] = {}
    with psycopg.connect(_dsn(url)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        # The generator keeps every reference consistent; skip per-row foreign-key triggers.
        conn.execute("SET session_replication_role = replica")
        moderators = np.array([r[0] for r in conn.execute("SELECT id FROM moderator")])
        indexes = _secondary_indexes(conn)
        rows["person"] = _copy(conn, "person", gen.people(), progress)
        rows["account"] = _copy(conn, "account", gen.accounts_frame(), progress)
        conversations, pairs = gen.conversations()
        rows["conversation"] = _copy(conn, "conversation", conversations, progress)
        rows["message"] = _copy(conn, "message", gen.messages(pairs, _texts()), progress)
        cases, reports = gen.cases_and_reports(moderators)
        rows["case"] = _copy(conn, "case", cases, progress)
        rows["report"] = _copy(conn, "report", reports, progress)
        rows["classifier_score"] = _copy(conn, "classifier_score", gen.scores(reports), progress)
        actions, strikes = gen.actions_and_strikes(cases)
        rows["action"] = _copy(conn, "action", actions, progress)
        rows["strike"] = _copy(conn, "strike", strikes, progress)
        started = time.perf_counter()
        for ddl in indexes:
            conn.execute(ddl)
        for table in TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                         f"(SELECT max(id) FROM \"{table}\"))")
        conn.commit()
        if progress:
            print(f"{len(indexes)} indexes rebuilt in {time.perf_counter() - started:.1f} s",
                  flush=True)
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return rows


def seed(url: str = DEFAULT_URL, scale: float = 1.0, progress: bool = True,
         messages: int | None = None) -> SeedReport:
    """Fill the scratch database at ``scale`` (1.0: a million reports), with ``messages``
    messages where given, unless it already is.

    Returns:
        What was done: rows per table (empty when skipped) and the seconds it took,
        including the rebuild of the dashboard figures.
    """
    size = SeedSize.scaled(scale, messages)
    started = time.perf_counter()
    if _already_seeded(url, size):
        if progress:
            print(f"{url}: already seeded at this size; kept", flush=True)
        return SeedReport(size, True, 0.0, {})
    _recreate(url)
    _staff_and_platforms(url, size.moderators)
    loading = time.perf_counter()
    rows = load(url, size, progress)
    load_s = time.perf_counter() - loading
    figures_s = rebuild_dashboard(url)
    if progress:
        print(f"dashboard figures rebuilt in {figures_s:.1f} s", flush=True)
    with psycopg.connect(_dsn(url)) as conn:  # last: a run that stopped half-way seeds again
        conn.execute(f"CREATE TABLE {MARKER} (size text, seeded_at timestamptz DEFAULT now())")
        conn.execute(f"INSERT INTO {MARKER} (size) VALUES (%s)",
                     (json.dumps(size.__dict__, sort_keys=True),))
    return SeedReport(size, False, time.perf_counter() - started, rows, load_s, figures_s)


def rebuild_dashboard(url: str) -> float:
    """Rebuild the dashboard figures and charts from the seeded tables; returns the seconds."""
    from workbench.extensions import db
    from workbench.reporting.dashboard import store_charts
    from workbench.reporting.figures import rebuild_figures

    app = _app(url)
    with app.app_context():
        started = time.perf_counter()
        rebuild_figures(db.session)
        store_charts(db.session)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return seconds


def time_dashboard(url: str, runs: int) -> dict[str, list[float]]:
    """Milliseconds per call of each way the dashboard can be served, and the baseline.

    ``view``: ``dashboard(session)`` in a process that has not seen it (charts drawn by the
    figures job, read from the database); ``kept``: the same process again; ``drawn``:
    drawing the charts from the figures; ``baseline``: counting the same 30 days of
    figures from the big tables, as a dashboard without pre-aggregated figures would.
    """
    from workbench.extensions import db
    from workbench.reporting import dashboard as board
    from workbench.reporting.figures import compute

    app = _app(url)
    out: dict[str, list[float]] = {"baseline": [], "drawn": [], "view": [], "kept": []}

    def timed(name: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        call()
        out[name].append((time.perf_counter() - started) * 1000)
        db.session.rollback()

    with app.app_context():
        first, last = board._window(board.DEFAULT_DAYS)
        for _ in range(3):
            timed("baseline", lambda: compute(db.session, first, last))
        for _ in range(runs):
            timed("drawn", lambda: board.draw(db.session, first, last))
        for _ in range(runs * 3):
            board._cache.clear()
            timed("view", lambda: board.dashboard(db.session))
        for _ in range(runs * 3):
            timed("kept", lambda: board.dashboard(db.session))
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is a million reports")
    parser.add_argument("--messages", type=int, default=None,
                        help="messages to seed (default: 5,000,000 times the scale)")
    parser.add_argument("--runs", type=int, default=9, help="dashboard calls drawn anew")
    args = parser.parse_args()
    report = seed(args.url, args.scale, messages=args.messages)
    timings = time_dashboard(args.url, args.runs)
    base, drawn = timings["baseline"], timings["drawn"]
    view, kept = timings["view"], timings["kept"]
    figures = {
        "scale": args.scale, "reports": report.size.reports, "cases": report.size.cases,
        "messages": report.size.messages, "seeded": not report.skipped,
        "seed_s": round(report.seconds, 1),
        "load_s": round(report.load_s, 1) if report.rows else None,
        "rows_per_s": round(sum(report.rows.values()) / report.load_s) if report.rows else None,
        "figures_rebuild_s": round(report.figures_s, 1) if report.rows else None,
        "dashboard_p50_ms": round(percentile(view, 50), 1),
        "dashboard_p95_ms": round(percentile(view, 95), 1),
        "dashboard_kept_p95_ms": round(percentile(kept, 95), 1),
        "dashboard_drawn_p50_ms": round(percentile(drawn, 50), 1),
        "dashboard_drawn_p95_ms": round(percentile(drawn, 95), 1),
        "baseline_raw_figures_p50_ms": round(median(base), 1),
    }
    figures["ratio_raw_vs_view"] = round(
        figures["baseline_raw_figures_p50_ms"] / figures["dashboard_p50_ms"], 1)
    rows = [("data set", f"{report.size.reports:,} reports, {report.size.cases:,} cases, "
                         f"{report.size.messages:,} messages"),
            ("seeded now", "yes" if report.rows else "no (already there)")]
    if report.rows:
        rows += [("seed time, figures included (s)", f"{report.seconds:.1f}"),
                 ("generate, COPY, index and analyse (s)", f"{report.load_s:.1f}"),
                 ("rows loaded per second", f"{figures['rows_per_s']:,}"),
                 ("dashboard figures and charts rebuild (s)", f"{report.figures_s:.1f}")]
    rows += [
        (f"dashboard view, charts from the job: p50 / p95 of {len(view)} (ms)",
         f"{figures['dashboard_p50_ms']} / {figures['dashboard_p95_ms']}"),
        (f"dashboard view, kept in the process: p95 of {len(kept)} (ms)",
         f"{figures['dashboard_kept_p95_ms']}"),
        (f"drawing the six charts: p50 / p95 of {len(drawn)} (ms)",
         f"{figures['dashboard_drawn_p50_ms']} / {figures['dashboard_drawn_p95_ms']}"),
        ("baseline: 30 days of figures counted from the tables, median of 3 (ms)",
         f"{figures['baseline_raw_figures_p50_ms']}"),
        ("ratio, baseline / view p50", f"{figures['ratio_raw_vs_view']}x")]
    print_table("Console data set and dashboard (PostgreSQL)", rows)
    print_json(figures)


if __name__ == "__main__":
    main()
