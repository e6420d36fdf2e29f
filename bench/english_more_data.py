"""Does more licensed English data close the gap to ``alt-profanity-check``?

Trains the sklearn ``text`` family twice with the fixed splits: on the shipped data
(Davidson, OLID, SMS spam), and on that plus ConvAbuse's train split (messages users
wrote to chatbots, CC BY 4.0; abusive when most of its annotators chose a severity)
and all of HateXplain (MIT; offensive or hate speech is abusive, hate speech is hate),
with ConvAbuse's validation split added to validation. Both are measured on English
sets neither trained on (Davidson and OLID test splits, ConvAbuse's test split,
HateCheck) against the peer, and on the team's Hindi and Hinglish chat test set under
the lexicon layer (which must not get worse). Figures: ROC-AUC of ``abusive`` (or of
``abusive`` or ``hate`` on HateCheck) and macro-F1 of "flag" at the model's operating
thresholds (the peer at 0.5).

Needs ``../shared/data`` (``--data``). Run: ``python bench/english_more_data.py``;
the last line is one JSON object. An experiment: it ships nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import f1_score, roc_auc_score  # noqa: E402

from bench.languages import DATA, suites  # noqa: E402
from bench.stamp import run_stamp  # noqa: E402
from classifiers.chat_test_set import drop_test_texts  # noqa: E402
from classifiers.datasets import LABELS, Splits, shipped_splits  # noqa: E402
from classifiers.held_apart import chat_scores, drop_english_test_texts  # noqa: E402
from classifiers.model import TextModel  # noqa: E402
from classifiers.training import TrainingRequest, train  # noqa: E402

SEVERE = ("-1", "-2", "-3")


def convabuse(data: Path, split: str) -> pd.DataFrame:
    """ConvAbuse ``split`` (train, valid, test): ``text`` and label columns."""
    raw = pd.read_csv(data / "convabuse" / f"ConvAbuseEMNLP{split}.csv")
    # a cell is empty, "0", "1", or (an annotator who saw the example twice) "1, 0"
    for column in [c for c in raw.columns if "_is_abuse." in c]:
        raw[column] = raw[column].fillna("0").astype(str).map(
            lambda cell: max(int(part) for part in cell.split(",")))
    annotators = sorted({c.split("_")[0] for c in raw.columns if c.endswith("_is_abuse.1")})
    labelled = sum(raw[[c for c in raw.columns if c.startswith(f"{a}_is_abuse.")]]
                   .fillna(0).sum(axis=1) for a in annotators)
    severe = sum(raw[[f"{a}_is_abuse.{s}" for s in SEVERE]].fillna(0).sum(axis=1)
                 for a in annotators)
    abusive = (severe > labelled / 2).astype(float)
    return pd.DataFrame({"text": raw["user"].astype(str), "abusive": abusive,
                         "hate": np.where(abusive == 1.0, np.nan, 0.0), "spam_scam": 0.0})


def hatexplain(data: Path) -> pd.DataFrame:
    """HateXplain (flattened copy): normal 0; offensive abusive; hate speech both."""
    raw = pd.read_csv(data / "hatexplain-derived" / "final_hateXplain.csv")
    label = raw["label"]
    return pd.DataFrame({"text": raw["comment"].astype(str),
                         "abusive": (label != "normal").astype(float),
                         "hate": (label == "hatespeech").astype(float), "spam_scam": 0.0})


def english_tests(data: Path) -> dict[str, pd.DataFrame]:
    """``text`` and ``y`` (1 abusive) for each English set no model here trains on."""
    tests = shipped_splits().test
    out = {name: pd.DataFrame({"text": tests[name]["text"], "y": tests[name]["abusive"]})
           for name in ("davidson", "olid")}
    conv = convabuse(data, "test")
    out["convabuse"] = pd.DataFrame({"text": conv["text"], "y": conv["abusive"]})
    hatecheck = suites(data, None)["English: HateCheck"]
    out["hatecheck"] = pd.DataFrame({"text": hatecheck["text"], "y": hatecheck["abusive"]})
    return out


def set_figures(y: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    """ROC-AUC of ``score`` and macro-F1 of ``flagged`` against gold ``y`` (1 abusive)."""
    return {"roc_auc": round(float(roc_auc_score(y, score)), 4),
            "macro_f1": round(float(f1_score(y, flagged, average="macro")), 4)}


def measure(model: TextModel | None, tests: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """ROC-AUC and macro-F1 of ``abusive``/``hate`` on each set (``None``: the peer)."""
    out: dict[str, Any] = {}
    for name, frame in tests.items():
        texts, y = frame["text"].tolist(), frame["y"].to_numpy().astype(int)
        if model is None:
            from profanity_check import predict_prob

            score = np.asarray(predict_prob(texts), dtype=np.float64)
            flagged = score >= 0.5
        else:
            probs = model.probabilities(texts)
            columns = [model.labels.index("abusive"), model.labels.index("hate")]
            thresholds = np.array([model.thresholds["abusive"], model.thresholds["hate"]])
            score = probs[:, columns].max(axis=1)
            flagged = np.asarray((probs[:, columns] >= thresholds).any(axis=1))
        out[name] = set_figures(y, score, flagged)
    if model is not None:
        out["chat (under the lexicon layer)"] = {
            name: round(value, 4) for name, value in chat_scores(model).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    started, stamp = time.perf_counter(), run_stamp()
    base = shipped_splits()
    extra_train, _ = drop_test_texts(pd.concat([convabuse(args.data, "train"),
                                                hatexplain(args.data)], ignore_index=True))
    extra_train, overlap = drop_english_test_texts(extra_train)
    extra_val, _ = drop_test_texts(convabuse(args.data, "valid"))
    more = Splits(pd.concat([base.train, extra_train[["text", *LABELS]]], ignore_index=True),
                  pd.concat([base.val, extra_val[["text", *LABELS]]], ignore_index=True), {})
    tests = english_tests(args.data)
    results: dict[str, Any] = {"peer": measure(None, tests)}
    for name, splits in (("shipped data", Splits(base.train, base.val, {})),
                         ("+ ConvAbuse + HateXplain", more)):
        print(f"training on {name} ({len(splits.train)} rows) ...", file=sys.stderr, flush=True)
        results[name] = measure(train(TrainingRequest("text", "sklearn", splits)), tests)
    print(f"{'system':26} " + " ".join(f"{n:>19}" for n in tests) + "   (ROC-AUC / macro-F1)")
    for system, figures in results.items():
        print(f"{system:26} " + " ".join(
            f"{figures[n]['roc_auc']:>9.3f} / {figures[n]['macro_f1']:.3f}" for n in tests))
        if "chat (under the lexicon layer)" in figures:
            print(f"{'':26} chat test set under the layer, macro-F1: "
                  f"{figures['chat (under the lexicon layer)']}")
    print(json.dumps({**stamp, "results": results, "extra_train_rows": len(extra_train),
                      "dropped_as_in_english_tests": overlap,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
