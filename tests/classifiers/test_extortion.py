"""Extortion and sextortion in English, Hindi (Devanagari) and Hinglish."""

from __future__ import annotations

import pytest

from classifiers.extortion import extortion
from classifiers.registry import ModelRegistry
from classifiers.text_lexicon import LexiconLayer

HINGLISH = "tu bahut badi chutiya hai, 500 coins bhej warna photo leak"
DEVANAGARI = "तू बहुत बड़ी चूतिया है, 500 कॉइन्स भेज वरना फोटो लीक"
ENGLISH = "you are a big bitch, send 500 coins or else your photo gets leaked"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> LexiconLayer:
    registry = ModelRegistry(tmp_path_factory.mktemp("models"))
    return LexiconLayer(registry.load("text"))


def test_the_hinglish_example_is_abusive_and_extortion(layer: LexiconLayer) -> None:
    row = layer.score([HINGLISH])[0]
    assert set(layer.flagged(row)) >= {"abusive", "extortion"}
    shown = {HINGLISH[s:e] for s, e, _ in layer.explain_spans(HINGLISH, "abusive")}
    assert "chutiya" in shown
    cues = {HINGLISH[s:e] for s, e, _ in layer.explain_spans(HINGLISH, "extortion")}
    assert {"coins", "warna", "photo"} <= cues


def test_the_shipped_model_alone_misses_it(layer: LexiconLayer) -> None:
    # Why the layer exists: the English-trained model does not see Hinglish abuse.
    assert "abusive" not in layer.model.flagged(layer.model.score([HINGLISH])[0])


@pytest.mark.parametrize("text", [DEVANAGARI, ENGLISH])
def test_the_same_in_devanagari_and_english_is_extortion(layer: LexiconLayer, text: str) -> None:
    row = layer.score([text])[0]
    assert "extortion" in layer.flagged(row)


@pytest.mark.parametrize("text", [
    "send me 2000 on paytm or i will send your video to your family",
    "paise bhej nahi to video viral kar dunga",
    "1000 rs UPI kar warna tere ghar walo ko recording bhej dunga",
    "पैसे भेजो नहीं तो तुम्हारी वीडियो घरवालों को भेज दूंगा",
    "recharge karwa de warna tere nudes insta pe daal dunga",
])
def test_demands_held_over_leverage_are_extortion(text: str) -> None:
    assert extortion(text).score >= 0.85


@pytest.mark.parametrize("text", [
    "nice photo of the gift you sent", "send me coins or else i leave",
    "pehle coins bhejo phir photo dikhaunga", "recharge ho gaya? video call karein?",
    "I will see you at the market tomorrow",
])
def test_coin_and_photo_talk_alone_is_not_extortion(layer: LexiconLayer, text: str) -> None:
    assert "extortion" not in layer.flagged(layer.score([text])[0])


def test_batch_scores_equal_one_text_at_a_time() -> None:
    from classifiers.extortion import extortion_scores

    texts = [HINGLISH, DEVANAGARI, ENGLISH, "nice photo of the gift you sent", "", "ok"]
    assert extortion_scores(texts) == [extortion(t).score for t in texts]
