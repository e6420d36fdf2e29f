"""The abuse lexicon (Hindi and Hinglish terms, English phrases of 1:1 chat): its
spellings, categories and spans."""

from __future__ import annotations

import pytest

from classifiers.explain import merge_spans
from classifiers.lexicon import (
    CATEGORIES,
    LexiconError,
    fold,
    parse_lexicon,
    shipped_lexicon,
)
from classifiers.model import TextModel
from classifiers.text_lexicon import LexiconLayer


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[h.start:h.end], h.entry.category) for h in shipped_lexicon().hits(text)]


@pytest.mark.parametrize("text", [
    "tu chutiya hai", "tu chootiya hai", "tu ch*tiya hai", "tu ch**tiya hai",
    "tu c h u t i y a hai", "tu CHUUUTIYAAA hai", "tu chut1ya hai", "tu chutia hai",
    "तू चूतिया है", "तू चुतिया है",
])
def test_spellings_people_use_find_the_same_term(text: str) -> None:
    assert [category for _, category in _found(text)] == ["sexual_slur"]


def test_transliteration_folds() -> None:
    assert fold("kameene") == fold("kamine")
    assert fold("chhinaal") == fold("chinaal")
    assert fold("haramzaade") == fold("haramjade")
    assert fold("kutte") == fold("kute")
    assert fold("bhadwa") == fold("bhadva")
    assert fold("भोसड़ी") == fold("भोसडी")


def test_phrases_match_apart_or_together_and_spans_point_at_the_original() -> None:
    text = "abe BEHEN-CHOD, tujhe jaan se maar dunga"
    assert _found(text) == [("BEHEN-CHOD", "sexual_slur"),
                            ("jaan se maar dunga", "threat")]
    assert _found("behenchod") == [("behenchod", "sexual_slur")]


def test_caste_and_religious_slurs_are_evidence_for_hate() -> None:
    scores = shipped_lexicon().scores("saale bhangi log")
    assert scores["hate"] >= 0.9 and scores["abusive"] >= 0.9
    assert shipped_lexicon().scores("saale kahin ke")["hate"] == 0.0


@pytest.mark.parametrize("text", [
    "chhod do yaar, kal baat karte hain", "mujhe ek anda chahiye", "kala rang acha hai",
    "I will see you at the market tomorrow", "hijra samaj ke adhikar", "masked *** words",
])
def test_harmless_text_has_no_hits(text: str) -> None:
    assert _found(text) == []


def test_every_entry_has_a_known_category_and_severity() -> None:
    entries = shipped_lexicon().entries
    assert len(entries) > 200
    assert {e.category for e in entries} == set(CATEGORIES)
    assert {e.severity for e in entries} <= {1, 2, 3}
    with pytest.raises(LexiconError, match="line 1"):
        parse_lexicon(["gaali\tswearing\t2"])
    with pytest.raises(LexiconError, match="line 2: a term is at most 5 words"):
        parse_lexicon(["# a comment", "i am going to kill you\tthreat\t3"])


def test_lexicon_spans_come_first_in_explanations() -> None:
    merged = merge_spans([(3, 10, 0.95)], [(0, 2, 0.5), (4, 8, 0.9), (11, 14, 0.1)], top_k=8)
    assert merged == [(3, 10, 0.95), (0, 2, 0.5), (11, 14, 0.1)]


@pytest.mark.parametrize("text", [
    "Rand Paul mocks Clinton", "she graduated magna cum laude", "the Comstock Lode",
    "a fire sale at the Yankees", "Bc he is trash", "not b/c it is funny",
    "Didn't try, g and I decided not to head out", "It's ok, at least he is around",
])
def test_english_words_that_fold_like_hindi_terms_are_not_abuse(text: str) -> None:
    assert max(shipped_lexicon().scores(text).values()) == 0.0


@pytest.mark.parametrize("text", [
    "kal pakka milte hain", "kohli ki century pakki aaj", "PAKKE se bol raha hu",
])
def test_hinglish_pakka_is_not_the_slur_it_folds_onto(text: str) -> None:
    lexicon = shipped_lexicon()
    assert fold("pakki") != fold("paki")
    assert _found(text) == []
    assert lexicon.scores_batch([text]) == [lexicon.scores(text)]
    assert max(lexicon.scores(text).values()) == 0.0
    # The slur itself, in any spelling with a single k, still counts.
    assert _found(text + ", tu p*ki hai")[-1][1] == "caste_religious_slur"


