"""Where a classify job's time goes: per-stage cost of one job over N pending messages.

Run: ``make bench-classify``. Each run writes N pending chat messages (one outbox batch,
as intake does) to a scratch PostgreSQL database (``BENCH_CLASSIFY_DATABASE_URL``,
default ``workbench_bench_classify``), then runs the classify job itself
(``queues.jobs.process_batch``) in this process, from job start to commit, so the
figure is one worker's rate without RQ's fork. The job reports the seconds of each of
its stages (loading, scoring, language, explanations, the score insert, the status
update, classifier reports and cases, automation); the rest of the job's time is the
batch lock and the commit. Each job starts on a new database connection, as in a worker
(where each job is a forked child). The baseline, measured in the same run on the same texts, is
the default model alone (no lexicon layer), and the lexicon and extortion layer alone.
Beside the wall-clock rate, the rate per CPU second of the worker process, which a busy
machine disturbs less (PostgreSQL's own CPU is not in it).
Sizes take turns within each round; medians of ``--runs`` rounds are reported.

Each size runs twice per round, on the same database: ``set`` (automation applied
set-based, as shipped) and ``one_by_one`` (``WORKBENCH_AUTOMATION_ONE_BY_ONE``: each
automated action through ``apply_action`` in turn, the path before), so the two compare
under the same load. ``--paths set`` skips the baseline.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.harness import ROOT, SECRET_KEY, Stack, median, print_json, print_table  # noqa: E402
from bench.scale import chat_messages  # noqa: E402

DATABASE = "postgresql://postgres@127.0.0.1:5432/workbench_bench_classify"
REDIS = "redis://127.0.0.1:6379/1"
#: The job's stages, in the order they run (``queues.jobs._classify_messages``).
STAGES = ("load", "model_load", "language", "score", "explain", "language_update",
          "score_insert", "status_update", "reports", "cases", "automation")
#: Automation as shipped (set-based), and the item-by-item baseline.
PATHS = ("set", "one_by_one")


class Bench:
    """The app, a platform, and fresh pending messages for each run."""

    def __init__(self, stack: Stack) -> None:
        from workbench.app import create_app
        from workbench.extensions import db
        from workbench.models import Platform
        from workbench.platforms import register_platform

        config = {"database_url": stack.database_url, "redis_url": stack.redis_url,
                  "secret_key": SECRET_KEY, "instance_dir": stack.instance_dir}
        self.apps = {path: create_app({**config, "automation_one_by_one": path == "one_by_one"})
                     for path in PATHS}
        self.app = self.apps["set"]
        self.rng = random.Random(42)
        self.offset = 0
        with self.app.app_context():
            register_platform(db.session, SECRET_KEY, "calls")
            db.session.commit()
            self.platform_id = db.session.execute(
                select(Platform.id).where(Platform.slug == "calls")).scalar_one()

    def pending(self, n: int) -> tuple[int, list[str]]:
        """``n`` new pending messages in one outbox batch; the batch id and the texts."""
        from workbench.api.store import store_messages
        from workbench.extensions import db

        items = chat_messages(self.rng, self.offset + 1, n, datetime.now(UTC))
        self.offset += n
        with self.app.app_context():
            stored = store_messages(db.session, self.platform_id, items)
            db.session.commit()
        assert stored.batch_id is not None, "a batch of new messages has an outbox batch"
        return stored.batch_id, [m.text for m in items]

    def job(self, n: int, path: str = "set") -> dict[str, float]:
        """One classify job over ``n`` messages: total seconds and each stage's."""
        from queues.jobs import process_batch
        from workbench.extensions import db

        batch_id, texts = self.pending(n)
        with self.apps[path].app_context():
            # A fresh connection, as a worker's job has (a forked child per job, its pool
            # emptied): on one kept across jobs, PostgreSQL keeps the plans of its
            # foreign-key checks made while the tables were nearly empty (sequential
            # scans), and each later job paid a scan of ``message`` per report written.
            db.engine.dispose()
            cpu, started = time.process_time(), time.perf_counter()
            result = process_batch(batch_id)
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu
        assert result["items"] == n, result
        stages: dict[str, Any] = result["stage_ms"]  # type: ignore[assignment]
        out = {name: ms / 1000 for name, ms in stages.items()}
        out["lock_and_commit"] = total - sum(out.values())
        out["total"] = total
        out["worker_cpu"] = cpu
        out.update(self.baselines(texts))
        return out

    def baselines(self, texts: list[str]) -> dict[str, float]:
        """Seconds of the default model alone, and of the lexicon and extortion layer alone."""
        from classifiers.extortion import extortion_scores
        from classifiers.lexicon import shipped_lexicon
        from workbench.cases.scoring import _model
        from workbench.current import settings

        with self.app.app_context():
            model = _model(settings())
        started = time.perf_counter()
        model.score(texts)
        model_s = time.perf_counter() - started
        started = time.perf_counter()
        shipped_lexicon().scores_batch(texts)
        extortion_scores(texts)
        return {"baseline_model": model_s, "baseline_lexicon": time.perf_counter() - started}


