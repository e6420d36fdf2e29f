"""Worker scaling: throughput of the classification and enforcement stages with 1, 2 and 4
worker processes, so how the workbench scales out is measured rather than claimed.

Run: ``make bench-scale``. Each stage runs through the real queue and jobs:
``workbench worker --queues classify`` (or ``enforce``) subprocesses, PostgreSQL (a scratch
database, ``BENCH_SCALE_DATABASE_URL``, default ``workbench_bench_scale``) and Redis db 10
(``BENCH_SCALE_REDIS_URL``); enforcement delivers to three platform webhook servers on
127.0.0.1, in a process of their own. Work is written first and enqueued all at once
with the workers already up, so start-up is not timed. Worker counts take turns within each
round, so whatever else the machine is doing falls on every count alike. The baseline is
one worker, measured in the same run; the ratios say what 2 and 4 workers add to it.
Beside each rate: the workers' CPU time per item (their job children included), which
says how much of the machine a stage needs whatever else is running on it.

The growth curve (``--curve``): the same number of messages classified by one worker in
outbox batches of 50, 500 and 5,000 (a job over a deep queue takes the batches waiting
behind it along), against the largest size, in the same rounds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.harness import (  # noqa: E402
    ABUSIVE,
    BENIGN,
    ROOT,
    SECRET_KEY,
    SPAM,
    Stack,
    median,
    print_json,
    print_table,
)

DATABASE = "postgresql://postgres@127.0.0.1:5432/workbench_bench_scale"
REDIS = "redis://127.0.0.1:6379/10"
SLUGS = ("calls", "web", "meet")
WORKER_READY_TIMEOUT_S = 120
STAGE_TIMEOUT_S = 900

WORDS = ["today", "now", "pls", "ok", "bro", "haha", "later", "again", "team", "soon"]


def _text(rng: random.Random) -> str:
    """One message: mostly everyday chat, some abuse (8%), a little spam (1%)."""
    roll = rng.random()
    pool = SPAM if roll < 0.01 else ABUSIVE if roll < 0.09 else BENIGN
    return f"{rng.choice(pool)} {' '.join(rng.choices(WORDS, k=rng.randint(0, 4)))}".strip()


def chat_messages(rng: random.Random, first: int, n: int, now: datetime) -> list[Any]:
    """``n`` messages numbered from ``first`` among 5,000 users in 3,000 conversations."""
    from workbench.api.schemas import MessageIn

    return [MessageIn(id=f"m{i}", conversation_id=f"c{i % 3000}",
                      sender_id=f"u{rng.randrange(5000)}",
                      recipient_id=f"u{rng.randrange(5000)}", text=_text(rng), sent_at=now)
            for i in range(first, first + n)]


# ---- the platform webhook servers, in their own process --------------------------------

def _serve_platforms(secrets: dict[str, str], ports: Any, stop: Any) -> None:
    from tests.support.platform_server import PlatformServer

    servers = [PlatformServer(slug, secret) for slug, secret in secrets.items()]
    for server in servers:
        server.start()
    ports.put({s.slug: s.url for s in servers})
    stop.wait()
    for server in servers:
        server.stop()


class PlatformProcess:
    """Three platform servers in a child process, so they do not share the bench's GIL."""

    def __init__(self) -> None:
        self.secrets = {slug: f"bench-{slug}-secret-0123456789" for slug in SLUGS}
        ctx = multiprocessing.get_context("spawn")
        self.stop_event = ctx.Event()
        self.ports = ctx.Queue()
        self.process = ctx.Process(target=_serve_platforms, daemon=True,
                                   args=(self.secrets, self.ports, self.stop_event))

    def start(self) -> dict[str, str]:
        self.process.start()
        urls: dict[str, str] = self.ports.get(timeout=60)
        return urls

    def stop(self) -> None:
        self.stop_event.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


# ---- the two stages --------------------------------------------------------------------

