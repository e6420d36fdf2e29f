"""Benchmark the text model families against the peer ``alt-profanity-check``.

For each family (sklearn, transformer, their average) and the peer, on the
same splits: macro F1, per-class F1 and ROC-AUC on the held-out split of each
dataset (Davidson, SMS spam), OLID with 5-fold CV, and throughput in messages
per second on this machine (sklearn and peer pinned to one core, transformer on
two). F1 uses each label's threshold chosen for best F1 on the validation split
(the peer's too, for fairness); the JSON also holds the peer at its own 0.5.

Then, per language (English, Hindi in Devanagari, Hinglish in Latin letters), each
family as shipped on the team's own test sets and the licensed functional suites,
against the peer and a plain lexicon match (``bench/language_report.py``), and the
learning curve as ``bench/learning.py`` saved it (read, not recomputed: it takes half
an hour). ``--per-language`` runs only that part; ``--write-doc`` writes the figures to
``docs/classifier-figures.md``.

Run: ``python bench/classifiers.py [--quick] [--per-language] [--write-doc PATH]``. The
last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from classifiers.calibration import best_f1_threshold, choose_threshold  # noqa: E402
from classifiers.datasets import LABELS, Splits, olid_folds, shipped_splits  # noqa: E402
from classifiers.evaluation import (  # noqa: E402
    DAVIDSON_PAPER,
    OLID_PAPER_MACRO_F1,
    evaluate_probs,  # noqa: E402
)
from classifiers.normalise import normalise_batch  # noqa: E402
from classifiers.text_transformer import encoder  # noqa: E402
from classifiers.training import TrainingRequest, train  # noqa: E402

Probs = Callable[[list[str]], np.ndarray]
ROOT = Path(__file__).resolve().parent.parent
#: Where ``bench/learning.py``'s output is kept for this report (it is slow to remake).
LEARNING_FIGURES = ROOT / "docs" / "classifier-figures-learning.json"
FAMILIES = ("sklearn", "transformer", "ensemble", "peer")


class EmbeddingCache:
    """Embed each distinct text once per run (the transformer head is refitted per fold)."""

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def fill(self, texts: list[str]) -> None:
        todo = sorted(set(texts) - self.vectors.keys())
        if todo:
            print(f"embedding {len(todo)} texts ...", file=sys.stderr, flush=True)
            vectors = encoder().embed(normalise_batch(todo), progress=True)
            self.vectors.update(zip(todo, vectors, strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.fill(texts)
        return np.stack([self.vectors[text] for text in texts])


def peer_probs(texts: list[str]) -> np.ndarray:
    """The peer's single profanity probability, used for every label."""
    from profanity_check import predict_prob

    p = np.asarray(predict_prob(texts), dtype=np.float64)
    return np.repeat(p[:, None], len(LABELS), axis=1)


def fit_families(splits: Splits, cache: EmbeddingCache) -> tuple[dict[str, Probs], Any]:
    """Train sklearn and transformer on the splits; probability functions and the sklearn
    model (whose full ``score()`` path is timed)."""
    sk = train(TrainingRequest("text", "sklearn", Splits(splits.train, splits.val, {})))
    tf = train(TrainingRequest("text", "transformer", Splits(splits.train, splits.val, {}),
                               embedder=cache))

    def tf_probs(texts: list[str]) -> np.ndarray:
        return tf.calibrated(tf.raw_from_embeddings(cache(texts)))  # type: ignore[attr-defined]

    def ensemble(texts: list[str]) -> np.ndarray:
        return np.asarray((sk.probabilities(texts) + tf_probs(texts)) / 2)

    return {"sklearn": sk.probabilities, "transformer": tf_probs, "ensemble": ensemble,
            "peer": peer_probs}, sk


def thresholds_on_val(probs: Probs, val: pd.DataFrame) -> tuple[dict[str, float],
                                                                 dict[str, float]]:
    """Operating (precision 0.90) and best-F1 thresholds per label on validation data."""
    p = probs(val["text"].tolist())
    operating, best = {}, {}
    for column, label in enumerate(LABELS):
        y = val[label].to_numpy(dtype=np.float64)
        known = ~np.isnan(y)
        operating[label] = choose_threshold(p[known, column], y[known]).value
        best[label] = best_f1_threshold(p[known, column], y[known])
    return operating, best


