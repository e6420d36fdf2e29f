"""Figures from many processes, added up at one scrape (prometheus_client's multiprocess
mode).

``workbench serve`` (gunicorn: a master and its workers) and ``workbench worker`` (RQ: a
worker and the children it forks per job) each call ``start`` once, before forking. Each
such process tree keeps its files in a directory of its own under the instance's
metrics directory (``WORKBENCH_METRICS_DIR``), and ``/metrics`` adds up every file there.

At start a tree's directory is made empty. The directories of trees that have ended are
removed too when no other tree of the instance is running (a fresh start counts from
zero); while one is (a worker restarted beside a running web server), they are kept, so
the totals never go down: Prometheus would read a drop as a reset and count a spike.

An RQ worker forks a child per job. Each child would write files under its own pid, a
few per job, and every scrape reads them all; so children of one worker share one set of
files, ``<worker pid>-jobs``. The worker runs one child at a time, so the files have one
writer at a time; when a child ends, ``job_process_ended`` marks it dead, which drops its
``livesum`` gauges (jobs running) whatever became of it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from prometheus_client import values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

log = logging.getLogger(__name__)

#: The variable prometheus_client reads; set for the tree's processes by ``start``.
ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Written in each tree's directory: which process owns it (pid and start time).
OWNER_FILE = "owner.json"
_LOCK_FILE = ".lock"

#: The forked child of this worker process that counts in the shared job files:
#: (its pid, the name its files carry).
_job_process: tuple[int, str] | None = None


def process_identifier() -> str:
    """The name this process's files carry: its pid, or its worker's shared job name."""
    pid = os.getpid()
    if _job_process is not None and _job_process[0] == pid:
        return _job_process[1]
    return str(pid)


def job_process_name(worker_pid: int) -> str:
    """The name the job children of worker ``worker_pid`` count under."""
    return f"{worker_pid}-jobs"


def count_as_job_process(worker_pid: int) -> None:
    """In a worker's forked job child: count in the worker's shared job files."""
    global _job_process
    _job_process = (os.getpid(), job_process_name(worker_pid))


def job_process_ended(worker_pid: int) -> None:
    """In the worker, once its job child has exited: drop the child's live gauges."""
    path = os.environ.get(ENV)
    if path:
        mark_process_dead(job_process_name(worker_pid), path)


def process_ended(pid: int) -> None:
    """A process of this tree (a gunicorn worker) has exited: drop its live gauges."""
    path = os.environ.get(ENV)
    if path:
        mark_process_dead(pid, path)


def active() -> bool:
    """Whether this process counts in files (it belongs to a started tree)."""
    return bool(os.environ.get(ENV))


def start(metrics_dir: Path, role: str) -> Path:
    """Make this process (and those it forks) count in a fresh directory of its own.

    Call before forking and before any metric is used. Returns the directory.
    """
    metrics_dir.mkdir(parents=True, exist_ok=True)
    own = metrics_dir / f"{role}-{os.getpid()}"
    with _locked(metrics_dir):
        others = [d for d in _tree_dirs(metrics_dir) if d != own]
        if not any(_owner_alive(d) for d in others):
            for ended in others:
                shutil.rmtree(ended, ignore_errors=True)
        shutil.rmtree(own, ignore_errors=True)
        own.mkdir()
        (own / OWNER_FILE).write_text(json.dumps(_owner(os.getpid())))
    os.environ[ENV] = str(own)
    values.ValueClass = values.MultiProcessValue(process_identifier)
    log.info("metrics of this %s are kept in %s", role, own)
    return own


def clear(metrics_dir: Path) -> None:
    """Remove every tree's figures (the demo, before it starts its processes)."""
    with _locked(metrics_dir):
        for d in _tree_dirs(metrics_dir):
            shutil.rmtree(d, ignore_errors=True)


class FilesCollector:
    """Every tree's files under the metrics directory, added up."""

    def __init__(self, metrics_dir: Path) -> None:
        self.metrics_dir = metrics_dir

    def collect(self) -> Iterator[object]:
        for _ in range(3):
            files = [str(f) for f in self.metrics_dir.glob("*/*.db")]
            try:
                yield from MultiProcessCollector.merge(files, accumulate=True)
                return
            except FileNotFoundError:
                # A tree's old directory was removed between the listing and the read
                # (a fresh start beside this scrape): list again.
                continue
        raise RuntimeError(f"metrics files under {self.metrics_dir} keep changing")


@contextmanager
def _locked(metrics_dir: Path) -> Iterator[None]:
    metrics_dir.mkdir(parents=True, exist_ok=True)
    with open(metrics_dir / _LOCK_FILE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _tree_dirs(metrics_dir: Path) -> Iterable[Path]:
    return [d for d in metrics_dir.iterdir() if d.is_dir()]


def _owner(pid: int) -> dict[str, float]:
    return {"pid": pid, "started": psutil.Process(pid).create_time()}


def _owner_alive(tree: Path) -> bool:
    """Whether the process that made ``tree`` still runs (its pid, not reused since)."""
    try:
        owner = json.loads((tree / OWNER_FILE).read_text())
        return bool(_owner(int(owner["pid"]))["started"] == owner["started"])
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return False
