"""Versioned model artifacts on disk: ``<root>/<name>/<version>/`` and an ACTIVE pointer.

A version directory holds the fitted parameters (``model.joblib`` for the sklearn
family, ``head.joblib`` for the transformer family, ``adapters.safetensors`` for the
adapted family, a directory per part for the ensemble) and ``metadata.json``
(training data hashes, metrics, thresholds, created time, family, labels,
promotions). ``<root>/<name>/ACTIVE`` names the version in use and
``<root>/<name>/history.jsonl`` records every promotion and why.

Until a model has an ACTIVE file under the root, the version shipped inside the
package (``classifiers/shipped/<name>/``) is used. Loaded versions are cached
per process: a version directory never changes once written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the text families import scikit-learn: only loading a text model needs it
    from classifiers.model import TextModel

logger = logging.getLogger(__name__)

SHIPPED_ROOT = Path(__file__).parent / "shipped"
ACTIVE_FILE = "ACTIVE"
HISTORY_FILE = "history.jsonl"
METADATA_FILE = "metadata.json"
#: Environment variable naming the registry root, and its default.
MODEL_DIR_ENV = "WORKBENCH_MODEL_DIR"
DEFAULT_MODEL_DIR = Path("instance") / "models"


class ModelNotFoundError(LookupError):
    """No such model name or version in the registry (nor shipped)."""


@dataclass(frozen=True)
class VersionInfo:
    """One version as ``list`` shows it."""

    name: str
    version: str
    family: str
    created_at: str
    active: bool
    shipped: bool
    promoted_reason: str


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def read_metadata(directory: Path) -> dict[str, Any]:
    """``metadata.json`` of a version directory."""
    data: dict[str, Any] = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    return data


def write_version(directory: Path, model: TextModel) -> None:
    """Write a model's artifact and ``metadata.json`` into a new directory."""
    directory.mkdir(parents=True, exist_ok=False)
    model.save_artifact(directory)
    _write_atomic(directory / METADATA_FILE,
                  json.dumps(model.metadata, indent=2, sort_keys=True, default=str) + "\n")


@lru_cache(maxsize=16)
def load_version_dir(directory: str) -> TextModel:
    """Load one version directory (cached per process by path)."""
    # Heavy: imported on first use, not when the module loads.
    from classifiers.calibration import Platt

    # Heavy: imported on first use, not when the module loads.
    from classifiers.model import ModelCard

    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_adapted import AdaptedTextModel

    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_ensemble import EnsembleTextModel

    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_sklearn import SklearnTextModel

    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_transformer import TransformerTextModel

    path = Path(directory)
    meta = read_metadata(path)
    card = ModelCard(meta["name"], meta["version"], tuple(meta["labels"]),
                     {k: float(v) for k, v in meta["thresholds"].items()},
                     {label: Platt(**meta["calibration"][label]["platt"])
                      for label in meta["labels"]}, meta)
    families: dict[str, type[TextModel]] = {
        "sklearn": SklearnTextModel, "transformer": TransformerTextModel,
        "ensemble": EnsembleTextModel, "adapted": AdaptedTextModel}
    if meta["family"] not in families:
        raise ModelNotFoundError(f"{path}: unknown family {meta['family']!r}")
    logger.info("loading %s %s (%s)", card.name, card.version, meta["family"])
    return families[meta["family"]].load(path, card)


