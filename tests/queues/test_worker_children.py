"""A worker's scheduler ends with the worker.

Found when intake jobs first ran in the worker's own process: RQ forks its scheduler
from the worker, and the scheduler inherits the worker's open database socket. A worker
killed mid-job left its transaction and row locks open for as long as the scheduler
lived (PostgreSQL sees no end of a connection another process still holds), so the job's
redo by another worker waited behind them; the orphaned scheduler also kept the
scheduling lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from flask import Flask

from tests.support.app import TEST_SECRET_KEY


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_workers_scheduler_ends_with_it(app: Flask) -> None:
    s = app.extensions["workbench.settings"]
    env = dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url,
               WORKBENCH_REDIS_URL=s.redis_url or app.extensions["workbench.redis_url"],
               WORKBENCH_SECRET_KEY=TEST_SECRET_KEY, WORKBENCH_INSTANCE_DIR=str(s.instance_dir))
    worker = subprocess.Popen([sys.executable, "-m", "workbench", "worker", "--queues", "intake"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    children: list[psutil.Process] = []
    try:
        def scheduler_started() -> bool:
            children[:] = psutil.Process(worker.pid).children()
            return bool(children)

        _wait(scheduler_started, 120, "the worker never forked its scheduler")
        worker.send_signal(signal.SIGKILL)  # the worker alone, not its process group
        worker.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], f"still running after the worker was killed: {alive}"
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
