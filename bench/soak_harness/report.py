"""Printing a soak: the fault windows, the ledger, the failed jobs, and the figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bench.soak_harness import MUST_BE_ZERO, SoakResult


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _table(title: str, rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return ["", title, "-" * len(title), *(f"{k:<{width}}  {v}" for k, v in rows)]


def _latency_rows(name: str, split: dict[str, Any], unit: str) -> list[tuple[str, str]]:
    rows = []
    for part in ("all", "without_faults", "with_faults"):
        p = split[part]
        if not p.get("n"):
            rows.append((f"{name}, {part.replace('_', ' ')}", "no samples"))
            continue
        scale = 1000.0 if unit == "ms" else 1.0
        rows.append((f"{name}, {part.replace('_', ' ')}",
                     f"p50 {p['p50'] * scale:9.1f} {unit}   p95 {p['p95'] * scale:9.1f} {unit}   "
                     f"p99 {p['p99'] * scale:9.1f} {unit}   n={p['n']}"))
    return rows


def _ratio(split: dict[str, Any]) -> str:
    quiet, noisy = split["without_faults"], split["with_faults"]
    if not quiet.get("n") or not noisy.get("n") or not quiet["p95"]:
        return "n/a"
    return f"{noisy['p95'] / quiet['p95']:.2f}x"


def lines(result: SoakResult) -> list[str]:
    """The printed report (without the last JSON line)."""
    out = _table("Faults", [(f"{_clock(w.start)}-{_clock(w.end)}",
                             f"{w.name} {w.target} {w.note}".strip()) for w in result.windows])
    counts = result.ledger.counts
    out += _table("Ledger (each must be 0)", [(name, str(counts.get(name, 0)))
                                              for name in MUST_BE_ZERO])
    for name, examples in result.failures().items():
        out += [f"  {name}: {e}" for e in examples]
    others = [(k, v) for k, v in sorted(counts.items()) if k not in MUST_BE_ZERO]
    out += _table("Also counted", [(k, str(v)) for k, v in others])
    for name, _ in others:
        out += [f"  {name}: {e}" for e in result.ledger.examples.get(name, [])]
    out += _table("Ledger facts", [(k, json.dumps(v)) for k, v in result.ledger.facts.items()])
    out += _table("Failed registry (every failed job, and whether a fault failed it)",
                  [(f"{job.queue}/{job.job_id}", f"{'fault' if meant else 'UNEXPECTED'}: "
                    f"{job.func} {job.reason}") for job, meant in result.failed]
                  or [("(empty)", "")])
    if not result.leftovers.empty:
        out += _table("Left after the drain", [(k, str(v)) for k, v in
                                               result.leftovers.counts.items() if v]
                      + [(k, ", ".join(v[:5])) for k, v in result.leftovers.jobs.items()])
        out += [f"  {line}" for line in result.leftovers.batches]
    f = result.figures
    intake, enforce = f["intake"], f["enforcement"]
    out += _table("Throughput", [
        ("load, drain", f"{f['load_s']} s, {f['drain_s']} s"),
        ("intake requests answered 202", f"{intake['requests_202_per_s']} /s"),
        ("intake items answered 202", f"{intake['items_per_s']} /s"),
        ("deliveries delivered", f"{enforce['deliveries_per_s']} /s"),
        ("moderator decisions", f"{f['decisions']} ({enforce['moderator_actions']} actions)"),
        ("requests sent (all attempts)", str(f["requests"])),
        ("worker exits not caused by the soak", str(f["worker_exits_unplanned"])),
    ])
    out += _table("Latency (faults: overlapping a fault or the 15 s after it)", [
        *_latency_rows("intake: request to 202", intake["request_to_202_s"], "ms"),
        *_latency_rows("intake: 202 to in a case", intake["accepted_to_case_s"], "s"),
        *_latency_rows("enforcement: action to last 2xx", enforce["action_to_last_2xx_s"],
                       "s"),
        ("p95 with faults / without (request to 202)", _ratio(intake["request_to_202_s"])),
        ("p95 with faults / without (202 to case)", _ratio(intake["accepted_to_case_s"])),
        ("p95 with faults / without (enforcement)", _ratio(enforce["action_to_last_2xx_s"])),
    ])
    return out


def print_result(result: SoakResult) -> None:
    for line in lines(result):
        print(line)
    print(json.dumps(result.summary(), sort_keys=True), flush=True)
