"""What the benchmarks share: a scratch PostgreSQL database, the real server and workers.

Nothing here is part of the test suite; benchmarks print figures and never assert them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/workbench_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
# Benchmark platforms are HTTP servers on 127.0.0.1: allow such webhook URLs here and in
# every process a benchmark starts.
os.environ.setdefault("WORKBENCH_ALLOW_PRIVATE_WEBHOOKS", "true")
os.environ.setdefault("WORKBENCH_ALLOW_HTTP_WEBHOOKS", "true")


# Chat lines the benchmarks and the soak send: benign, abusive and spam.
BENIGN = ["see you at dinner tonight", "are you joining the call later?",
          "kal milte hain yaar, bahut time ho gaya", "thanks for the voice note, love it",
          "which room is the quiz in", "happy birthday!! have a great one",
          "can you send me the photos from saturday", "running ten minutes late, sorry"]
ABUSIVE = ["you are a stupid idiot and i hate you", "shut up you worthless moron",
           "nobody wants you here you pathetic loser"]
SPAM = ["WINNER!! As a valued network customer you have been selected to receive a £900 "
        "prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Stack:
    """A fresh database and Redis, the app's server and some workers."""

    database_url: str = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url: str = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    instance_dir: Path = ROOT / "instance" / "bench"
    port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _engine: Engine | None = field(default=None, init=False, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, WORKBENCH_DATABASE_URL=self.database_url,
                    WORKBENCH_REDIS_URL=self.redis_url, WORKBENCH_SECRET_KEY=SECRET_KEY,
                    WORKBENCH_INSTANCE_DIR=str(self.instance_dir), PYTHONPATH=str(ROOT))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Recreate the scratch database and empty the Redis database."""
        self.close()
        url = make_url(self.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = url.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{url.database}"')
        from workbench import database

        database.upgrade(url.render_as_string(hide_password=False))
        redis.Redis.from_url(self.redis_url).flushdb()

    def register_platform(self, slug: str, secret: str, webhook_url: str | None = None) -> None:
        from workbench.app import create_app
        from workbench.extensions import db
        from workbench.platforms import register_platform

        app = create_app({"database_url": self.database_url, "redis_url": self.redis_url,
                          "secret_key": SECRET_KEY, "instance_dir": self.instance_dir})
        with app.app_context():
            register_platform(db.session, SECRET_KEY, slug, secret=secret,
                              webhook_url=webhook_url)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def start_server(self, workers: int = 2) -> None:
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--port", str(self.port),
             "--workers", str(workers), "--no-access-log"],
            env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def start_workers(self, n: int, queues: str | None = None) -> None:
        args = [sys.executable, "-m", "workbench", "worker"]
        if queues:
            args += ["--queues", queues]
        for _ in range(n):
            self.procs.append(subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL,
                                               start_new_session=True))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()

    def procs_cpu_s(self, procs: list[subprocess.Popen[bytes]] | None = None) -> float:
        """CPU seconds the started processes (or those of ``procs``) have used: their own,
        their finished children's (exited work horses), and their live children's."""
        import psutil

        total = 0.0
        for proc in self.procs if procs is None else procs:
            try:
                parent = psutil.Process(proc.pid)
                t = parent.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
                for child in parent.children(recursive=True):
                    c = child.cpu_times()
                    total += c.user + c.system
            except psutil.NoSuchProcess:
                continue
        return total

    def database_cpu_s(self) -> float:
        """CPU seconds so far of the PostgreSQL backends serving this stack's database (but
        the one asking). Redis is shared with other users of the server, so it is left out."""
        import psutil

        total = 0.0
        backends = self.scalar("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        for pid in str(backends or "").split(","):
            try:
                t = psutil.Process(int(pid)).cpu_times()
                total += t.user + t.system
            except (ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def scalar(self, sql: str) -> Any:
        """One value, on the one connection this process keeps: benchmarks poll with it
        many times a second, and a new connection each time (a new PostgreSQL backend,
        forked, authenticated, its caches filled) took CPU from what was measured."""
        if self._engine is None:
            self._engine = create_engine(
                self.database_url.replace("postgresql://", "postgresql+psycopg://", 1),
                pool_size=1, pool_pre_ping=True)
        with self._engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def close(self) -> None:
        """Let go of the polling connection (before the database is dropped, or at the end)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    try:
        yield stack
    finally:
        stack.stop()
        stack.close()


def latency_rows(timings: dict[str, list[float]],
                 figures: dict[str, object]) -> list[tuple[str, str]]:
    """Each timing's p50 and p95 in ms, into ``figures`` (``<name>_p50_ms``) and as rows."""
    rows = []
    for name, values in timings.items():
        p50, p95 = median(values), percentile(values, 95)
        figures[f"{name}_p50_ms"] = round(p50, 1)
        figures[f"{name}_p95_ms"] = round(p95, 1)
        rows.append((name, f"p50 {p50:8.1f} ms   p95 {p95:8.1f} ms"))
    return rows


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n" + "-" * len(title))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def print_json(figures: Mapping[str, object]) -> None:
    """The last line of every benchmark: its figures as one JSON object."""
    print(json.dumps(figures, sort_keys=True), flush=True)