def test_mild_terms_count_in_hinglish_context() -> None:
    assert shipped_lexicon().scores("saala kutta kahin ka")["abusive"] > 0.5
    assert shipped_lexicon().scores("saala")["abusive"] > 0


def test_batch_scores_equal_one_text_at_a_time() -> None:
    texts = ["tu ch*tiya hai", "BEHEN-CHOD", "saale bhangi log", "a fire sale",
             "तू चूतिया है, भोसडी के", "bhosdi ke", "kutte ki aulaad", "hello there", ""]
    lexicon = shipped_lexicon()
    assert lexicon.scores_batch(texts) == [lexicon.scores(t) for t in texts]
    assert sum(s["abusive"] > 0.5 for s in lexicon.scores_batch(texts)) == 6


@pytest.mark.parametrize(("text", "category"), [
    ("raste me mil, haddi tod dunga teri", "threat"),
    ("ek din tera gala kaat dunga", "threat"),
    ("तेरी बहन को उठवा लूँगा", "threat"),
    ("video call pe kapde utaro na", "sexual_harassment"),
    ("apni body dikha ek baar", "sexual_harassment"),
    ("कपड़े उतारो जल्दी", "sexual_harassment"),
    ("teri aukaat nahi hai mujhse baat karne ki", "insult"),
])
def test_team_written_chat_harms_are_found(text: str, category: str) -> None:
    lexicon = shipped_lexicon()
    assert category in {c for _, c in _found(text)}
    assert lexicon.scores(text)["abusive"] >= 0.5


@pytest.mark.parametrize("text", [
    "main phone utha lunga, tension mat lo", "kal record tod dunga yaar",
    "aaj nayi body spray li", "gadha bhi aaj khet me tha",
])
def test_team_written_phrases_need_their_context(text: str) -> None:
    assert shipped_lexicon().scores(text)["abusive"] < 0.5


@pytest.mark.parametrize(("text", "category"), [
    ("I will kill you", "threat"), ("im gonna kill u tonight", "threat"),
    ("I'LL RAPE YOU", "threat"), ("just go kill yourself", "threat"),
    ("take off your clothes on the video call", "sexual_harassment"),
    ("send nudes or block me", "sexual_harassment"), ("have sex with me", "sexual_harassment"),
    ("shut the fuck up", "insult"), ("fuuuck youuu", "insult"), ("you slut", "sexual_slur"),
])
def test_english_phrases_of_1_to_1_chat_are_found(text: str, category: str) -> None:
    assert category in {c for _, c in _found(text)}
    assert shipped_lexicon().scores(text)["abusive"] >= 0.5


@pytest.mark.parametrize("text", [
    "this heat will kill me", "I could kill for a samosa right now", "my mom will find you",
    "send me the notes", "take off your shoes please", "I will call you at six",
    "the nude colour lipstick", "shut up, that is so funny",
])
def test_english_words_alone_are_not_the_phrases(text: str) -> None:
    assert _found(text) == []


def test_workbench_flags_the_english_threats_the_model_missed(text_model: TextModel) -> None:
    """Under the lexicon layer, threats and sexual harassment of 1:1 chat are flagged and
    the phrase leads the explanation: without the English phrases ``text`` scored "take
    off your clothes" 0.36, under its threshold (and the second opinion "I will kill
    you" 0.26)."""
    layer = LexiconLayer(text_model)
    texts = ["I will kill you", "i am going to kill you", "take off your clothes"]
    assert all("abusive" in layer.flagged(row) for row in layer.score(texts))
    spans = layer.explain("i am going to kill you", "abusive")
    assert spans[0][0] == "going to kill you"


def test_every_entry_is_found_in_a_sentence() -> None:
    """The quick look that lets most texts pass (a term's rarest word, or the start of
    a one-word term written apart) never hides a term: each entry, inside a sentence
    with a severe term beside it (so that mild ones count), is found where it is."""
    lexicon = shipped_lexicon()
    missed = []
    for entry in lexicon.entries:
        text = f"okay so {entry.term} and then madarchod"
        start = text.index(entry.term)
        if not any(h.start == start and h.end == start + len(entry.term)
                   for h in lexicon.hits(text)):
            missed.append(entry.term)
    assert missed == []
