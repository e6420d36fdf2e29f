"""Retraining from moderator decisions in a language the shipped data lacks (Hinglish)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from classifiers.registry import ModelRegistry
from classifiers.retrain import decisions_to_frame, retrain, split_recent


def test_decisions_map_onto_labels() -> None:
    frame = decisions_to_frame(pd.DataFrame({"text": list("abcde"),
                                             "label": ["abusive", "hate", "none", "1", "0"]}))
    assert frame["abusive"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert frame["hate"].isna().tolist() == [True, False, False, True, False]
    assert frame["spam_scam"].isna().tolist() == [True, True, False, True, False]


def test_most_recent_fifth_is_held_back(hinglish: pd.DataFrame) -> None:
    shuffled = decisions_to_frame(hinglish.sample(frac=1.0, random_state=1))
    older, recent = split_recent(shuffled)
    assert len(recent) == 60
    assert recent["decided_at"].min() > older["decided_at"].max()


@pytest.mark.slow
def test_retrain_learns_hinglish_and_promotes(tmp_path: Path, hinglish: pd.DataFrame) -> None:
    registry = ModelRegistry(tmp_path)
    shipped = registry.load("text")
    result = retrain(registry, "text", hinglish)

    assert result.holdout["rows"] == 60
    assert result.holdout["candidate_score"] > result.holdout["active_score"] + 0.2
    assert result.holdout["candidate_score"] > 0.9
    assert result.promoted, result.reason
    assert registry.active_version("text") == result.candidate_version != shipped.version

    meta = json.loads((tmp_path / "text" / result.candidate_version / "metadata.json")
                      .read_text())
    assert meta["promoted_reason"].startswith("promoted: not worse on either")
    assert meta["training_data"]["extra"][0]["source"] == "moderator decisions"

    model = registry.load("text")
    unseen = ["tum log sach mein harami ho", "kal cricket dekhne chalte hai bhai"]
    rows = model.score(unseen)
    assert "abusive" in model.flagged(rows[0])
    assert model.flagged(rows[1]) == []
    assert model.flagged(model.score(["you are an idiot"])[0]) == ["abusive"]
