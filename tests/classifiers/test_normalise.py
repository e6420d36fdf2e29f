"""Each obfuscation trick normalises to the plain text, in batches and with offsets."""

from __future__ import annotations

import pytest

from classifiers.model import TextModel
from classifiers.normalise import normalise, normalise_batch, normalise_with_offsets

PLAIN = "you are an idiot"

DISGUISES = {
    "leetspeak": "you are an 1d10t",
    "spaced out": "y o u  a r e  a n  i d i o t",
    "dotted": "you are an i.d.i.o.t",
    "repeated letters": "youuuu are an idiooooot",
    "zero-width": "you are an i\u200bd\u200ci\u200do\u2060t",
    "cyrillic homoglyphs": "\u0443\u043eu \u0430r\u0435 \u0430n \u0456d\u0456\u043et",
    "fullwidth": "\uff59\uff4f\uff55 \uff41\uff52\uff45 \uff41\uff4e "
                 "\uff49\uff44\uff49\uff4f\uff54",
    "upper case": "YOU ARE AN IDIOT",
}


@pytest.mark.parametrize("trick", sorted(DISGUISES))
def test_each_trick_normalises_to_the_plain_sentence(trick: str) -> None:
    assert normalise(DISGUISES[trick]).strip() == PLAIN


def test_leet_symbols_and_bang() -> None:
    assert normalise("$h1t b!tch a$$").split() == ["shit", "bitch", "ass"]


def test_numbers_mentions_and_urls_are_not_leet() -> None:
    out = normalise("@User call 08001234567 now http://x.co/abc 2005")
    assert out.split() == ["@user", "call", "08001234567", "now", "url", "2005"]


def test_devanagari_is_left_alone() -> None:
    assert normalise("तुम बहुत बेवकूफ हो").strip() == "तुम बहुत बेवकूफ हो"


def test_batch_keeps_alignment_when_texts_hold_newlines() -> None:
    texts = ["first\nline", "second", "", "thi\u200brd\r\nrow"]
    out = normalise_batch(texts)
    assert [text.strip() for text in out] == ["first line", "second", "", "third row"]


def test_offsets_agree_with_the_batch_path() -> None:
    texts = list(DISGUISES.values()) + ["RT @abc: Free entry!!! txt 87121 &amp; win"]
    batch = normalise_batch(texts)
    for text, expected in zip(texts, batch, strict=True):
        assert normalise_with_offsets(text)[0] == expected


def test_offsets_point_into_the_original_text() -> None:
    text = "so y o u  a r e  a n  1d10t!!"
    normalised, spans = normalise_with_offsets(text)
    start = normalised.index("idiot")
    first, last = spans[start], spans[start + len("idiot") - 1]
    assert text[first[0]:last[1]] == "1d10t"


@pytest.mark.parametrize(("text", "expected"), [
    ("hahahahahaha", "haha"), ("Hahahaha nice one", "haha nice one"), ("hehehe", "hehe"),
    ("haha", "haha"), ("ha ha ha ha", "ha ha ha ha"), ("bananana", "banana"),
])
def test_a_long_laugh_is_cut_to_two(text: str, expected: str) -> None:
    assert normalise(text).strip() == expected
    assert normalise_with_offsets(text)[0] == normalise(text)


def test_a_long_laugh_alone_is_not_abuse(text_model: TextModel) -> None:
    """The shipped model learnt from tweets that laughed mostly in abuse: a long laugh
    scored 0.85 abusive before the normaliser cut it to two."""
    abusive = [row["abusive"] for row in text_model.score(
        ["hahahahahahahahaha", "Hahahahahaha you are so funny", "hehehehehehe"])]
    assert max(abusive) < text_model.thresholds["abusive"]