def measure(bench: Bench, sizes: list[int], runs: int,
            paths: list[str]) -> dict[str, dict[int, list[dict[str, float]]]]:
    for path in paths:
        bench.job(50, path)  # warm-up: model, lexicon and language identifier loaded
    out: dict[str, dict[int, list[dict[str, float]]]] = {p: {n: [] for n in sizes}
                                                         for p in paths}
    for round_no in range(1, runs + 1):
        for n in sizes:
            for path in paths:
                run = bench.job(n, path)
                out[path][n].append(run)
                print(f"round {round_no}, {n} messages, {path}: {n / run['total']:,.0f} "
                      f"messages/s (model alone {n / run['baseline_model']:,.0f}/s)", flush=True)
    return out


def report(all_results: dict[str, dict[int, list[dict[str, float]]]],
           load_before: float) -> None:
    figures: dict[str, Any] = {"cores": os.cpu_count(), "load_avg_before": round(load_before, 2),
                               "load_avg_after": round(os.getloadavg()[0], 2)}
    for path, results in all_results.items():
        _report_path(path, results, figures)
    print_json(figures)


def _report_path(path: str, results: dict[int, list[dict[str, float]]],
                 out: dict[str, Any]) -> None:
    figures: dict[str, Any] = {}
    rows: list[tuple[str, str]] = []
    for n, runs in results.items():
        med = {key: median([r.get(key, 0.0) for r in runs]) for key in runs[0]}
        rate, model_rate = n / med["total"], n / med["baseline_model"]
        figures[f"classify_{n}_messages_per_s"] = round(rate, 1)
        figures[f"model_{n}_messages_per_s"] = round(model_rate, 1)
        figures[f"classify_{n}_ratio_to_model"] = round(model_rate / rate, 2)
        spread = ", ".join(f"{n / r['total']:,.0f}" for r in runs)
        rows.append((f"{n} messages: end to end", f"{rate:,.0f} messages/s   runs: {spread}"))
        cpu_rate = n / med["worker_cpu"]
        figures[f"classify_{n}_messages_per_worker_cpu_s"] = round(cpu_rate, 1)
        rows.append((f"{n} messages: per CPU second of the worker",
                     f"{cpu_rate:,.0f} messages/s  (PostgreSQL's own CPU not counted; "
                     "less sensitive to a busy machine)"))
        rows.append((f"{n} messages: model alone (baseline)",
                     f"{model_rate:,.0f} messages/s  (job costs {model_rate / rate:.1f}x it)"))
        rows.append((f"{n} messages: lexicon + extortion alone",
                     f"{n / med['baseline_lexicon']:,.0f} messages/s"))
        for stage in (*STAGES, "lock_and_commit"):
            seconds = med.get(stage, 0.0)
            figures[f"classify_{n}_{stage}_us_per_message"] = round(1e6 * seconds / n, 2)
            rows.append((f"  {stage}", f"{1000 * seconds:9.1f} ms  {1e6 * seconds / n:8.1f} "
                         f"us/message  {100 * seconds / med['total']:5.1f}%"))
    largest = max(results)
    figures["classify_messages_per_s_per_worker"] = figures[f"classify_{largest}_messages_per_s"]
    figures["runs"] = len(results[largest])
    print_table(f"Classify job stages on PostgreSQL, one worker, automation {path} (median "
                f"of {figures['runs']} runs; load average {out['load_avg_before']} before)", rows)
    prefix = "" if path == "set" else f"{path}_"
    out.update({prefix + key: value for key, value in figures.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--sizes", default="50,500,5000",
                        help="messages per job (the growth curve)")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help="automation paths to run: set, one_by_one (the baseline)")
    args = parser.parse_args()
    stack = Stack(database_url=os.environ.get("BENCH_CLASSIFY_DATABASE_URL", DATABASE),
                  redis_url=os.environ.get("BENCH_CLASSIFY_REDIS_URL", REDIS),
                  instance_dir=ROOT / "instance" / "bench-classify")
    stack.reset()
    load_before = os.getloadavg()[0]
    results = measure(Bench(stack), [int(n) for n in args.sizes.split(",")], args.runs,
                      args.paths.split(","))
    report(results, load_before)


if __name__ == "__main__":
    main()
