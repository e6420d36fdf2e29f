"""The whole-system soak with faults, shared by ``bench/soak.py`` and the suite's short run.

``run_soak(config)`` starts the real system (gunicorn, queue workers, its own Redis, a
scratch PostgreSQL database, three platform webhook servers), drives it with a bounded
load and scripted moderators while faults are injected on a schedule, drains it, and
returns the ledger and the figures. Nothing here asserts: the bench prints, the test
asserts.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.soak_harness import drain as draining
from bench.soak_harness import figures, ledger
from bench.soak_harness.badinput import burst
from bench.soak_harness.client import AnswerLog, ApiClient
from bench.soak_harness.drain import FailedJob
from bench.soak_harness.faults import FaultInjector, FaultTimes, Window, schedule
from bench.soak_harness.load import LoadGenerator, plan, plan_accounts
from bench.soak_harness.moderators import ModeratorScript
from bench.soak_harness.stack import ScratchDatabase, Stack, moderator_accounts
from bench.soak_harness.world import World

#: The counts that must be 0 for the soak to pass.
MUST_BE_ZERO = ("lost", "duplicates", "stuck_jobs", "server_errors_on_bad_input",
                "undelivered", "server_errors", "uncased", "unprocessed", "out_of_order",
                "refused_but_stored", "bad_input_accepted", "audit_chain_broken", "deadlock_503s")


@dataclass(frozen=True)
class SoakConfig:
    database_url: str
    instance_dir: Path
    load_s: float
    faults: FaultTimes
    drain_s: float
    rate: float = 5.0
    people: int = 240
    workers: int = 3
    web_workers: int = 2
    moderator_pace_s: float = 2.0
    seed: int = 7
    oversized_audio: bool = True

    @classmethod
    def short(cls, database_url: str, instance_dir: Path) -> SoakConfig:
        """The suite's version: one cycle of every fault in about two minutes of load."""
        return cls(database_url, instance_dir, load_s=120.0, drain_s=150.0,
                   faults=FaultTimes(baseline_s=20.0, platform_down_s=15.0, slow_s=15.0,
                                     pg_down_s=5.0))

    @classmethod
    def long(cls, minutes: float, database_url: str, instance_dir: Path) -> SoakConfig:
        """The bench's version: a quiet baseline, then fault cycles with a platform down
        for a minute and slowed for a minute."""
        load_s = minutes * 60.0
        return cls(database_url, instance_dir, load_s=load_s, drain_s=300.0, rate=4.0,
                   people=1000, faults=FaultTimes(baseline_s=min(120.0, load_s / 5),
                                                  platform_down_s=60.0, slow_s=60.0,
                                                  pg_down_s=10.0))


@dataclass
class SoakResult:
    config: SoakConfig
    ledger: ledger.Ledger
    windows: list[Window]
    failed: list[tuple[FailedJob, bool]]
    leftovers: draining.Leftovers
    figures: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The last line's object: every must-be-zero count, then the figures."""
        out: dict[str, Any] = {name: self.ledger.counts.get(name, 0) for name in MUST_BE_ZERO}
        out.update(self.figures)
        return out

    def failures(self) -> dict[str, list[str]]:
        return {name: self.ledger.examples.get(name, []) for name in MUST_BE_ZERO
                if self.ledger.counts.get(name, 0)}


def run_soak(config: SoakConfig) -> SoakResult:
    """Start everything, load it while faults happen, drain it, and check the ledger."""
    stack = Stack(ScratchDatabase(config.database_url), config.instance_dir,
                  workers=config.workers, web_workers=config.web_workers)
    try:
        stack.start()
        return _soak(stack, config)
    finally:
        stack.stop()


def _soak(stack: Stack, config: SoakConfig) -> SoakResult:
    log = AnswerLog()
    client = ApiClient(stack.base_url, {s: p.secret for s, p in stack.platforms.items()}, log)
    world = World(seed=config.seed, people=config.people)
    # The platforms' users exist before the clock starts, as they would in production.
    LoadGenerator(world, client, stack.platforms, plan_accounts(world)).run(time.time())
    load = LoadGenerator(world, client, stack.platforms,
                         plan(config.load_s, config.rate, config.seed))
    injector = FaultInjector(
        stack, schedule(config.load_s, config.faults), config.faults,
        lambda slug: burst(client, world, slug, oversized_audio=config.oversized_audio))
    stop = threading.Event()
    moderators = [ModeratorScript(stack.base_url, email, role, log, stop,
                                  config.moderator_pace_s, config.seed + i)
                  for i, (email, role) in enumerate(moderator_accounts())]
    start = time.time() + 0.5
    injector.begin(start)
    for m in moderators:
        m.start()
    load.run(start)
    time.sleep(max(0.0, start + config.load_s - time.time()))
    stop.set()
    for m in moderators:
        m.join(timeout=60)
    windows = injector.finish()
    load_end = time.time()
    engine = stack.database.engine()
    try:
        drained_s, left = draining.drain(engine, stack.redis.url, config.drain_s)
        conn = redis.Redis.from_url(stack.redis.url)
        result = ledger.build(engine, log.accepted, stack.platforms)
        _leftovers(result, left)
        figures.check_answers(result, log.answers, windows)
        failed = figures.check_jobs(result, left.jobs, draining.failed_jobs(conn), windows)
        _keep_answers(config.instance_dir, log, windows)
        exits = stack.supervisor.unexpected_exits() if stack.supervisor else []
        for t, pid, code in exits:
            result.problem("worker_exits_unplanned", f"pid {pid} ended with {code} at {t:.1f}")
        out = SoakResult(config, result, windows, failed, left)
        out.figures = {
            "load_s": round(load_end - start, 1), "drain_s": round(drained_s, 1),
            "requests": len(log.answers), "faults": len(windows),
            "decisions": sum(len(m.decisions) for m in moderators),
            "worker_exits_unplanned": len(exits),
            "intake": figures.intake_figures(log.answers, log.accepted, engine, windows,
                                             config.load_s, start),
            "enforcement": figures.enforcement_figures(engine, windows),
        }
        return out
    finally:
        engine.dispose()


def _leftovers(result: ledger.Ledger, left: draining.Leftovers) -> None:
    """Work the drain could not finish: unscored content, unprocessed batches."""
    result.zero("unprocessed")
    for name in ("messages_unscored", "recordings_unscored", "signals_unscored",
                 "outbox_batches"):
        for _ in range(left.counts.get(name, 0)):
            result.problem("unprocessed", f"{name} after the drain")


def _keep_answers(directory: Path, log: AnswerLog, windows: list[Window]) -> None:
    """Every answer (time, request, status) and every fault window, one JSON per line."""
    with open(directory / "answers.jsonl", "w", encoding="utf-8") as f:
        for w in windows:
            f.write(json.dumps({"fault": w.name, "target": w.target, "start": w.start,
                                "end": w.end, "note": w.note}) + "\n")
        for a in log.answers:
            f.write(json.dumps({"t0": a.t0, "t1": a.t1, "kind": a.kind, "good": a.good,
                                "status": a.status, "retry_after": a.retry_after,
                                "error": a.error}) + "\n")
