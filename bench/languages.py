"""Per language (English, Hindi, Hinglish): the shipped model, the lexicon and both.

On the licensed functional suites in ``../shared/data`` (HateCheck English,
HateCheckHIn Devanagari and romanised, Multilingual HateCheck Hindi, which is
romanised): macro-F1 and ROC-AUC of "flag as abusive or hate" against two gold
labels, ``hateful`` (as the suites label it) and ``abusive`` (hateful, or abuse the
suites call non-hateful because it targets an individual or a non-protected group, or
is plain profanity). A fresh machine has no ``../shared``: the suites are then skipped
with a note.

Rows the message's language identification puts elsewhere are still counted under
their suite's language: the suite says what the language is.

Caveats, honestly: these suites are template-generated diagnostics, not chat. The
lexicon took its slur terms partly from Multilingual HateCheck's own slur list
(source ``M``), so its ``slur_h`` cases overlap what the lexicon was built from; and
the Hinglish word list was derived from both suites' romanised text (it affects only
language identification, not the scores here).

Run: ``python bench/languages.py [--limit N] [--data ../shared/data]``; the last line
is one JSON object.
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

from classifiers.language import detect_languages  # noqa: E402
from classifiers.lexicon import shipped_lexicon  # noqa: E402
from classifiers.registry import ModelRegistry  # noqa: E402
from classifiers.text_lexicon import LexiconLayer  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
#: Non-hateful functionalities that are still abuse for a general abuse classifier.
ABUSIVE_NON_HATEFUL = {"profanity_nh", "target_indiv_nh", "target_group_nh"}
#: The same in HateCheckHIn's numbering: profanity, abuse at individuals, at other groups.
HATECHECKHIN_ABUSIVE_NH = {"11", "23", "24"}


def suites(data: Path, limit: int | None) -> dict[str, pd.DataFrame]:
    """Each suite as ``text``, ``hateful``, ``abusive``, ``language`` (empty when absent)."""
    out: dict[str, pd.DataFrame] = {}
    path = data / "hatecheck-en" / "test_suite_cases.csv"
    if path.exists():
        f = pd.read_csv(path)
        out["English: HateCheck"] = _frame(f["test_case"], f["label_gold"] == "hateful",
                                           f["functionality"].isin(ABUSIVE_NON_HATEFUL), "en")
    path = data / "hatecheckhin" / "monolingual_functionalities.csv"
    if path.exists():
        f = pd.read_csv(path)
        out["Hindi: HateCheckHIn"] = _frame(
            f["test_case"], f["label"] == "hateful",
            f["functionality"].astype(str).isin(HATECHECKHIN_ABUSIVE_NH), "hi")
    path = data / "hatecheckhin" / "multilingual_functionalities.csv"
    if path.exists():
        f = pd.read_csv(path)
        out["Hinglish: HateCheckHIn code-mixed"] = _frame(
            f["test_case"], f["label"] == "hateful", f["label"] != "hateful", "hi-Latn")
    path = data / "mhc-hindi" / "hatecheck_cases_final_hindi.csv"
    if path.exists():
        f = pd.read_csv(path)
        out["Hinglish: Multilingual HateCheck"] = _frame(
            f["test_case"], f["label_gold"] == "hateful",
            f["functionality"].isin(ABUSIVE_NON_HATEFUL), "hi-Latn")
    return {name: frame.head(limit) if limit else frame for name, frame in out.items()}


def _frame(text: pd.Series, hateful: pd.Series, abusive_nh: pd.Series,
           language: str) -> pd.DataFrame:
    return pd.DataFrame({"text": text.astype(str).str.strip(), "hateful": hateful.astype(int),
                         "abusive": (hateful | abusive_nh).astype(int), "language": language})


def _metrics(y: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"positives": float(y.mean()), "flagged": float(flagged.mean()),
                           "macro_f1": float(f1_score(y, flagged, average="macro",
                                                      zero_division=0))}
    out["roc_auc"] = float(roc_auc_score(y, score)) if len(set(y.tolist())) > 1 else None
    return out


def evaluate(frame: pd.DataFrame, layer: LexiconLayer) -> dict[str, Any]:
    """Model alone, lexicon alone and the layer, against both gold labels."""
    texts = frame["text"].tolist()
    model = layer.model
    columns = [model.labels.index("abusive"), model.labels.index("hate")]
    probs = model.probabilities(texts)[:, columns]
    thresholds = np.array([model.thresholds["abusive"], model.thresholds["hate"]])
    lexicon = np.array([[s["abusive"], s["hate"]] for s in
                        (shipped_lexicon().scores(t) for t in texts)])
    layered = np.maximum(probs, lexicon)
    systems = {
        "model": (probs.max(axis=1), (probs >= thresholds).any(axis=1)),
        "lexicon": (lexicon.max(axis=1), (lexicon >= 0.5).any(axis=1)),
        "model+lexicon": (layered.max(axis=1), (layered >= thresholds).any(axis=1)),
    }
    found = detect_languages(texts)
    out: dict[str, Any] = {"rows": len(frame), "language_id_agrees": float(np.mean(
        [f == frame["language"].iloc[0] for f in found]))}
    for gold in ("hateful", "abusive"):
        y = frame[gold].to_numpy()
        out[gold] = {name: _metrics(y, score, flagged)
                     for name, (score, flagged) in systems.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per suite")
    parser.add_argument("--model", default="text", help="registry name of the model")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the licensed data folder (default: ../shared/data)")
    args = parser.parse_args()
    started = time.perf_counter()
    found = suites(args.data, args.limit)
    if not found:
        print(f"no licensed suites under {args.data}: skipped", file=sys.stderr)
    registry = ModelRegistry(Path("instance") / "models")
    layer = LexiconLayer(registry.load(args.model))
    results = {name: evaluate(frame, layer) for name, frame in found.items()}
    print(f"{'suite':38} {'gold':8} {'system':14} {'macro-F1':>8} {'AUC':>6} {'flagged':>8}")
    for name, result in results.items():
        for gold in ("hateful", "abusive"):
            for system, m in result[gold].items():
                auc = f"{m['roc_auc']:.3f}" if m["roc_auc"] is not None else "  -  "
                print(f"{name:38} {gold:8} {system:14} {m['macro_f1']:8.3f} {auc:>6} "
                      f"{m['flagged']:8.2f}")
    print(json.dumps({"model": args.model, "suites": results,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
