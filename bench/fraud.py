"""Benchmark fraud-risk scoring: accounts scored per second, against a plain loop.

`score_accounts` (numpy over the whole batch, with reasons) and `score_matrix` (the
vectorised core, scores only) are timed against a baseline that scores one account at
a time in plain Python (same weights, same reasons), on synthetic accounts. Each
figure is the median of several runs; the baseline's scores are checked to match.
Also timed: fitting the model to 5,000 synthetic decisions.

Run: ``python bench/fraud.py [--accounts 100000] [--runs 5]``. The last line printed
is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from classifiers.fraud import (  # noqa: E402
    FEATURE_NAMES,
    SCORECARD,
    AccountRiskFeatures,
    feature_matrix,
    score_accounts,
    score_matrix,
    train_from_decisions,
)
from classifiers.fraud.features import COIN_UNIT, NEW_ACCOUNT_DAYS, SIGNAL_KINDS  # noqa: E402
from classifiers.fraud.synthetic import synthetic_accounts, synthetic_decisions  # noqa: E402

WEIGHTS = [SCORECARD.weights[name] for name in FEATURE_NAMES]


def score_one(account: AccountRiskFeatures) -> tuple[float, list[tuple[str, float, float]]]:
    """The baseline: one account in plain Python, as a per-account job would do it."""
    raw = [
        account.account_age_days,
        account.devices_shared_with_banned,
        float(account.phone_shared_with_banned),
        account.payment_failures_30d,
        account.chargebacks_90d,
        account.gifts_sent_24h,
        account.coins_spent_24h,
        account.otp_requests_24h,
        account.reports_received_30d,
        *(account.signal_scores.get(kind, 0.0) for kind in SIGNAL_KINDS),
    ]
    scaled = [
        min(1.0, max(0.0, 1.0 - raw[0] / NEW_ACCOUNT_DAYS)),
        math.log1p(raw[1]),
        1.0 if raw[2] else 0.0,
        math.log1p(raw[3]),
        math.log1p(raw[4]),
        math.log1p(raw[5]),
        math.log1p(raw[6] / COIN_UNIT),
        math.log1p(raw[7]),
        math.log1p(raw[8]),
        *(min(1.0, max(0.0, v)) for v in raw[9:]),
    ]
    contributions = [w * x for w, x in zip(WEIGHTS, scaled, strict=True)]
    score = 1.0 / (1.0 + math.exp(-(SCORECARD.bias + sum(contributions))))
    reasons = sorted(
        ((FEATURE_NAMES[i], raw[i], c) for i, c in enumerate(contributions) if c > 0),
        key=lambda r: -r[2],
    )[:5]
    return score, reasons


def per_second(fn: Callable[[], Any], n: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return n / statistics.median(times)


def print_table(figures: dict[str, float], ratio: float, n: int, runs: int) -> None:
    rows = (
        ("score_accounts (numpy, with reasons)", "score_accounts_per_s"),
        ("score_matrix (numpy, scores only)", "score_matrix_per_s"),
        ("baseline: plain Python loop, with reasons", "python_loop_per_s"),
    )
    print(f"{'method':<44}{'accounts/s':>14}")
    for label, key in rows:
        print(f"{label:<44}{figures[key]:>14,.0f}")
    print(f"score_accounts / loop = {ratio:.1f}x   ({n:,} accounts, median of {runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    accounts = synthetic_accounts(args.accounts, seed=42)
    n = len(accounts)

    batch = score_accounts(accounts)
    loop = [score_one(a) for a in accounts[:1000]]
    worst = max(abs(b.score - s) for b, (s, _) in zip(batch, loop, strict=False))

    figures = {
        "score_accounts_per_s": per_second(lambda: score_accounts(accounts), n, args.runs),
        "score_matrix_per_s": per_second(
            lambda: score_matrix(feature_matrix(accounts)), n, args.runs
        ),
        "python_loop_per_s": per_second(lambda: [score_one(a) for a in accounts], n, args.runs),
    }
    decided, labels = synthetic_decisions(5000, seed=7)
    started = time.perf_counter()
    train_from_decisions(decided, labels)
    fit_s = time.perf_counter() - started

    ratio = figures["score_accounts_per_s"] / figures["python_loop_per_s"]
    bands = {band: sum(1 for s in batch if s.band == band) for band in ("low", "medium", "high")}
    print_table(figures, ratio, n, args.runs)
    print(f"largest score difference, batch vs loop: {worst:.1e}")
    print(f"bands: {bands}")
    print(f"fit on 5,000 decisions: {fit_s:.2f} s")
    print(
        json.dumps(
            {
                "accounts": n,
                "runs": args.runs,
                **{k: round(v) for k, v in figures.items()},
                "score_accounts_vs_loop": round(ratio, 2),
                "max_abs_diff_vs_loop": float(np.float64(worst)),
                "bands": bands,
                "fit_5000_decisions_s": round(fit_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
