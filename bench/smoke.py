"""Every benchmark at its smallest size: does it still run and end with its figures?

Each benchmark runs in a process of its own, as ``make bench-*`` runs it, with the
smallest work its options allow; a benchmark passes when it exits 0 and its last line
is one JSON object (the figures). The figures themselves mean nothing at these sizes:
this is the check that a change left every benchmark working, not a measurement.
Benchmarks that read ``../shared/data`` are skipped where it is missing.

    python bench/smoke.py [--only ingest,scale] [--timeout 900]

The console benchmarks share a scratch database of their own
(``workbench_bench_smoke``, seeded at 1,000 reports); the others use their usual
scratch databases and Redis numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/smoke.py`
    sys.path.insert(0, str(ROOT))

from bench.harness import print_json, print_table  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SMOKE_URL = "postgresql://postgres@127.0.0.1:5432/workbench_bench_smoke"


@dataclass(frozen=True)
class Smoke:
    name: str
    args: tuple[str, ...]
    needs_data: bool = False


SMOKES = (
    Smoke("classifiers", ("bench/classifiers.py", "--quick", "--runs", "1")),
    Smoke("classify_stages", ("bench/classify_stages.py", "--runs", "1", "--sizes", "50,500")),
    Smoke("scale", ("bench/scale.py", "--runs", "1", "--workers", "1", "--batches", "2",
                    "--batch-size", "100", "--people", "20", "--curve", "50,500")),
    Smoke("ingest", ("bench/ingest.py", "--runs", "1", "--total", "1000",
                     "--steady-seconds", "3")),
    Smoke("enforcement", ("bench/enforcement.py", "--bans", "20", "--burst", "100",
                          "--rate", "20", "--runs", "1", "--slow-s", "1", "--warm-up", "2")),
    Smoke("console_seed", ("bench/console_seed.py", "--url", SMOKE_URL, "--scale", "0.001",
                           "--runs", "1")),
    Smoke("console", ("bench/console.py", "--url", SMOKE_URL, "--scale", "0.001",
                      "--runs", "3", "--page", "5")),
    Smoke("pages", ("bench/pages.py", "--url", SMOKE_URL, "--scale", "0.001",
                    "--runs", "1")),
    Smoke("signin", ("bench/signin.py", "--url", SMOKE_URL, "--scale", "0.001",
                     "--runs", "2")),
    Smoke("evidence", ("bench/evidence.py", "--messages", "1000", "--recordings", "5",
                       "--runs", "1")),
    Smoke("fraud", ("bench/fraud.py", "--accounts", "2000", "--runs", "1")),
    Smoke("images", ("bench/images.py", "--images", "4", "--bank", "10000",
                       "--curve", "1000", "--runs", "1")),
    Smoke("recordings", ("bench/recordings.py", "--runs", "1", "--long-minutes", "1")),
    Smoke("demo_seed", ("bench/demo_seed.py",)),
    Smoke("soak", ("bench/soak.py", "--minutes", "1")),
    Smoke("languages", ("bench/languages.py", "--limit", "50", "--data", str(DATA)), True),
    Smoke("learning", ("bench/learning.py", "--seeds", "1", "--sizes", "250",
                       "--data", str(DATA)), True),
    Smoke("transcript_coverage", ("bench/transcript_coverage.py", "--data", str(DATA)), True),
    Smoke("english_more_data", ("bench/english_more_data.py", "--data", str(DATA)), True),
    Smoke("english_finetune", ("bench/english_finetune.py", "--data", str(DATA),
                               "--train-rows", "200", "--threads", "1"), True),
)


def last_json(stdout: str) -> dict[str, object] | None:
    """The figures on the last non-empty line, or ``None`` if that line is not an object."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        figures = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return figures if isinstance(figures, dict) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    args = parser.parse_args()
    wanted = {name for name in args.only.split(",") if name}
    unknown = wanted - {smoke.name for smoke in SMOKES}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(smoke.name for smoke in SMOKES)}")
    rows: list[tuple[str, str]] = []
    failed: list[str] = []
    skipped: list[str] = []
    seconds: dict[str, float] = {}
    for smoke in SMOKES:
        if wanted and smoke.name not in wanted:
            continue
        if smoke.needs_data and not DATA.is_dir():
            skipped.append(smoke.name)
            rows.append((smoke.name, f"skipped: needs {DATA}"))
            continue
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, *smoke.args], cwd=ROOT, capture_output=True,
                                  text=True, timeout=args.timeout)
            code, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            code, stdout, stderr = -1, str(exc.stdout or ""), f"over {args.timeout:.0f} s"
        took = time.monotonic() - started
        seconds[smoke.name] = round(took, 1)
        figures = last_json(stdout)
        if code == 0 and figures is not None:
            rows.append((smoke.name, f"ok in {took:.0f} s, {len(figures)} figures"))
        else:
            failed.append(smoke.name)
            why = f"exit {code}" if code != 0 else "last line is not a JSON object"
            tail = (stderr.strip().splitlines() or stdout.strip().splitlines() or [""])[-1]
            rows.append((smoke.name, f"FAILED ({why}) in {took:.0f} s: {tail[:160]}"))
        print(f"{smoke.name}: {rows[-1][1]}", file=sys.stderr, flush=True)
    print_table("Benchmarks at their smallest sizes", rows)
    print_json({"benchmarks_run": len(seconds), "failed": failed, "skipped": skipped,
                "seconds": seconds})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