def evaluate_all(fns: dict[str, Probs], splits: Splits,
                 tests: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Metrics of every family on every test frame, thresholds from the same val split."""
    out: dict[str, dict[str, Any]] = {}
    for family, fn in fns.items():
        operating, best = thresholds_on_val(fn, splits.val)
        out[family] = {name: evaluate_probs(fn(frame["text"].tolist()), frame, LABELS,
                                            operating, best) for name, frame in tests.items()}
        if family == "peer":
            for name, frame in tests.items():
                at_half = evaluate_probs(fn(frame["text"].tolist()), frame, LABELS,
                                         operating, dict.fromkeys(LABELS, 0.5))
                for label, scores in at_half.items():
                    if label != "three_class":
                        out[family][name][label]["macro_f1_default_0_5"] = scores["macro_f1"]
    return out


def olid_cv(cache: EmbeddingCache, limit: int | None) -> dict[str, dict[str, float]]:
    """Mean (and spread) over 5 OLID folds of macro F1 and ROC-AUC for ``abusive``."""
    per_family: dict[str, list[dict[str, float]]] = {family: [] for family in FAMILIES}
    for index, (splits, fold) in enumerate(olid_folds(limit=limit)):
        print(f"OLID fold {index + 1}/5 ...", file=sys.stderr, flush=True)
        results = evaluate_all(fit_families(splits, cache)[0], splits, {"olid": fold})
        for family, result in results.items():
            per_family[family].append(result["olid"]["abusive"])
    return {family: {"macro_f1": float(np.mean([r["macro_f1"] for r in runs])),
                     "macro_f1_sd": float(np.std([r["macro_f1"] for r in runs])),
                     "f1_neg": float(np.mean([r["f1_neg"] for r in runs])),
                     "f1_pos": float(np.mean([r["f1_pos"] for r in runs])),
                     "roc_auc": float(np.mean([r["roc_auc"] for r in runs]))}
            for family, runs in per_family.items()}


def throughput(fn: Callable[[list[str]], object], texts: list[str], runs: int) -> float:
    """Median messages per second over ``runs`` timed runs (after one untimed warm-up run:
    the int8 encoder prepares kernels for each new input shape on first sight)."""
    fn(texts)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return float(statistics.median(rates))


def measure_speed(messages: list[str], runs: int,
                  sk_model_score: Callable[[list[str]], object]) -> dict[str, float]:
    """sklearn (full ``score()``) and peer on one core; transformer on two."""
    import torch

    all_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(all_cpus)})  # this (main) thread: numpy here is single-threaded
    try:
        speed = {"sklearn": throughput(sk_model_score, messages, runs),
                 "peer": throughput(peer_probs, messages, runs)}
    finally:
        os.sched_setaffinity(0, all_cpus)
    torch.set_num_threads(min(2, len(all_cpus)))
    sample = messages[:2000]
    speed["transformer"] = throughput(
        lambda texts: encoder().embed(normalise_batch(texts)), sample, max(3, runs // 2))
    return speed


def print_tables(held_out: dict[str, Any], cv: dict[str, Any], speed: dict[str, float]) -> None:
    """A readable table per dataset, then throughput."""
    rows = [("davidson", "abusive"), ("davidson", "hate"), ("sms_spam", "spam_scam")]
    print(f"\n{'dataset':<9} {'label':<10} {'family':<12} {'macroF1':>8} {'F1 neg':>7} "
          f"{'F1 pos':>7} {'ROC-AUC':>8} {'P@op':>6} {'R@op':>6}")
    for dataset, label in rows:
        for family in FAMILIES:
            m = held_out[family][dataset][label]
            print(f"{dataset:<9} {label:<10} {family:<12} {m['macro_f1']:>8.3f} "
                  f"{m['f1_neg']:>7.3f} {m['f1_pos']:>7.3f} {m['roc_auc']:>8.3f} "
                  f"{m['precision_at_threshold']:>6.3f} {m['recall_at_threshold']:>6.3f}")
    for family in FAMILIES:
        m = cv[family]
        print(f"{'olid-cv5':<9} {'abusive':<10} {family:<12} {m['macro_f1']:>8.3f} "
              f"{m['f1_neg']:>7.3f} {m['f1_pos']:>7.3f} {m['roc_auc']:>8.3f}"
              f"   (sd {m['macro_f1_sd']:.3f})")
    print("note: the peer (alt-profanity-check) was trained on all of Davidson, this test "
          "split included,\n      so its Davidson figures are in-sample; OLID and SMS are not "
          "in its training data.")
    print(f"\nDavidson 3-class (paper: weighted F1 {DAVIDSON_PAPER['weighted_f1']:.2f}, "
          f"hate F1 {DAVIDSON_PAPER['hate_f1']:.2f}); OLID paper macro F1 {OLID_PAPER_MACRO_F1}")
    for family in ("sklearn", "transformer", "ensemble"):
        m = held_out[family]["davidson"]["three_class"]
        print(f"  {family:<12} weighted F1 {m['weighted_f1']:.3f}  hate F1 {m['hate_f1']:.3f}"
              f"  offensive F1 {m['offensive_f1']:.3f}  neither F1 {m['neither_f1']:.3f}")
    print("\nthroughput (messages/s, median)")
    print(f"  sklearn     1 core  {speed['sklearn']:>10,.0f}  "
          f"({speed['sklearn'] / speed['peer']:.2f} x peer)")
    print(f"  peer        1 core  {speed['peer']:>10,.0f}")
    print(f"  transformer 2 cores {speed['transformer']:>10,.0f}  "
          f"({speed['transformer'] / speed['peer']:.4f} x peer)")


def summary(held_out: dict[str, Any], cv: dict[str, Any], speed: dict[str, float],
            quick: bool, seconds: float) -> dict[str, Any]:
    """The JSON line: every headline figure."""
    def pick(family: str) -> dict[str, Any]:
        h = held_out[family]
        out = {"davidson_abusive_macro_f1": h["davidson"]["abusive"]["macro_f1"],
               "davidson_abusive_roc_auc": h["davidson"]["abusive"]["roc_auc"],
               "davidson_hate_macro_f1": h["davidson"]["hate"]["macro_f1"],
               "davidson_hate_roc_auc": h["davidson"]["hate"]["roc_auc"],
               "sms_spam_macro_f1": h["sms_spam"]["spam_scam"]["macro_f1"],
               "sms_spam_roc_auc": h["sms_spam"]["spam_scam"]["roc_auc"],
               "olid_cv5_macro_f1": cv[family]["macro_f1"],
               "olid_cv5_roc_auc": cv[family]["roc_auc"]}
        if "three_class" in h["davidson"]:
            out["davidson_weighted_f1_3class"] = h["davidson"]["three_class"]["weighted_f1"]
            out["davidson_hate_f1_3class"] = h["davidson"]["three_class"]["hate_f1"]
        if family == "peer":
            out["davidson_abusive_macro_f1_at_0_5"] = \
                h["davidson"]["abusive"]["macro_f1_default_0_5"]
        return {key: round(value, 4) for key, value in out.items()}

    return {"quick": quick, "seconds": round(seconds, 1),
            "families": {family: pick(family) for family in FAMILIES},
            "throughput_msg_s": {key: round(value, 1) for key, value in speed.items()},
            "sklearn_vs_peer_speed": round(speed["sklearn"] / speed["peer"], 3),
            "paper": {"davidson_weighted_f1": 0.90, "davidson_hate_f1": 0.51,
                      "olid_macro_f1": OLID_PAPER_MACRO_F1}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 rows per dataset and 3 timing runs")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per throughput")
    parser.add_argument("--languages", action="store_true",
                        help="only the suites report of the shipped model (bench/languages.py)")
    parser.add_argument("--per-language", action="store_true",
                        help="only each family per language (no training, no timing)")
    parser.add_argument("--data", type=Path, default=None,
                        help="the licensed data folder (default: ../shared/data)")
    parser.add_argument("--transformer-rows", type=int, default=1000,
                        help="rows per set the transformer families score (0: all)")
    parser.add_argument("--learning", type=Path, default=LEARNING_FIGURES,
                        help="bench/learning.py's saved output")
    parser.add_argument("--write-doc", type=Path, default=None,
                        help="write the figures as Markdown (docs/classifier-figures.md)")
    args, rest = parser.parse_known_args()
    if args.languages:
        from bench.languages import main as languages_main

        sys.argv = [sys.argv[0], *rest]
        languages_main()
        return
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    held_out = None
    if not args.per_language:
        limit = 2000 if args.quick else None
        runs = args.runs or (3 if args.quick else 7)
        splits = shipped_splits(limit)
        cache = EmbeddingCache()
        print("training on the standard splits ...", file=sys.stderr, flush=True)
        fns, sk = fit_families(splits, cache)
        held_out = evaluate_all(fns, splits, splits.test)
        cv = olid_cv(cache, limit)
        messages = [text for frame in splits.test.values() for text in frame["text"]]
        messages = (messages * (1 + 20_000 // max(1, len(messages))))[:20_000]
        speed = measure_speed(messages, runs, sk.score)
        print_tables(held_out, cv, speed)
        figures = summary(held_out, cv, speed, args.quick, time.perf_counter() - started)
    figures.update(per_language(args, started, held_out))
    print(json.dumps(figures))


def per_language(args: argparse.Namespace, started: float,
                 held_out: dict[str, Any] | None) -> dict[str, Any]:
    """Each family per language, the saved learning curve, and the doc if asked for."""
    from bench.figures_doc import markdown
    from bench.language_report import language_report, load_learning, print_learning
    from bench.language_report import print_report as print_languages
    from bench.languages import DATA
    from bench.stamp import run_stamp

    stamp = run_stamp()
    report = language_report(args.data or DATA, args.transformer_rows or None)
    print_languages(report)
    learning = load_learning(args.learning)
    print_learning(learning, args.learning)
    seconds = time.perf_counter() - started
    if args.write_doc is not None:
        command = " ".join(["python bench/classifiers.py", *sys.argv[1:]])
        args.write_doc.write_text(markdown(stamp, command, seconds, report, learning,
                                           _relative(args.learning), held_out))
        print(f"wrote {args.write_doc}", file=sys.stderr)
    return {**stamp, "per_language": report, "learning": learning,
            "seconds_total": round(seconds, 1)}


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


if __name__ == "__main__":
    main()
