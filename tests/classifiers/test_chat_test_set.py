"""The team's Hindi and Hinglish chat test set: its shape, and that nothing trains on it."""

from __future__ import annotations

import pandas as pd
import pytest

from classifiers.chat_test_set import (
    CATEGORIES,
    drop_test_texts,
    load_chat_test_set,
    on_test_set,
    text_key,
)
from classifiers.datasets import shipped_splits
from classifiers.retrain import decisions_to_frame
from classifiers.training import TrainingRequest, train
from tests.support.hinglish import hinglish_decisions


@pytest.fixture(scope="module")
def test_set() -> pd.DataFrame:
    return load_chat_test_set()


def test_test_set_has_500_hand_labelled_messages_in_both_scripts(test_set: pd.DataFrame) -> None:
    assert len(test_set) >= 500
    assert test_set["id"].is_unique
    assert test_set["text"].map(text_key).is_unique
    assert set(test_set["category"]) == set(CATEGORIES)
    assert ((test_set["category"] != "none") == (test_set["abusive"] == 1)).all()
    assert 0.40 <= test_set["abusive"].mean() <= 0.50
    counts = test_set.groupby("script")["abusive"].agg(["size", "sum"])
    assert counts.loc["latn", "size"] >= 300 and counts.loc["deva", "size"] >= 100
    assert counts.loc["deva", "sum"] >= 40


def test_text_key_ignores_case_width_and_spacing() -> None:
    assert text_key("  Chutiya HAI kya   tu ") == text_key("chutiya hai kya tu")
    assert on_test_set(["CHUTIYA hai kya  tu", "chutiya hai kya"]) == [True, False]


def test_no_shipped_training_or_template_text_is_on_the_test_set() -> None:
    splits = shipped_splits()
    for part in (splits.train, splits.val, *splits.test.values()):
        assert not any(on_test_set(part["text"]))
    assert not any(on_test_set(hinglish_decisions(300)["text"]))


def test_training_refuses_a_test_set_message(test_set: pd.DataFrame) -> None:
    splits = shipped_splits()
    leaked = splits.train.iloc[:50].copy()
    leaked.loc[leaked.index[0], "text"] = test_set["text"].iloc[0].upper()
    request = TrainingRequest("text", "sklearn", type(splits)(leaked, splits.val, {}))
    with pytest.raises(ValueError, match="chat test set"):
        train(request)


def test_retraining_leaves_out_decisions_that_repeat_a_test_message(
        test_set: pd.DataFrame) -> None:
    decisions = pd.concat([hinglish_decisions(20),
                           pd.DataFrame({"text": test_set["text"].iloc[:3],
                                         "label": ["none"] * 3})], ignore_index=True)
    kept, dropped = drop_test_texts(decisions_to_frame(decisions))
    assert dropped == 3
    assert len(kept) == 20 and not any(on_test_set(kept["text"]))
