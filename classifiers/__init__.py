"""Text classifiers of the workbench: pure functions from texts to scores.

Typical use from a worker::

    from classifiers import ModelRegistry
    model = ModelRegistry(model_dir).load("text")      # cached per process
    rows = model.score(texts)                          # [{"abusive": 0.97, ...}, ...]
    flagged = [model.flagged(row) for row in rows]

This package never imports Flask, the database or the workbench. Importing it is
cheap: the names below load their modules on first use, so ``classifiers.fraud``
or ``classifiers.audio`` do not pay for the text stack.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.registry import ModelRegistry

if TYPE_CHECKING:
    from classifiers.model import TextModel

DEFAULT_MODEL = "text"

_LAZY = {
    "LABELS": "classifiers.datasets",
    "detect_languages": "classifiers.language",
    "TextModel": "classifiers.model",
    "normalise": "classifiers.normalise",
    "normalise_batch": "classifiers.normalise",
    "ModelNotFoundError": "classifiers.registry",
    "ModelRegistry": "classifiers.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")


def load_model(name: str = DEFAULT_MODEL, root: Path | str | None = None) -> TextModel:
    """The active version of a model (``root`` defaults to ``$WORKBENCH_MODEL_DIR``)."""

    registry = ModelRegistry(root) if root is not None else ModelRegistry.from_env()
    return registry.load(name)


def score(texts: list[str], name: str = DEFAULT_MODEL,
          root: Path | str | None = None) -> list[dict[str, float]]:
    """Calibrated probability per label for each text, with the active model."""
    return load_model(name, root).score(texts)


def explain(text: str, label: str, top_k: int = 8, name: str = DEFAULT_MODEL,
            root: Path | str | None = None) -> list[tuple[str, float]]:
    """The tokens of ``text`` that pushed ``label`` up the most, strongest first."""
    return load_model(name, root).explain(text, label, top_k)


__all__ = ["DEFAULT_MODEL", "LABELS", "ModelNotFoundError", "ModelRegistry", "TextModel",
           "detect_languages", "explain", "load_model", "normalise", "normalise_batch",
           "score"]
