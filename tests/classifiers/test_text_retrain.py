"""Retraining from moderator decisions in a language the shipped data lacks (Hinglish)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from classifiers.datasets import shipped_splits
from classifiers.held_apart import (
    CHAT_PARTS,
    Comparison,
    chat_comparisons,
    drop_english_test_texts,
)
from classifiers.model import TextModel
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
    assert meta["promoted_reason"].startswith("promoted: not worse on any")
    assert all(c.ok for c in result.comparisons)
    chat = {c.name: c for c in result.comparisons}["chat test set"]
    assert chat.candidate >= chat.active - chat.tolerance
    assert meta["training_data"]["extra"][0]["source"] == "moderator decisions"
    # The decisions are the Hinglish it learnt from (the shipped data held one message).
    assert meta["rows_by_language"]["hi-Latn"] > meta["training_data"]["extra"][0]["rows"] / 2

    model = registry.load("text")
    unseen = ["tum log sach mein harami ho", "kal cricket dekhne chalte hai bhai"]
    rows = model.score(unseen)
    assert "abusive" in model.flagged(rows[0])
    assert model.flagged(rows[1]) == []
    assert model.flagged(model.score(["you are an idiot"])[0]) == ["abusive"]


def test_comparison_allows_only_the_stated_tolerance() -> None:
    assert Comparison("set", 0.70, 0.71, 0.02).ok
    assert Comparison("set", 0.75, 0.71, 0.0).ok
    assert not Comparison("set", 0.68, 0.71, 0.02).ok
    assert not Comparison("set", float("nan"), 0.71, 0.02).ok
    assert Comparison("set", float("nan"), float("nan"), 0.0).ok


def test_the_shipped_model_is_no_worse_than_itself_on_the_chat_test_set(
        text_model: TextModel) -> None:
    comparisons = chat_comparisons(text_model, text_model)
    assert [c.name for c in comparisons] == list(CHAT_PARTS)
    assert all(c.ok and c.candidate == c.active for c in comparisons)
    # the shipped model under the lexicon layer flags abuse on the set: not a zero figure
    assert all(c.active > 0.5 for c in comparisons)


def test_decisions_repeating_an_english_test_text_are_left_out() -> None:
    english = shipped_splits().test["davidson"]["text"].iloc[0]
    frame = pd.DataFrame({"text": [english.upper(), "kal milte hai yaar"]})
    kept, dropped = drop_english_test_texts(frame)
    assert dropped == 1
    assert kept["text"].tolist() == ["kal milte hai yaar"]


@pytest.mark.slow
def test_retrain_on_wrong_decisions_is_refused_by_the_chat_test_set(
        tmp_path: Path, hinglish: pd.DataFrame) -> None:
    # Moderators who dismissed the abuse and flagged the chit-chat: the held-back
    # decisions (as wrong as the rest) favour the candidate, the team's set does not.
    flipped = hinglish.assign(label=hinglish["label"].map({"abusive": "none",
                                                           "none": "abusive"}))
    registry = ModelRegistry(tmp_path)
    shipped = registry.load("text")
    result = retrain(registry, "text", flipped)

    assert result.holdout["candidate_score"] > result.holdout["active_score"]
    assert not result.promoted, result.reason
    assert result.reason.startswith("kept active: worse on chat test set")
    assert registry.active_version("text") == shipped.version
    # The Hinglish part refuses it (neither model scores wholly Hinglish messages, so the
    # loss is on those mixed with English: see classifiers.text_lexicon).
    failed = {c.name for c in result.comparisons if not c.ok}
    assert "chat test set, Hinglish (Latin)" in failed
    assert "held-back decisions (60)" not in failed
    meta = json.loads((tmp_path / "text" / result.candidate_version / "metadata.json")
                      .read_text())
    assert meta["retrain"]["held_apart"]["chat test set, Hinglish (Latin)"]["ok"] is False
