"""The learning curve: how fast moderators' decisions teach the text model Hindi and Hinglish.

Simulates moderators deciding Hindi and Hinglish messages and retrains the shipped
``text`` model through the real retrain path (:func:`classifiers.retrain.retrain`,
shipped data plus decisions, each weighted 3x) after 250, 500, 1,000 and 2,000
decisions, chosen two ways:

- ``random``: decisions on messages drawn at random;
- ``uncertain``: uncertainty sampling in rounds: before each round the active model
  scores the undecided messages and the ones whose ``abusive`` probability is nearest
  its operating threshold are decided next (what the claim queue's learning share does).

The decisions are the licensed, labelled Hindi and Hinglish functional suites in
``../shared/data`` (HateCheckHIn Devanagari and code-mixed, MIT; Multilingual
HateCheck Hindi, CC BY 4.0; see ``bench/languages.py``): gold ``abusive`` (hateful,
profanity, or abuse at an individual or another group) is decided ``abusive``, the rest
dismissed (``none``). They are template-made, not chat. Each seed decides from its own
random 80% of the pool. When the folder is absent the bench says so and stops.

Every candidate is measured on the team's chat test set
(``classifiers/resources/hindi_chat_test.tsv``, never trained on): "flag" is any label
at or above its operating threshold, the score for ROC-AUC the largest label
probability; gold is the set's ``abusive`` column (scams included). Two readings: the
model alone, and the model under the lexicon layer (as the workbench scores). Baselines:
the shipped model (0 decisions) and a plain lexicon match (any label's lexicon evidence
at or above 0.5). Nothing is tuned on the test set: thresholds come from each retrain's
own validation data. The figure per cell is the median over seeds.

Run: ``python bench/learning.py [--seeds 3] [--sizes 250,500,1000,2000] [--data DIR]``
(``make bench-learning``); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import f1_score, roc_auc_score  # noqa: E402

from bench.languages import DATA, suites  # noqa: E402
from bench.stamp import run_stamp  # noqa: E402
from classifiers.chat_test_set import drop_test_texts, load_chat_test_set  # noqa: E402
from classifiers.lexicon import shipped_lexicon  # noqa: E402
from classifiers.model import TextModel  # noqa: E402
from classifiers.registry import ModelRegistry  # noqa: E402
from classifiers.retrain import retrain  # noqa: E402
from classifiers.text_lexicon import LexiconLayer  # noqa: E402

NAME = "text"
SIZES = (250, 500, 1000, 2000)
#: Share of the pool each seed decides from.
POOL_SHARE = 0.8


def decision_pool(data: Path) -> pd.DataFrame:
    """Hindi and Hinglish suites as ``text,label`` decisions, one row per distinct text."""
    frames = [frame for name, frame in suites(data, None).items()
              if not name.startswith("English")]
    if not frames:
        return pd.DataFrame(columns=["text", "label"])
    pool = pd.concat(frames, ignore_index=True).drop_duplicates("text")
    pool = pool.assign(label=np.where(pool["abusive"] == 1, "abusive", "none"))
    kept, _ = drop_test_texts(pool[["text", "label"]])
    return kept.reset_index(drop=True)


def _measure(y: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    return {"macro_f1": float(f1_score(y, flagged, average="macro", zero_division=0)),
            "roc_auc": float(roc_auc_score(y, score)), "flagged": float(flagged.mean())}


def measure_model(model: TextModel | LexiconLayer, test: pd.DataFrame) -> dict[str, float]:
    """Macro-F1, ROC-AUC and share flagged of "any label flagged" on the test set."""
    rows = model.score(test["text"].tolist())
    score = np.array([max(row.values()) for row in rows])
    flagged = np.array([bool(model.flagged(row)) for row in rows])
    return _measure(test["abusive"].to_numpy(), score, flagged)


def measure_lexicon(test: pd.DataFrame) -> dict[str, float]:
    """The plain lexicon match: any label's evidence at or above 0.5."""
    rows = shipped_lexicon().scores_batch(test["text"].tolist())
    score = np.array([max(row.values(), default=0.0) for row in rows])
    return _measure(test["abusive"].to_numpy(), score, score >= 0.5)


def _most_uncertain(model: TextModel, pool: pd.DataFrame, count: int) -> pd.DataFrame:
    probs = model.probabilities(pool["text"].tolist())[:, model.labels.index("abusive")]
    distance = np.abs(probs - model.thresholds["abusive"])
    return pool.iloc[np.argsort(distance, kind="stable")[:count]]