class ModelRegistry:
    """Models under one root directory, falling back to the shipped ones."""

    def __init__(self, root: Path | str, shipped_root: Path = SHIPPED_ROOT) -> None:
        self.root = Path(root)
        self.shipped_root = shipped_root

    @classmethod
    def from_env(cls) -> ModelRegistry:
        """The registry at ``$WORKBENCH_MODEL_DIR`` (default ``instance/models``)."""
        return cls(os.environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR)

    def version_dir(self, name: str, version: str) -> Path:
        """Where a version lives: under the root, else shipped."""
        for base in (self.root, self.shipped_root):
            candidate = base / name / version
            if (candidate / METADATA_FILE).is_file():
                return candidate
        raise ModelNotFoundError(f"model {name!r} has no version {version!r}")

    def active_version(self, name: str) -> str:
        """The version in use: ``<root>/<name>/ACTIVE``, else the shipped ACTIVE, else the
        newest shipped version (an install that dropped the extension-less ACTIVE file)."""
        for base in (self.root, self.shipped_root):
            pointer = base / name / ACTIVE_FILE
            if pointer.is_file():
                return pointer.read_text(encoding="utf-8").strip()
        shipped = sorted(path.parent.name
                         for path in (self.shipped_root / name).glob(f"*/{METADATA_FILE}"))
        if shipped:
            return shipped[-1]
        raise ModelNotFoundError(f"no model named {name!r} in {self.root} or shipped")

    def load(self, name: str, version: str | None = None) -> TextModel:
        """The active (or given) version of a model, cached per process."""
        chosen = version or self.active_version(name)
        return load_version_dir(str(self.version_dir(name, chosen).resolve()))

    def save(self, model: TextModel) -> Path:
        """Write a new version directory under the root (not yet active)."""
        directory = self.root / model.name / model.version
        write_version(directory, model)
        logger.info("saved %s %s to %s", model.name, model.version, directory)
        return directory

    def promote(self, name: str, version: str, reason: str) -> None:
        """Make ``version`` the active one and record why."""
        directory = self.version_dir(name, version)
        event = {"version": version, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "reason": reason, "previous": self._active_before(name, version)}
        if not directory.is_relative_to(self.shipped_root):
            meta = read_metadata(directory)
            meta.setdefault("promotions", []).append(event)
            meta["promoted_reason"] = reason
            self._write_metadata(directory, meta)
        history = self.root / name / HISTORY_FILE
        history.parent.mkdir(parents=True, exist_ok=True)
        with history.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(event) + "\n")
        _write_atomic(self.root / name / ACTIVE_FILE, version + "\n")
        logger.info("promoted %s %s: %s", name, version, reason)

    def record(self, name: str, version: str, key: str, value: Any) -> None:
        """Add a field to a root version's metadata (e.g. why it was not promoted)."""
        directory = self.root / name / version
        meta = read_metadata(directory)
        meta[key] = value
        self._write_metadata(directory, meta)

    def names(self) -> list[str]:
        """Every model name under the root or shipped."""
        found = {path.name for base in (self.root, self.shipped_root) if base.is_dir()
                 for path in base.iterdir() if path.is_dir()}
        return sorted(found)

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of a model, oldest first, shipped ones included."""
        active = self._active_or_none(name)
        out: dict[str, VersionInfo] = {}
        for base, shipped in ((self.shipped_root, True), (self.root, False)):
            for directory in sorted((base / name).glob(f"*/{METADATA_FILE}")):
                meta = read_metadata(directory.parent)
                out[meta["version"]] = VersionInfo(
                    name, meta["version"], meta["family"], meta.get("created_at", ""),
                    meta["version"] == active, shipped, meta.get("promoted_reason", ""))
        return sorted(out.values(), key=lambda info: info.version)

    def _active_before(self, name: str, version: str) -> str | None:
        """The version active before ``version`` is promoted: as ``active_version``, but
        without a pointer the newest shipped version other than ``version`` (which may
        just have been saved into the shipped root)."""
        for base in (self.root, self.shipped_root):
            pointer = base / name / ACTIVE_FILE
            if pointer.is_file():
                return pointer.read_text(encoding="utf-8").strip()
        shipped = sorted(path.parent.name
                         for path in (self.shipped_root / name).glob(f"*/{METADATA_FILE}")
                         if path.parent.name != version)
        return shipped[-1] if shipped else None

    def _active_or_none(self, name: str) -> str | None:
        try:
            return self.active_version(name)
        except ModelNotFoundError:
            return None

    @staticmethod
    def _write_metadata(directory: Path, meta: dict[str, Any]) -> None:
        _write_atomic(directory / METADATA_FILE, json.dumps(meta, indent=2, sort_keys=True,
                                                            default=str) + "\n")
