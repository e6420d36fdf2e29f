"""A model does not score a language it has not learnt; the lexicon and extortion still do."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from classifiers.language import (
    AMBIGUOUS_WORDS,
    hinglish_words,
    identify,
    is_hinglish,
    other_language,
    rows_by_language,
)
from classifiers.model import TextModel
from classifiers.text_lexicon import MIN_LANGUAGE_ROWS, LexiconLayer, unread_languages
from workbench.cases.scoring import text_model as workbench_text_model
from workbench.settings import load_settings

#: Everyday Hinglish the shipped model (English tweets, abusive Hinglish only) flagged.
EVERYDAY_HINGLISH = ["namaste, main Lucknow se hoon, aap kahan se ho ji",
                     "kya kar rahe ho abhi? free ho toh baat karte hain",
                     "aap kaise ho? bahut din ho gaye"]
ABUSE_AND_EXTORTION = "tu bahut badi chutiya hai, 500 coins bhej warna photo leak"
ENGLISH_INSULT = "you are a stupid worthless idiot"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> LexiconLayer:
    """What the workbench scores messages with: the active default model, layered."""
    instance = tmp_path_factory.mktemp("instance")
    model = workbench_text_model(load_settings({"instance_dir": Path(instance)}, environ={}))
    assert isinstance(model, LexiconLayer)
    return model


def _reading_everything(model: TextModel) -> TextModel:
    """``model`` as a model trained before ``rows_by_language`` was recorded."""
    older = copy.copy(model)
    metadata = {k: v for k, v in model.metadata.items() if k != "rows_by_language"}
    older.card = dataclasses.replace(model.card, metadata=metadata)
    return older


@pytest.mark.parametrize("text", EVERYDAY_HINGLISH)
def test_the_default_model_does_not_flag_everyday_hinglish(layer: LexiconLayer,
                                                           text: str) -> None:
    row = layer.score([text])[0]
    assert layer.flagged(row) == []
    assert all(row[label] == 0.0 for label in layer.model.labels)


def test_hinglish_abuse_and_extortion_are_still_flagged(layer: LexiconLayer) -> None:
    row = layer.score([ABUSE_AND_EXTORTION])[0]
    assert {"abusive", "extortion"} <= set(layer.flagged(row))
    # Only the lexicon's evidence explains it: the model did not read it.
    assert layer.explain(ABUSE_AND_EXTORTION, "abusive") == [("chutiya", 0.8)]


def test_an_english_insult_is_still_scored_by_the_model(layer: LexiconLayer) -> None:
    row = layer.score([ENGLISH_INSULT])[0]
    assert row["abusive"] == layer.model.score([ENGLISH_INSULT])[0]["abusive"]
    assert "abusive" in layer.flagged(row)
    assert "idiot" in {word for word, _ in layer.explain(ENGLISH_INSULT, "abusive")}


def test_explanations_of_an_unread_text_hold_no_model_words(layer: LexiconLayer) -> None:
    text = EVERYDAY_HINGLISH[0]
    assert layer.model.explain_spans(text, "abusive")  # the model alone names words
    assert layer.explain_spans(text, "abusive") == []


def test_a_batch_scores_as_each_text_alone(layer: LexiconLayer) -> None:
    texts = [EVERYDAY_HINGLISH[2], ENGLISH_INSULT, EVERYDAY_HINGLISH[2],
             ABUSE_AND_EXTORTION, "नमस्ते दोस्त, कैसे हो", ENGLISH_INSULT]
    rows = layer.score(texts)
    assert rows == [layer.score([text])[0] for text in texts]
    rows[0]["abusive"] = 1.0  # each row is a dict of its own
    assert rows[2]["abusive"] == 0.0


def test_a_model_without_rows_by_language_reads_everything(layer: LexiconLayer) -> None:
    assert unread_languages({}) == frozenset()
    older = LexiconLayer(_reading_everything(layer.model), layer.lexicon)
    text = EVERYDAY_HINGLISH[2]
    assert not older.model_unread(text)
    assert older.score([text])[0]["abusive"] == layer.model.score([text])[0]["abusive"]


def test_a_language_is_read_from_min_language_rows_texts_on() -> None:
    unread = unread_languages({"rows_by_language": {"hi-Latn": MIN_LANGUAGE_ROWS - 1,
                                                    "hi": MIN_LANGUAGE_ROWS}})
    assert "hi-Latn" in unread and "bn" in unread
    assert "hi" not in unread and "en" not in unread


def test_the_shipped_text_models_record_what_they_were_trained_on(
        layer: LexiconLayer) -> None:
    assert layer.metadata["rows_by_language"] == {"hi-Latn": 1}
    assert {"hi", "hi-Latn"} <= layer.unread


def test_ambiguous_words_are_neither_hinglish_nor_english() -> None:
    assert not AMBIGUOUS_WORDS & hinglish_words()
    # Hinglish using them is not mixed with English ...
    for text in ("rohit out ho gaya yaar", "mera wallet lock ho gaya, 500 bhej do kal "
                 "double lauta dunga promise"):
        guess = identify(text)
        assert (guess.language, guess.mixed) == ("hi-Latn", False), text
    # ... and English using them is not Hinglish.
    english = "so do me a favour and go to the shop, the bus is late"
    assert not is_hinglish(english)
    assert identify(english).language == "en"


def test_other_language_and_rows_by_language() -> None:
    mixed = "मैं तुम्हें कल फोन करूँगा okay see you at the station tomorrow"
    assert other_language(EVERYDAY_HINGLISH[0]) == "hi-Latn"
    assert other_language("नमस्ते दोस्त, कैसे हो") == "hi"
    assert other_language("আমি তোমাকে কাল দেখব") == "bn"
    assert other_language(mixed) is None
    assert other_language(ENGLISH_INSULT) is None
    texts = [EVERYDAY_HINGLISH[2], "नमस्ते दोस्त, कैसे हो", "see you at dinner tonight",
             EVERYDAY_HINGLISH[2], mixed, ""]
    assert rows_by_language(texts) == {"hi": 1, "hi-Latn": 2}