def run_strategy(strategy: str, pool: pd.DataFrame, sizes: tuple[int, ...], seed: int,
                 test: pd.DataFrame, root: Path) -> dict[int, dict[str, Any]]:
    """Retrain after each size of decisions chosen by ``strategy``; measure each candidate."""
    registry = ModelRegistry(root / f"{strategy}-{seed}")
    rng = np.random.default_rng(seed)
    order = pool.iloc[rng.permutation(len(pool))].reset_index(drop=True)
    decided = order.iloc[:0]
    out: dict[int, dict[str, Any]] = {}
    for size in sizes:
        if strategy == "random":
            decided = order.iloc[:size]
        else:
            undecided = order.drop(index=decided.index)
            decided = pd.concat([decided, _most_uncertain(registry.load(NAME), undecided,
                                                          size - len(decided))])
        started = time.perf_counter()
        result = retrain(registry, NAME, decided[["text", "label"]])
        candidate = registry.load(NAME, result.candidate_version)
        out[size] = {"model": measure_model(candidate, test),
                     "model+lexicon": measure_model(LexiconLayer(candidate), test),
                     "abusive_share": float((decided["label"] == "abusive").mean()),
                     "promoted": result.promoted,
                     "seconds": round(time.perf_counter() - started, 1)}
        print(f"  seed {seed} {strategy:9} {size:5}: macro-F1 {out[size]['model']['macro_f1']:.3f}"
              f" AUC {out[size]['model']['roc_auc']:.3f} (+lexicon "
              f"{out[size]['model+lexicon']['macro_f1']:.3f}) promoted={result.promoted} "
              f"{out[size]['seconds']}s", file=sys.stderr, flush=True)
    return out


def median_cells(runs: list[dict[int, dict[str, Any]]], sizes: tuple[int, ...]
                 ) -> dict[int, dict[str, Any]]:
    """Median over seeds of every figure, per size."""
    cells: dict[int, dict[str, Any]] = {}
    for size in sizes:
        cell: dict[str, Any] = {}
        for system in ("model", "model+lexicon"):
            cell[system] = {key: float(np.median([run[size][system][key] for run in runs]))
                            for key in ("macro_f1", "roc_auc", "flagged")}
        cell["abusive_share"] = float(np.median([run[size]["abusive_share"] for run in runs]))
        cell["promoted"] = sum(run[size]["promoted"] for run in runs)
        cells[size] = cell
    return cells


def print_table(baselines: dict[str, dict[str, Any]],
                curves: dict[str, dict[int, dict[str, Any]]], seeds: int) -> None:
    """One row per system and size: macro-F1 and ROC-AUC, alone and with the lexicon."""
    print(f"{'decisions':>9} {'chosen':10} {'macro-F1':>8} {'AUC':>6} "
          f"{'+lex F1':>8} {'+lex AUC':>8} {'promoted':>9}")
    for name, cell in baselines.items():
        lex = cell.get("with_lexicon", {})
        print(f"{0:9} {name:10} {cell['macro_f1']:8.3f} {cell['roc_auc']:6.3f} "
              f"{lex.get('macro_f1', float('nan')):8.3f} {lex.get('roc_auc', float('nan')):8.3f}")
    for strategy, cells in curves.items():
        for size, cell in cells.items():
            print(f"{size:9} {strategy:10} {cell['model']['macro_f1']:8.3f} "
                  f"{cell['model']['roc_auc']:6.3f} {cell['model+lexicon']['macro_f1']:8.3f} "
                  f"{cell['model+lexicon']['roc_auc']:8.3f} {cell['promoted']:>5}/{seeds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the licensed data folder (default: ../shared/data)")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    started = time.perf_counter()
    stamp = run_stamp()
    pool = decision_pool(args.data)
    if len(pool) < max(sizes):
        print(f"skipped: {len(pool)} Hindi and Hinglish labelled messages under {args.data}, "
              f"{max(sizes)} needed (the licensed suites are not there)", file=sys.stderr)
        print(json.dumps({"skipped": True, "data": str(args.data)}))
        return
    test = load_chat_test_set()
    with tempfile.TemporaryDirectory() as root:
        shipped = ModelRegistry(Path(root) / "shipped").load(NAME)
        baselines: dict[str, dict[str, Any]] = {"shipped": {**measure_model(shipped, test),
                                 "with_lexicon": measure_model(LexiconLayer(shipped), test)},
                     "lexicon": measure_lexicon(test)}
        runs: dict[str, list[dict[int, dict[str, Any]]]] = {"random": [], "uncertain": []}
        for seed in range(args.seeds):  # seed by seed, so a stopped run has whole seeds
            seed_pool = pool.sample(frac=POOL_SHARE, random_state=seed)
            for strategy, done in runs.items():
                done.append(run_strategy(strategy, seed_pool, sizes, seed, test, Path(root)))
        curves = {strategy: median_cells(done, sizes) for strategy, done in runs.items()}
    print_table(baselines, curves, args.seeds)
    print(json.dumps({**stamp, "test_rows": len(test),
                      "test_abusive": int(test["abusive"].sum()),
                      "pool_rows": len(pool), "seeds": args.seeds, "baselines": baselines,
                      "curves": {s: {str(k): v for k, v in c.items()} for s, c in curves.items()},
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
