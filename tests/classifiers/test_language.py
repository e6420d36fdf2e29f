"""Language identification restricted to the configured languages, Hinglish included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.language import (
    DEFAULT_LANGUAGES,
    SUPPORTED_LANGUAGES,
    LanguageConfigError,
    detect_languages,
    identify,
    is_hinglish,
    weighted_language,
)


def test_batch_detection_in_order() -> None:
    texts = ["तुम बहुत अच्छे दोस्त हो", "kya kar raha hai bhai, kal milte hai",
             "I will see you at the market tomorrow", "Bonjour tout le monde, comment ça va",
             "", "12345 !!!"]
    # French is not a language HARMONI's users write: unsure, not "fr".
    assert detect_languages(texts) == ["hi", "hi-Latn", "en", "und", "und", "und"]


def test_short_hinglish_needs_every_word_listed() -> None:
    first, second, third = detect_languages(["yaar", "kya hai", "ok yaar"])
    assert (first, second) == ("hi-Latn", "hi-Latn")
    assert third != "hi-Latn"


def test_english_with_one_hindi_word_stays_english() -> None:
    text = "the meeting is moved to thursday afternoon because the room is booked yaar"
    assert not is_hinglish(text)
    assert detect_languages([text]) == ["en"]


def test_languages_general_identifiers_guess_on_chat_are_never_assigned() -> None:
    # py3langid alone says Hausa, Maltese, Afrikaans ... for these.
    texts = ["kya kar raha hai", "lol see u tmrw", "ok", "xqzv kkk", "Ik hou van jou"]
    assert set(detect_languages(texts)) <= {"en", "hi-Latn", "und"}


def test_mixed_devanagari_and_english_is_recognised_as_mixed() -> None:
    guess = identify("मैं तुम्हें कल फोन करूँगा okay see you at the station tomorrow")
    assert guess.mixed
    assert set(guess.languages) == {"hi", "en"}
    assert guess.language in {"hi", "en"}
    assert not identify("I will see you at the market tomorrow").mixed


def test_other_indian_scripts_only_when_configured() -> None:
    tamil = "நான் நாளை உன்னை பார்க்கிறேன்"
    bengali = "আমি তোমাকে কাল দেখব"
    assert detect_languages([tamil, bengali]) == ["und", "und"]
    wider = (*DEFAULT_LANGUAGES, "ta", "bn")
    assert detect_languages([tamil, bengali], wider) == ["ta", "bn"]


def test_an_unsupported_configured_language_is_refused() -> None:
    with pytest.raises(LanguageConfigError, match="fr"):
        detect_languages(["hello"], ["en", "fr"])


def test_content_language_is_weighted_by_length() -> None:
    long_hinglish = ("hi-Latn", 120)
    assert weighted_language([("en", 10), ("en", 12), long_hinglish]) == "hi-Latn"
    assert weighted_language([("und", 500), ("hi", 3)]) == "hi"
    assert weighted_language([("und", 5), (None, 9)]) is None


_TEXT = st.text(alphabet=st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from("aeiou kyahbtrnmsज्ञकखगघतथदधनपबमयरलवसह ািতমக்ந")), max_size=60)


@settings(max_examples=150, deadline=None)
@given(text=_TEXT, extra=st.lists(st.sampled_from(SUPPORTED_LANGUAGES), max_size=4))
def test_no_language_outside_the_configured_list_is_ever_assigned(
    text: str, extra: list[str]
) -> None:
    configured = (*DEFAULT_LANGUAGES, *extra)
    guess = identify(text, configured)
    assert guess.language in (*configured, "und")
    assert set(guess.languages) <= set(configured)



def test_a_reader_of_hindi_is_needed_for_english_mixed_with_hinglish() -> None:
    from classifiers.language import reader_language, reader_languages

    text = "bhai kya scene hai, I will call you tonight after the meeting is over ok"
    guess = identify(text)
    assert guess.mixed and guess.language == "en" and "hi-Latn" in guess.languages
    assert reader_language(guess) == "hi-Latn"
    assert reader_languages(["I will see you at the market tomorrow", text]) == [
        "en", "hi-Latn"]
