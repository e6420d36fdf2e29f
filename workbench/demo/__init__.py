"""``workbench demo``: one command that migrates, seeds and runs the console and a worker."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from types import FrameType
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from queues.connection import EmbeddedRedis
from workbench import database
from workbench.extensions import db
from workbench.metrics import multiprocess
from workbench.models import Platform
from workbench.settings import SETTINGS_KEY, Settings

if TYPE_CHECKING:
    from workbench.demo.seed import DemoSize

log = logging.getLogger(__name__)

#: How long the console may take to answer after start.
START_TIMEOUT_S = 120


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def _wait_for_http(url: str, procs: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _seed_once(app: Flask, host: str, port: int, size: DemoSize | None) -> None:
    # Heavy: imported on first use, not when the module loads.
    from workbench.demo.seed import DemoSize, demo_present, seed_demo_data

    with app.app_context():
        if demo_present(db.session):
            print("Demo data already present: reusing it.")
        else:
            print("Seeding the demo data (once)...")
            seed_demo_data(db.session, app.extensions[SETTINGS_KEY], size or DemoSize(),
                           progress=True)
        _point_sink_at(db.session, host, port)


def _point_sink_at(session: Session, host: str, port: int) -> None:
    """The demo platforms' webhooks go to this demo's own sink, on whatever port it serves
    (served on another port, every delivery used to fail while each decision said done)."""

    sink = re.compile(r"^http://[^/]+(/demo/platforms/[^/]+/webhook)$")
    for platform in session.scalars(select(Platform)):
        match = sink.match(platform.webhook_url or "")
        if match:
            platform.webhook_url = f"http://{host}:{port}{match.group(1)}"
    session.commit()


def _print_welcome(url: str) -> None:
    # Heavy: imported on first use, not when the module loads.
    from workbench.demo.seed import DEMO_LOGINS

    print(f"\nThe workbench is running: {url}\n\nDemo logins:")
    for email, password, role in DEMO_LOGINS:
        print(f"  {role:<10} {email:<24} {password}")
    print("\nCtrl-C stops the console, the worker and the embedded Redis.\n", flush=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def run_demo(app: Flask, host: str, port: int, *, size: DemoSize | None = None,
             exit_after_start: bool = False) -> int:
    """Run the demo until Ctrl-C (or until it answers, with ``exit_after_start``), seeding
    ``size`` (the full demo by default) into a database that has no demo data yet."""
    settings: Settings = app.extensions[SETTINGS_KEY]
    if not _port_free(host, port):
        print(f"error: {host}:{port} is already in use; stop what runs there or pass --port")
        return 2
    database.upgrade(settings.database_url)
    _seed_once(app, host, port, size)
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.instance_dir / "redis")
        embedded.start()
        redis_url = embedded.url
    env = dict(os.environ, WORKBENCH_REDIS_URL=redis_url,
               WORKBENCH_INSTANCE_DIR=str(settings.instance_dir), WORKBENCH_DEMO_MODE="1",
               # The demo serves plain HTTP on localhost: Secure cookies would never be sent.
               WORKBENCH_SECURE_COOKIES="0",
               # The demo's platforms are its own webhook sink on this machine.
               WORKBENCH_ALLOW_PRIVATE_WEBHOOKS="1", WORKBENCH_ALLOW_HTTP_WEBHOOKS="1")
    # This run counts from zero: the figures of an earlier run's processes go.
    multiprocess.clear(settings.metrics_dir)
    cmd = [sys.executable, "-m", "workbench"]
    procs = [
        subprocess.Popen([*cmd, "serve", "--host", host, "--port", str(port)], env=env),
        subprocess.Popen([*cmd, "worker"], env=env),
    ]
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    url = f"http://{host}:{port}/"
    code = 0
    try:
        if not _wait_for_http(url + "healthz", procs):
            print("error: the console did not start; see the messages above")
            return 1
        _print_welcome(url)
        while not stopping and not exit_after_start:
            if any(p.poll() is not None for p in procs):
                print("error: a demo process stopped; shutting down")
                code = 1
                break
            time.sleep(0.5)
    finally:
        print("Stopping...", flush=True)
        _stop(procs)
        if embedded is not None:
            embedded.stop()
    return code
