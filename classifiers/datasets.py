"""The shipped training sets, mapped onto the workbench's labels, and their splits.

Each loader returns a frame with a ``text`` column and one float column per
label in :data:`LABELS`: 1.0 positive, 0.0 negative, NaN where the dataset
says nothing about that label (an OLID offensive tweet may or may not be hate).
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

logger = logging.getLogger(__name__)

#: Labels every text model scores, in column order.
LABELS: tuple[str, ...] = ("abusive", "hate", "spam_scam")

#: Where the shipped datasets live (see data/PROVENANCE.md).
DATA_DIR = Path(__file__).parent / "data"

DATA_FILES: dict[str, Path] = {
    "davidson": DATA_DIR / "davidson" / "labeled_data.csv",
    "olid": DATA_DIR / "olid" / "olid-training-v1.0.tsv",
    "sms_spam": DATA_DIR / "sms_spam" / "SMSSpamCollection",
}

#: Fixed seed for every split, so numbers are comparable run to run.
RANDOM_STATE = 42
NAN = float("nan")


def _frame(texts: pd.Series, abusive: object, hate: object, spam: object,
           stratum: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"text": texts.astype(str).to_numpy()})
    for label, values in zip(LABELS, (abusive, hate, spam), strict=True):
        frame[label] = np.broadcast_to(np.asarray(values, dtype=np.float64), len(frame))
    frame["stratum"] = stratum.to_numpy()
    return frame


def load_davidson(path: Path = DATA_FILES["davidson"]) -> pd.DataFrame:
    """Davidson et al. 2017: class 0 hate, 1 offensive, 2 neither."""
    raw = pd.read_csv(path)
    cls = raw["class"]
    frame = _frame(raw["tweet"], (cls <= 1).astype(float), (cls == 0).astype(float), 0.0, cls)
    frame["davidson_class"] = cls.to_numpy()
    return frame


def load_olid(path: Path = DATA_FILES["olid"]) -> pd.DataFrame:
    """OLID sub-task A: OFF is abusive; whether OFF is hate is unknown (NaN)."""
    raw = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE)
    off = (raw["subtask_a"] == "OFF").astype(float)
    hate = np.where(off == 1.0, NAN, 0.0)
    return _frame(raw["tweet"], off, hate, 0.0, raw["subtask_a"])


def load_sms_spam(path: Path = DATA_FILES["sms_spam"]) -> pd.DataFrame:
    """SMS Spam Collection v.1: spam is spam_scam; no message is abusive or hate."""
    raw = pd.read_csv(path, sep="\t", header=None, names=["label", "text"],
                      quoting=csv.QUOTE_NONE, keep_default_na=False)
    return _frame(raw["text"], 0.0, 0.0, (raw["label"] == "spam").astype(float), raw["label"])


LOADERS = {"davidson": load_davidson, "olid": load_olid, "sms_spam": load_sms_spam}


@dataclass(frozen=True)
class Splits:
    """Train, validation (calibration and thresholds) and test parts of the data."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: dict[str, pd.DataFrame]


def split_frame(frame: pd.DataFrame, test_size: float = 0.2,
                val_size: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified train/val/test split with the fixed seed."""
    rest, test = train_test_split(frame, test_size=test_size, stratify=frame["stratum"],
                                  random_state=RANDOM_STATE)
    train, val = train_test_split(rest, test_size=val_size / (1 - test_size),
                                  stratify=rest["stratum"], random_state=RANDOM_STATE)
    return train, val, test


@lru_cache(maxsize=2)
def shipped_splits(limit: int | None = None) -> Splits:
    """The standard 70/10/20 split of every shipped dataset, train and val pooled.

    Args:
        limit: keep at most this many rows per dataset (quick runs only).
    """
    trains, vals, tests = [], [], {}
    for name, loader in LOADERS.items():
        frame = loader()
        if limit is not None and len(frame) > limit:
            frame = frame.sample(n=limit, random_state=RANDOM_STATE)
        frame["dataset"] = name
        train, val, test = split_frame(frame)
        trains.append(train)
        vals.append(val)
        tests[name] = test.reset_index(drop=True)
    return Splits(pd.concat(trains, ignore_index=True), pd.concat(vals, ignore_index=True),
                  tests)


def olid_folds(n_splits: int = 5, limit: int | None = None) -> list[tuple[Splits, pd.DataFrame]]:
    """OLID 5-fold CV: each fold trains on the other datasets' train parts plus 4/5 of OLID.

    Args:
        n_splits: number of folds.
        limit: rows per dataset, as in :func:`shipped_splits` (quick runs only).

    Returns:
        For each fold, the training splits and the held-out OLID fold.
    """
    base = shipped_splits(limit)
    others_train = base.train[base.train["dataset"] != "olid"]
    others_val = base.val[base.val["dataset"] != "olid"]
    olid = load_olid()
    if limit is not None and len(olid) > limit:
        olid = olid.sample(n=limit, random_state=RANDOM_STATE)
    olid["dataset"] = "olid"
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=RANDOM_STATE)
    out = []
    for train_index, test_index in folds.split(olid, olid["stratum"]):
        part = olid.iloc[train_index]
        train, val = train_test_split(part, test_size=0.125, stratify=part["stratum"],
                                      random_state=RANDOM_STATE)
        splits = Splits(pd.concat([others_train, train], ignore_index=True),
                        pd.concat([others_val, val], ignore_index=True), {})
        out.append((splits, olid.iloc[test_index].reset_index(drop=True)))
    return out


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_frame(frame: pd.DataFrame) -> str:
    """Hex SHA-256 of a frame's texts and labels (for data that is not a file)."""
    columns = [column for column in ("text", *LABELS) if column in frame.columns]
    payload = frame[columns].to_csv(index=False).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def data_provenance() -> list[dict[str, object]]:
    """Path, SHA-256 and row count of every shipped training file."""
    out: list[dict[str, object]] = []
    for name, path in DATA_FILES.items():
        out.append({"dataset": name, "path": str(path.relative_to(DATA_DIR.parent)),
                    "sha256": sha256_file(path), "rows": len(LOADERS[name]())})
    return out
