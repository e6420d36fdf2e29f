"""A model does not score a language it has not learnt; the lexicon and extortion still do."""

from __future__ import annotations

from classifiers.language import (
    AMBIGUOUS_WORDS,
    hinglish_words,
    identify,
    is_hinglish,
    other_language,
    rows_by_language,
)

#: Everyday Hinglish the shipped model (English tweets, abusive Hinglish only) flagged.
EVERYDAY_HINGLISH = ["namaste, main Lucknow se hoon, aap kahan se ho ji",
                     "kya kar rahe ho abhi? free ho toh baat karte hain",
                     "aap kaise ho? bahut din ho gaye"]
ENGLISH_INSULT = "you are a stupid worthless idiot"


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
