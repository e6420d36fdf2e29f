"""The team's Hindi and Hinglish chat test set: for measuring only, never for training.

``resources/hindi_chat_test.tsv`` holds messages written by the team in the style of
1:1 chat on an Indian calling and social app, each labelled by hand (see the README
beside it). A test set the model has learnt from measures nothing, so training refuses
any text on it (:func:`refuse_test_texts`) and retraining drops moderator decisions
that repeat one (:func:`drop_test_texts`). Texts are compared after Unicode NFKC,
case folding and collapsing whitespace.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pandas as pd

#: Where the test set lives.
TEST_SET_PATH = Path(__file__).parent / "resources" / "hindi_chat_test.tsv"
#: Harm categories; ``none`` is the only one with ``abusive`` 0.
CATEGORIES = ("none", "insult", "sexual_harassment", "slur", "threat", "extortion", "scam")


def text_key(text: str) -> str:
    """The form two texts are compared in: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def load_chat_test_set(path: Path = TEST_SET_PATH) -> pd.DataFrame:
    """``id``, ``text``, ``abusive`` (0/1), ``category``, ``script`` (latn, deva, mixed)."""
    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False,
                        dtype={"id": str, "text": str, "category": str, "script": str})
    frame["abusive"] = frame["abusive"].astype(int)
    return frame


@lru_cache(maxsize=1)
def _test_keys() -> frozenset[str]:
    return frozenset(text_key(text) for text in load_chat_test_set()["text"])


def on_test_set(texts: Iterable[str]) -> list[bool]:
    """Whether each text is (after :func:`text_key`) one of the test set's messages."""
    keys = _test_keys()
    return [text_key(text) in keys for text in texts]


def refuse_test_texts(texts: Iterable[str], what: str) -> None:
    """Raise when any of ``texts`` is on the test set.

    Raises:
        ValueError: naming how many texts of ``what`` are on it.
    """
    found = sum(on_test_set(texts))
    if found:
        raise ValueError(f"{found} texts of {what} are on the Hindi and Hinglish chat test "
                         f"set ({TEST_SET_PATH.name}), which is never trained on")


def drop_test_texts(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``frame`` without rows whose ``text`` is on the test set, and how many went."""
    mask = pd.Series(on_test_set(frame["text"].astype(str)), index=frame.index)
    return frame.loc[~mask], int(mask.sum())
