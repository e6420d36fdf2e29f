"""``workbench serve`` as deployed (gunicorn, 2 processes), started for a test."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


@contextmanager
def serving(env: dict[str, str], port: int, start_s: float = 60) -> Iterator[None]:
    """Serve on ``port`` until the block ends; up once ``/healthz`` answers 200."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--port", str(port), "--workers", "2",
         "--no-access-log"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + start_s
        while True:
            try:
                if _healthy(port):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "no start")
            time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