class Bench:
    """The stack, the app (for writing work and counting what is done) and the figures."""

    def __init__(self, stack: Stack, platform_urls: dict[str, str], secrets: dict[str, str]):
        from workbench.app import create_app
        from workbench.extensions import db
        from workbench.platforms import register_platform
        from workbench.staff import create_moderator

        self.stack = stack
        self.app = create_app({"database_url": stack.database_url,
                               "redis_url": stack.redis_url, "secret_key": SECRET_KEY,
                               "instance_dir": stack.instance_dir})
        self.redis = redis.Redis.from_url(stack.redis_url)
        self.rng = random.Random(42)
        self.offset = 0
        # Enforcement's people get user ids of their own, apart from the message senders'.
        self.people_offset = 10**7
        with self.app.app_context():
            for slug in SLUGS:
                register_platform(db.session, SECRET_KEY, slug, secret=secrets[slug],
                                  webhook_url=platform_urls[slug])
            self.moderator_id = create_moderator(db.session, "bench-scale@example.org",
                                                 "lantern-kiwi-9", "senior").id
            db.session.commit()
            self.platform_id = self._platform_ids()["calls"]

    def _platform_ids(self) -> dict[str, int]:
        from workbench.extensions import db
        from workbench.models import Platform

        return dict(db.session.execute(select(Platform.slug, Platform.id)).all())

    def start_workers(self, n: int, queue: str) -> None:
        """``n`` worker processes on ``queue``, each logging to a file; wait until all serve."""
        logs = self.stack.instance_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            with (logs / f"{queue}-{n}-{i}.log").open("ab") as log:
                self.stack.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "workbench", "worker", "--queues", queue],
                    env=self.stack.env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        q = Queue(queue, connection=self.redis)
        while Worker.count(connection=self.redis, queue=q) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{n} {queue} workers did not start")
            time.sleep(0.1)

    def stop_workers(self) -> None:
        self.stack.stop()
        self.redis.flushdb()

    @contextmanager
    def workers(self, n: int, queue: str) -> Iterator[None]:
        """``n`` workers on ``queue`` for the block (``start_workers``), stopped after it."""
        self.start_workers(n, queue)
        try:
            yield
        finally:
            self.stop_workers()

    def _timed(self, start: Any, pending: Any, queue: str, items: int) -> Run:
        """Start the work, wait until nothing is ``pending``, and time it. A job that
        failed (or waits to retry) stops the bench: it would time the back-off."""
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry

        from workbench.extensions import db

        q = Queue(queue, connection=self.redis)
        cpu = self.stack.procs_cpu_s()
        started = time.perf_counter()
        start()
        deadline = time.monotonic() + STAGE_TIMEOUT_S
        while db.session.execute(pending).scalar_one():
            db.session.rollback()
            failed = FailedJobRegistry(queue=q).count + ScheduledJobRegistry(queue=q).count
            if failed:
                raise RuntimeError(f"{queue}: {failed} job(s) failed; see the worker logs "
                                   f"in {self.stack.instance_dir / 'logs'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{queue}: not done after {STAGE_TIMEOUT_S} s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        db.session.rollback()
        time.sleep(0.5)  # let each worker reap its last job's child, whose CPU then counts
        return Run(items / elapsed, items, self.stack.procs_cpu_s() - cpu, os.getloadavg()[0])

    def classify(self, batches: int, batch_size: int) -> Run:
        """Messages scored per second: ``batches`` outbox batches, enqueued at once."""
        from queues.outbox import enqueue_batches
        from workbench.api.store import store_messages
        from workbench.extensions import db
        from workbench.models import OutboxBatch

        now = datetime.now(UTC)
        with self.app.app_context():
            ids = []
            for _ in range(batches):
                items = chat_messages(self.rng, self.offset + 1, batch_size, now)
                self.offset += batch_size
                stored = store_messages(db.session, self.platform_id, items)
                assert stored.batch_id is not None, "a batch of new messages has an outbox batch"
                ids.append(stored.batch_id)
            db.session.commit()
            return self._timed(lambda: enqueue_batches(ids), select(func.count(OutboxBatch.id))
                               .where(OutboxBatch.id.in_(ids), OutboxBatch.processed_at.is_(None)),
                               "classify", batches * batch_size)

    def enforce(self, people: int) -> Run:
        """Deliveries per second: bans of ``people`` people with an account on each of the
        three platforms, their deliveries enqueued at once; done when all are delivered."""
        from bench.enforcement import _ban, _people
        from queues.enforce import enqueue_deliveries
        from workbench.models import EnforcementDelivery

        person_ids = _people(self.app, dict.fromkeys(SLUGS), people, self.people_offset)
        self.people_offset += people
        _, ids = _ban(self.app, person_ids, self.moderator_id)
        with self.app.app_context():
            return self._timed(lambda: enqueue_deliveries(ids),
                               select(func.count(EnforcementDelivery.id)).where(
                                   EnforcementDelivery.id.in_(ids),
                                   EnforcementDelivery.state != "delivered"),
                               "enforce", len(ids))


@dataclass(frozen=True)
class Run:
    """One timed run: items per second, how many items, worker CPU used, load after."""

    rate: float
    items: int
    cpu_s: float
    load: float

    @property
    def cpu_ms_per_item(self) -> float:
        return 1000 * self.cpu_s / self.items


STAGES = {"classify": "messages scored/s", "enforce": "deliveries/s"}


def measure(bench: Bench, args: argparse.Namespace, counts: list[int],
            curve: list[int]) -> dict[str, list[Run]]:
    """Every stage with every worker count, ``args.runs`` rounds, counts taking turns;
    then, in the same round, one worker classifying in batches of each ``curve`` size."""
    runs: dict[str, list[Run]] = {f"{s}_{n}w": [] for s in STAGES for n in counts}
    runs.update({f"classify_{counts[0]}w_batch_{size}": [] for size in curve})
    messages = args.batches * args.batch_size
    for round_no in range(1, args.runs + 1):
        for size in curve:
            with bench.workers(counts[0], "classify"):
                run = bench.classify(max(1, messages // size), size)
            runs[f"classify_{counts[0]}w_batch_{size}"].append(run)
            print(f"round {round_no}, {counts[0]} worker(s), classify in batches of {size}: "
                  f"{run.rate:,.0f} messages scored/s, worker CPU "
                  f"{run.cpu_ms_per_item:.2f} ms each, load {run.load:.1f}", flush=True)
        for n in counts:
            for stage in STAGES:
                with bench.workers(n, stage):
                    run = (bench.classify(args.batches, args.batch_size) if stage == "classify"
                           else bench.enforce(args.people))
                runs[f"{stage}_{n}w"].append(run)
                print(f"round {round_no}, {n} worker(s), {stage}: {run.rate:,.0f} "
                      f"{STAGES[stage]}, worker CPU {run.cpu_ms_per_item:.2f} ms each, "
                      f"load {run.load:.1f}", flush=True)
    return runs


def report(runs: dict[str, list[Run]], counts: list[int], curve: list[int],
           load_before: float) -> None:
    base = counts[0]
    figures: dict[str, Any] = {}
    for key, values in runs.items():
        figures[key] = round(median([r.rate for r in values]), 1)
        figures[f"{key}_cpu_ms_per_item"] = round(median([r.cpu_ms_per_item for r in values]),
                                                  3)
    rows = []
    for stage, unit in STAGES.items():
        for n in counts:
            key = f"{stage}_{n}w"
            ratio = ""
            if n != base:
                figures[f"{stage}_ratio_{n}_{base}"] = round(
                    figures[key] / figures[f"{stage}_{base}w"], 2)
                ratio = f"  ({figures[f'{stage}_ratio_{n}_{base}']}x of {base})"
            spread = ", ".join(f"{r.rate:,.0f}" for r in runs[key])
            rows.append((f"{stage}, {n} worker(s): {unit}",
                         f"{figures[key]:,.0f}{ratio}   runs: {spread}   worker CPU "
                         f"{figures[f'{key}_cpu_ms_per_item']:.2f} ms/item"))
    if curve:
        largest = f"classify_{base}w_batch_{max(curve)}"
        for size in curve:
            key = f"classify_{base}w_batch_{size}"
            figures[f"{key}_ratio_to_{max(curve)}"] = round(figures[key] / figures[largest], 2)
            spread = ", ".join(f"{r.rate:,.0f}" for r in runs[key])
            rows.append((f"classify, {base} worker(s), batches of {size}: messages/s",
                         f"{figures[key]:,.0f}  ({figures[f'{key}_ratio_to_{max(curve)}']}x "
                         f"of batches of {max(curve)})   runs: {spread}   worker CPU "
                         f"{figures[f'{key}_cpu_ms_per_item']:.2f} ms/item"))
    # The headline figure: messages a single worker classifies per second, end to
    # end (the fewest-workers run, divided by its worker count).
    figures["classify_messages_per_s_per_worker"] = round(figures[f"classify_{base}w"] / base, 1)
    first = runs[f"classify_{base}w"][0]
    deliveries = runs[f"enforce_{base}w"][0].items
    figures.update(runs=len(runs[f"classify_{base}w"]), cores=os.cpu_count(),
                   messages_per_run=first.items, deliveries_per_run=deliveries,
                   load_avg_before=round(load_before, 2),
                   load_avg_max=round(max(r.load for v in runs.values() for r in v), 2))
    print_table(f"Worker scaling on {os.cpu_count()} cores (median of {figures['runs']} runs; "
                f"{first.items} messages, {deliveries} deliveries per run; load average "
                f"{figures['load_avg_before']} before, up to {figures['load_avg_max']})", rows)
    print_json(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--batches", type=int, default=24, help="message batches per run")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--people", type=int, default=2000,
                        help="people banned per enforcement run (3 deliveries each)")
    parser.add_argument("--curve", default="50,500,5000",
                        help="batch sizes of the growth curve (one worker, the same "
                             "messages per run); empty for none")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    curve = [int(n) for n in args.curve.split(",") if n]

    stack = Stack(database_url=os.environ.get("BENCH_SCALE_DATABASE_URL", DATABASE),
                  redis_url=os.environ.get("BENCH_SCALE_REDIS_URL", REDIS),
                  instance_dir=ROOT / "instance" / "bench-scale")
    stack.reset()
    shutil.rmtree(stack.instance_dir / "logs", ignore_errors=True)
    platforms = PlatformProcess()
    load_before = os.getloadavg()[0]
    try:
        bench = Bench(stack, platforms.start(), platforms.secrets)
        runs = measure(bench, args, counts, curve)
    finally:
        stack.stop()
        platforms.stop()
    report(runs, counts, curve, load_before)


if __name__ == "__main__":
    main()
