"""The set-based classify job stores what scoring each message on its own would store."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql

import classifiers.language
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.cases.scoring import LABEL_CATEGORY
from workbench.extensions import db
from workbench.models import ClassifierScore, Message, Report

SPAM = ("WINNER!! As a valued network customer you have been selected to receive a £900 "
        "prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.")
#: A fixed batch: everyday chat in three languages, abuse in English and Hinglish, an
#: extortion threat, spam, repeated texts, and hostile markup.
TEXTS = [
    "see you at dinner tonight", "kal milte hain yaar, bahut time ho gaya",
    "you are a stupid idiot and i hate you", "tu chutiya hai bewakoof",
    "नमस्ते दोस्त, कैसे हो", "paise bhej warna teri photo family ko bhej dunga",
    SPAM, SPAM, "you are a stupid idiot and i hate you", "ok",
    "<script>alert(1)</script> shut up you worthless moron", "",
    "thanks for the voice note, love it bro haha", "tu ch*tiya hai",
]
#: Platform hints: ours are kept, anything else is replaced by what is identified.
HINTS = {0: "hi", 1: "fr", 4: "en", 9: "zz"}


def _expected(app: Flask) -> list[tuple[dict[str, float], list[str], object, str]]:
    """Scores, flags, explanation and stored language of each text, one text at a time."""
    from classifiers.language import DEFAULT_LANGUAGES, identify, reader_language
    from classifiers.text_lexicon import LexiconLayer
    from workbench.cases.scoring import _model
    from workbench.current import settings

    with app.app_context():
        model = LexiconLayer(_model(settings()))
    out: list[tuple[dict[str, float], list[str], object, str]] = []
    for index, text in enumerate(TEXTS):
        score = model.score([text])[0]
        labels = model.flagged(score)
        explanation = ({label: [list(s) for s in model.explain_spans(text, label)]
                        for label in labels} if labels else None)
        hint = HINTS.get(index)
        language = (hint if hint in DEFAULT_LANGUAGES
                    else reader_language(identify(text, DEFAULT_LANGUAGES)))
        out.append((score, labels, explanation, language))
    return out


def test_a_batch_stores_what_each_message_scored_alone_would(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    r = platforms["calls"].post("/api/v1/messages", {"messages": [
        {"id": f"m{i}", "conversation_id": "c1", "sender_id": f"s{i % 5}",
         "recipient_id": "r", "text": text, "sent_at": "2026-11-20T10:00:00Z",
         **({"language": HINTS[i]} if i in HINTS else {})}
        for i, text in enumerate(TEXTS)]})
    assert r.status_code == 202, r.json
    run_jobs(app)
    expected = _expected(app)
    with app.app_context():
        messages = {m.platform_message_id: m for m in db.session.scalars(select(Message))}
        scores = {s.content_id: s for s in db.session.scalars(select(ClassifierScore))}
        reported = {(r.message_id, r.category) for r in db.session.scalars(select(Report))}
        for index, (score, labels, explanation, language) in enumerate(expected):
            message = messages[f"m{index}"]
            stored = scores[message.id]
            assert message.status == "processed"
            assert message.language == language, (index, TEXTS[index])
            assert stored.scores == score and stored.flagged == {"labels": labels}
            assert stored.explanation == explanation, (index, TEXTS[index])
            assert {(message.id, LABEL_CATEGORY[x]) for x in labels} <= reported
        flagged = {i for i, (_, labels, _, _) in enumerate(expected) if labels}
        assert {2, 3, 5, 6} <= flagged and 0 not in flagged  # the batch tests something
        assert len(scores) == len(TEXTS)
        # Unflagged messages have no explanation: stored as JSON null, as before.
        assert scores[messages["m0"].id].explanation is None
    run_jobs(app)  # a batch run again writes nothing twice
    with app.app_context():
        assert len(db.session.scalars(select(ClassifierScore)).all()) == len(TEXTS)


def _post_batch(platforms: dict[str, PlatformApi]) -> None:
    r = platforms["calls"].post("/api/v1/messages", {"messages": [
        {"id": f"m{i}", "conversation_id": "c1", "sender_id": f"s{i % 5}",
         "recipient_id": "r", "text": body, "sent_at": "2026-11-20T10:00:00Z",
         **({"language": HINTS[i]} if i in HINTS else {})}
        for i, body in enumerate(TEXTS)]})
    assert r.status_code == 202, r.json


def test_a_batch_identifies_each_text_once(app: Flask, platforms: dict[str, PlatformApi],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The language stored on a message and the model's question whether it can read the
    # message (texts wholly in Hindi or Hinglish it cannot) come from one reading.
    counted = classifiers.language._letters
    reads: Counter[str] = Counter()

    def letters(body: str, allowed: tuple[str, ...]) -> dict[str, int]:
        reads[body] += 1
        return counted(body, allowed)

    monkeypatch.setattr(classifiers.language, "_letters", letters)
    _post_batch(platforms)
    run_jobs(app)
    # Unhinted, so identified for the message; not plain Latin chat, so asked of the model.
    for index in (1, 3, 5):
        assert reads[TEXTS[index]] == 1, TEXTS[index]
    assert reads[TEXTS[4]] == 1  # hinted, but Devanagari: the model asks
    assert reads[SPAM] == 1  # twice in the batch
    assert set(reads.values()) == {1}


def _updates(url: str) -> tuple[int, int]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            row = conn.execute(sql("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                                    "WHERE relname = 'message'")).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def test_the_status_update_is_hot_on_postgresql(app: Flask, platforms: dict[str, PlatformApi],
                                                database_url: str) -> None:
    # A HOT update writes no index entry: no index covers status and the pages have room.
    if not database_url.startswith("postgresql"):
        pytest.skip("HOT updates are PostgreSQL's")
    updated, hot = _updates(database_url)
    _post_batch(platforms)
    run_jobs(app)
    # The job's backend sends its counters within about a second of going idle.
    deadline = time.monotonic() + 30
    now: Any = _updates(database_url)
    while now[0] < updated + len(TEXTS) and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _updates(database_url)
    assert (now[0] - updated, now[1] - hot) == (len(TEXTS), len(TEXTS))
