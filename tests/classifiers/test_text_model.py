"""The shipped text models: scores, thresholds, robustness to obfuscation, explanations."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.model import TextModel
from classifiers.registry import SHIPPED_ROOT, ModelRegistry

ABUSIVE = "you are an idiot"
BENIGN = "see you at the station at five"

OBFUSCATED = [
    "you are an 1d10t",
    "y o u  a r e  a n  i d i o t",
    "you are an i\u200bd\u200ci\u200do\u2060t",
    "\u0443\u043eu \u0430r\u0435 \u0430n \u0456d\u0456\u043et",
    "\uff59\uff4f\uff55 \uff41\uff52\uff45 \uff41\uff4e \uff49\uff44\uff49\uff4f\uff54",
    "you are an idiooooooot",
]


def test_model_identity(text_model: TextModel) -> None:
    assert text_model.name == "text"
    assert text_model.labels == ("abusive", "hate", "spam_scam")
    assert set(text_model.thresholds) == set(text_model.labels)
    assert all(0.0 < value < 1.0 for value in text_model.thresholds.values())
    assert text_model.metadata["target_precision"] == pytest.approx(0.90)


def test_abusive_scores_above_benign_and_crosses_threshold(text_model: TextModel) -> None:
    abusive, benign = text_model.score([ABUSIVE, BENIGN])
    assert abusive["abusive"] > benign["abusive"] + 0.5
    assert text_model.flagged(abusive) == ["abusive"]
    assert text_model.flagged(benign) == []


@pytest.mark.parametrize("text", OBFUSCATED)
def test_obfuscated_abuse_is_flagged_like_the_plain_sentence(text_model: TextModel,
                                                             text: str) -> None:
    plain, disguised = text_model.score([ABUSIVE, text])
    assert "abusive" in text_model.flagged(disguised)
    assert disguised["abusive"] == pytest.approx(plain["abusive"], abs=0.05)


def test_spam_is_spam_scam(text_model: TextModel) -> None:
    spam, chat = text_model.score([
        "URGENT! You have won a 1 week FREE membership in our £1000 prize jackpot! "
        "Txt CLAIM to 81010 now",
        "are we still on for dinner tonight?"])
    assert "spam_scam" in text_model.flagged(spam)
    assert spam["spam_scam"] > 0.9 > chat["spam_scam"]


def test_score_is_batched_and_ordered(text_model: TextModel) -> None:
    texts = [BENIGN, ABUSIVE] * 1500 + [""]
    rows = text_model.score(texts)
    assert len(rows) == len(texts)
    assert rows[1] == rows[2999]
    assert rows[0]["abusive"] < rows[1]["abusive"]
    assert all(0.0 <= value <= 1.0 for value in rows[-1].values())


def test_explain_names_the_insult_and_points_into_the_original(text_model: TextModel) -> None:
    text = "honestly y o u are such an 1d10t"
    tokens = text_model.explain(text, "abusive", top_k=3)
    assert tokens[0][0] == "1d10t"
    assert tokens[0][1] > 0
    spans = text_model.explain_spans(text, "abusive", top_k=3)
    start, end, weight = spans[0]
    assert text[start:end] == "1d10t" and weight == tokens[0][1]


def test_explain_rejects_unknown_label(text_model: TextModel) -> None:
    with pytest.raises(ValueError, match="unknown label"):
        text_model.explain(ABUSIVE, "rude")


def test_loading_is_cached_per_process(empty_model_root: Path, text_model: TextModel) -> None:
    assert ModelRegistry(empty_model_root).load("text") is text_model


def test_shipped_models_are_small() -> None:
    size = sum(path.stat().st_size for path in SHIPPED_ROOT.rglob("*") if path.is_file())
    # 5.5 MB: text-review keeps its own copies of its parts (text's tables, 0.9 MB, and
    # text-adapted's adapters, 1.3 MB), so a retrained text leaves it as it was combined.
    assert size < 6 * 1024 * 1024


def test_transformer_family_scores_and_explains(minilm_model: TextModel) -> None:
    assert minilm_model.metadata["family"] == "transformer"
    abusive, benign = minilm_model.score(["you are a stupid idiot", BENIGN])
    assert abusive["abusive"] > benign["abusive"]
    assert "abusive" in minilm_model.flagged(abusive)
    words = [word for word, _ in minilm_model.explain("you are a stupid idiot", "abusive", 2)]
    assert {"stupid", "idiot"} & set(words)


def test_ensemble_family_averages_both(empty_model_root: Path, minilm_model: TextModel) -> None:
    ensemble = ModelRegistry(empty_model_root).load("text-ensemble")
    assert ensemble.metadata["family"] == "ensemble"
    texts = ["you are a stupid idiot", BENIGN]
    abusive, benign = ensemble.score(texts)
    assert "abusive" in ensemble.flagged(abusive) and ensemble.flagged(benign) == []
    raw = ensemble.raw_scores(texts)
    parts = [part.probabilities(texts) for part in ensemble.parts]  # type: ignore[attr-defined]
    assert raw[0, 0] == pytest.approx((parts[0][0, 0] + parts[1][0, 0]) / 2)
    assert ensemble.explain(texts[0], "abusive", 1)[0][0] in {"stupid", "idiot"}
