"""Language detection, with Devanagari Hindi and Hinglish."""

from __future__ import annotations

from classifiers.language import detect_languages, is_hinglish


def test_batch_detection_in_order() -> None:
    texts = ["तुम बहुत अच्छे दोस्त हो", "kya kar raha hai bhai, kal milte hai",
             "I will see you at the market tomorrow", "Bonjour tout le monde, comment ça va",
             "", "12345 !!!"]
    assert detect_languages(texts) == ["hi", "hi-Latn", "en", "fr", "und", "und"]


def test_short_hinglish_needs_every_word_listed() -> None:
    first, second, third = detect_languages(["yaar", "kya hai", "ok yaar"])
    assert (first, second) == ("hi-Latn", "hi-Latn")
    assert third != "hi-Latn"


def test_english_with_one_hindi_word_stays_english() -> None:
    text = "the meeting is moved to thursday afternoon because the room is booked yaar"
    assert not is_hinglish(text)
    assert detect_languages([text]) == ["en"]
