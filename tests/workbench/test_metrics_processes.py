"""One scrape adds up every process: ``workbench serve`` (gunicorn, two workers) takes
the intake, ``workbench worker`` (which forks a child per job) drains the queues, and
``/metrics`` on the web server counts both."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.signing import signed_headers
from tests.support.app import TEST_SECRET_KEY
from tests.support.metrics_scrape import Samples, parse, total, value
from tests.support.platform_api import PlatformApi
from tests.support.platform_server import free_port
from tests.support.serving import serving

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 6
PER_BATCH = 3
START_S = 120
DRAIN_S = 600


def _request(port: int, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    # A connection per request (closed after it), so gunicorn's workers share the work.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body or None,
                     headers={"Connection": "close", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.fixture
def environment(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    env = {**os.environ, "HOME": str(tmp_path), "WORKBENCH_DATABASE_URL": database_url,
           "WORKBENCH_REDIS_URL": redis_url, "WORKBENCH_SECRET_KEY": TEST_SECRET_KEY,
           "WORKBENCH_INSTANCE_DIR": str(tmp_path / "instance")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@pytest.fixture
def served(environment: dict[str, str], platforms: dict[str, PlatformApi]) -> Iterator[int]:
    port = free_port()
    with serving(environment, port, START_S):
        yield port


def _worker(environment: dict[str, str]) -> None:
    """``workbench worker --burst``: drain the queues, then stop."""
    done = subprocess.run([sys.executable, "-m", "workbench", "worker", "--burst"], cwd=ROOT,
                          env=environment, capture_output=True, timeout=DRAIN_S)
    assert done.returncode == 0, done.stderr.decode()[-4000:]


def _scrape(port: int) -> Samples:
    status, body = _request(port, "GET", "/metrics")
    assert status == 200, body[:500]
    return parse(body.decode())


def _post_messages(port: int, platform: PlatformApi, batch: int) -> None:
    body = json.dumps({"messages": [
        {"id": f"b{batch}-m{i}", "conversation_id": "c1", "sender_id": f"s{i}",
         "recipient_id": "r", "text": "you are a stupid idiot" if i == 0 else "see you soon",
         "sent_at": "2026-11-20T10:00:00Z"} for i in range(PER_BATCH)]}).encode()
    headers = {**signed_headers(platform.slug, platform.secret, body),
               "Content-Type": "application/json"}
    status, answer = _request(port, "POST", "/api/v1/messages", body, headers)
    assert status == 202, answer
    assert json.loads(answer)["accepted"] == PER_BATCH


def _names(tree: Path) -> set[str]:
    """The process names a tree's files carry (``counter_<name>.db``)."""
    return {f.stem.split("_")[-1] for f in tree.glob("*.db")}


def test_one_scrape_adds_up_the_web_processes_the_worker_and_its_job_children(
    served: int, environment: dict[str, str], platforms: dict[str, PlatformApi]
) -> None:
    metrics_dir = Path(environment["WORKBENCH_INSTANCE_DIR"]) / "metrics"
    for batch in range(BATCHES):
        _post_messages(served, platforms["calls"], batch)
    # Each batch in a job (a child) of its own: a job would otherwise take the others
    # along, and their jobs would leave the queue.
    environment = {**environment, "WORKBENCH_CLASSIFY_COALESCE_ITEMS": str(PER_BATCH)}
    _worker(environment)

    samples = _scrape(served)
    items = BATCHES * PER_BATCH
    assert value(samples, "workbench_intake_items_total", kind="messages",
                 platform="calls") == items
    # Counted in the worker's job children, not the web processes:
    assert total(samples, "workbench_classified_items_total", content="message") == items
    assert value(samples, "workbench_job_seconds_count", queue="classify",
                 job="process_batch", outcome="finished") == BATCHES
    assert total(samples, "workbench_queue_jobs") == 0
    assert total(samples, "workbench_jobs_running") == 0

    trees = sorted(d.name for d in metrics_dir.iterdir() if d.is_dir())
    assert [t.split("-")[0] for t in trees] == ["web", "worker"], trees
    worker_tree = metrics_dir / trees[1]
    worker_pid = trees[1].split("-")[1]
    # Every job child counted in the worker's one shared set of files.
    assert _names(worker_tree) <= {worker_pid, f"{worker_pid}-jobs"}
    assert f"{worker_pid}-jobs" in _names(worker_tree)
    assert not list(worker_tree.glob("gauge_live*_*-jobs.db")), "a dead child's live gauge"

    # A worker started while the web server runs keeps the ended worker's figures: the
    # totals do not go down (Prometheus would read a drop as a reset).
    _worker(environment)
    again = _scrape(served)
    assert worker_tree.is_dir()
    assert total(again, "workbench_classified_items_total", content="message") == items
    assert value(again, "workbench_job_seconds_count", queue="classify",
                 job="process_batch", outcome="finished") == BATCHES


def test_a_fresh_start_clears_the_figures_of_trees_that_have_ended(tmp_path: Path) -> None:
    from workbench.metrics import multiprocess

    ended = tmp_path / "metrics" / "worker-1"
    ended.mkdir(parents=True)
    (ended / "counter_1.db").write_bytes(b"")
    (ended / multiprocess.OWNER_FILE).write_text(json.dumps({"pid": 1, "started": 0.0}))
    code = ("import os, sys; from pathlib import Path; "
            "from workbench.metrics import multiprocess as m; "
            "print(m.start(Path(sys.argv[1]), 'web'))")
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "metrics")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not ended.exists()
    assert [d.name for d in (tmp_path / "metrics").iterdir() if d.is_dir()] == [
        Path(out.stdout.strip()).name]
