"""Reported English messages get the review model's second opinion (workbench.cases.review)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.console_forms import sign_in
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.cases.filing import CaseFacts
from workbench.cases.view import load_case
from workbench.enums import BatchKind
from workbench.extensions import db
from workbench.models import Case, ClassifierScore, Message, OutboxBatch
from workbench.settings import SETTINGS_KEY
from workbench.staff import create_moderator

NOW = "2026-11-20T10:00:00Z"
ENGLISH = "you are a pathetic loser and everyone here laughs at you"
HINGLISH = "tu bahut bada gadha hai, kal se message mat karna"


@pytest.fixture
def reviewing(app: Flask) -> Flask:
    """The app with the shipped review model switched on (the suite's default is off)."""
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           review_text_model="text-review")
    return app


def _send_and_report(api: PlatformApi, texts: dict[str, str], report: bool = True) -> None:
    assert api.post("/api/v1/messages", {"messages": [
        {"id": mid, "conversation_id": "c1", "sender_id": f"sender-{mid}",
         "recipient_id": "r", "text": text, "sent_at": NOW}
        for mid, text in texts.items()]}).status_code == 202
    if report:
        assert api.post("/api/v1/reports", {"reports": [
            {"id": f"r-{mid}", "reporter_id": "rep", "reported_user_id": f"sender-{mid}",
             "category": "harassment", "message_id": mid, "created_at": NOW}
            for mid in texts]}).status_code == 202


def _scores(app: Flask) -> dict[str, list[str]]:
    """Each message's scoring models, oldest first, by platform message id."""
    with app.app_context():
        ids = {m.id: m.platform_message_id for m in db.session.scalars(select(Message))}
        out: dict[str, list[str]] = {}
        for score in db.session.scalars(select(ClassifierScore).order_by(ClassifierScore.id)):
            out.setdefault(ids[score.content_id], []).append(score.model_name)
        return out


def test_a_reported_english_message_is_scored_again_and_its_case_shows_it(
    reviewing: Flask, platforms: dict[str, PlatformApi]
) -> None:
    _send_and_report(platforms["calls"], {"m-en": ENGLISH, "m-hi": HINGLISH})
    _send_and_report(platforms["calls"], {"m-unreported": "see you at dinner"}, report=False)
    run_jobs(reviewing)
    # English and reported: a second opinion; Hinglish (the review model reads English
    # only) and unreported messages keep the first.
    assert _scores(reviewing) == {"m-en": ["text", "text-review"], "m-hi": ["text"],
                                  "m-unreported": ["text"]}
    with reviewing.app_context():
        batches = db.session.scalars(select(OutboxBatch)).all()
        assert all(b.processed_at for b in batches)
        assert sum(b.kind == BatchKind.REVIEW.value for b in batches) == 1
        english = db.session.scalars(select(Message).where(
            Message.platform_message_id == "m-en")).one()
        case = db.session.scalars(select(Case).where(
            Case.reports.any(message_id=english.id))).one()
        view = load_case(db.session, case.id)
        assert view is not None
        shown = [item.score for item in view.items if item.message.id == english.id]
        assert shown and shown[0] is not None and shown[0].model_name == "text-review"
        assert shown[0].scores["abusive"] >= shown[0].scores["spam_scam"]
        case_id = case.id
        # The case's priority reads each label's highest score over both opinions.
        both = {score.model_name: score.scores for score in db.session.scalars(
            select(ClassifierScore).where(ClassifierScore.content_id == english.id))}
        facts = CaseFacts.gather(db.session, [case_id]).scores[("message", english.id)]
        assert facts == {label: max(both["text"][label], both["text-review"][label])
                         for label in both["text"]}
        create_moderator(db.session, "mod@example.org", "a-long-password-123", "moderator")
        db.session.commit()
    # The case page shows both opinions, the review model's first.
    client = reviewing.test_client()
    sign_in(client, "mod@example.org", "a-long-password-123")
    page = client.get(f"/admin/case/{case_id}").get_data(as_text=True)
    second = page.index("Second opinion by text-review")
    assert second < page.index("First scores, by text ")


def test_a_report_filed_before_its_message_is_scored_waits_for_the_first_scores(
    reviewing: Flask, platforms: dict[str, PlatformApi]
) -> None:
    from queues.jobs import process_batch

    _send_and_report(platforms["calls"], {"m-en": ENGLISH})
    with reviewing.app_context():
        reports = db.session.scalars(select(OutboxBatch.id).where(
            OutboxBatch.kind == BatchKind.REPORTS.value)).one()
        assert process_batch(reports)["review_batch"]
        review = db.session.scalars(select(OutboxBatch).where(
            OutboxBatch.kind == BatchKind.REVIEW.value)).one()
        assert process_batch(review.id)["waiting"] is True
        db.session.refresh(review)
        assert review.processed_at is None and review.attempts == 1
    assert _scores(reviewing) == {}
    run_jobs(reviewing)  # the messages' batch first, then the review's own job again
    assert _scores(reviewing) == {"m-en": ["text", "text-review"]}


def test_without_a_review_model_no_review_batch_is_written(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    _send_and_report(platforms["calls"], {"m-en": ENGLISH})
    run_jobs(app)
    assert _scores(app) == {"m-en": ["text"]}
    with app.app_context():
        kinds = set(db.session.scalars(select(OutboxBatch.kind)))
    assert kinds == {BatchKind.MESSAGES.value, BatchKind.REPORTS.value}


def test_a_missing_review_model_leaves_the_first_scores_and_finishes_the_batch(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           review_text_model="no-such-model")
    _send_and_report(platforms["calls"], {"m-en": ENGLISH})
    run_jobs(app)
    assert _scores(app) == {"m-en": ["text"]}
    with app.app_context():
        assert all(b.processed_at for b in db.session.scalars(select(OutboxBatch)))


def test_a_second_opinion_that_flags_nothing_keeps_the_first_highlights() -> None:
    from workbench.cases.view import ContentItem

    first = ClassifierScore(model_name="text", explanation={"abusive": [[24, 32, 0.4]]})
    second = ClassifierScore(model_name="text-review", explanation=None)
    item = ContentItem(Message(), [], [], second, [first])
    assert item.explained is first
    flagged = ClassifierScore(model_name="text-review", explanation={"abusive": [[0, 3, 0.2]]})
    assert ContentItem(Message(), [], [], flagged, [first]).explained is flagged
    assert ContentItem(Message(), [], [], None).explained is None
