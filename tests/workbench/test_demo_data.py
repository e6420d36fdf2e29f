"""The demo looks like HARMONI: its chat, calls, deadlines, fraud signals and appeals."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.language import reader_languages, weighted_language
from workbench.demo.chat import DEMO_DATA, TEMPLATES
from workbench.demo.seed import DemoSize, seed_demo_data
from workbench.extensions import db
from workbench.models import (
    Action,
    Appeal,
    BankEntry,
    Call,
    CallParticipant,
    Case,
    Conversation,
    FraudSignal,
    HashBank,
    Image,
    ImageMatch,
    Message,
    Report,
    utcnow,
)
from workbench.settings import SETTINGS_KEY

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
SIZE = DemoSize(people=300, messages=4000, reports=200, signals=120)


@pytest.fixture
def demo(app: Flask) -> Iterator[Session]:
    """A small seeded demo whose pending user reports are filed into cases, as the
    worker's report job files them."""
    from workbench.cases.filing import file_reports
    from workbench.cases.policy import case_policy

    with app.app_context():
        settings = app.extensions[SETTINGS_KEY]
        seed_demo_data(db.session, settings, SIZE, seed=11)
        pending = list(db.session.scalars(
            select(Report.id).where(Report.status == "pending").order_by(Report.id)))
        file_reports(db.session, pending, case_policy(settings, db.session))
        db.session.commit()
        yield db.session


def test_the_templates_are_many_in_every_script_with_their_provenance() -> None:
    with TEMPLATES.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len({r["text"] for r in rows}) >= 150
    kinds = {(r["kind"], r["language"]) for r in rows}
    for kind in ("greeting", "flirting", "coins", "game", "room", "abuse", "threat",
                 "extortion", "scam"):
        for language in ("en", "hi", "hi-Latn", "mixed"):
            assert (kind, language) in kinds, (kind, language)
    assert "no third-party text" in (DEMO_DATA / "README.md").read_text(encoding="utf-8")


def test_the_chat_is_hindi_hinglish_and_english_and_not_tweets(demo: Session) -> None:
    texts = list(demo.scalars(select(Message.text)))
    assert len(texts) == SIZE.messages
    for marker in ("@USER", "RT @", "&amp;", "&lt;", "&#"):
        assert not [t for t in texts if marker in t], marker
    devanagari = sum(bool(DEVANAGARI.search(t)) for t in texts)
    assert 0.1 < devanagari / len(texts) < 0.5
    # The languages as the workbench's own detector reads them, not as the seed says.
    found = Counter(reader_languages(texts))
    for language in ("en", "hi", "hi-Latn"):
        assert found[language] / len(texts) > 0.12, found
    assert len(set(texts)) > len(texts) / 4  # filled slots make lines vary
    # The extortion the issue names is in the chat, in all three scripts.
    assert any("warna photo leak" in t for t in texts)
    assert any("वरना" in t for t in texts)
    assert any(re.search(r"rupees on UPI or I post your video", t) for t in texts)


def test_rooms_have_many_voices_and_no_recipient(demo: Session) -> None:
    rooms = demo.execute(
        select(Message.room_id, func.count(func.distinct(Message.sender_account_id)))
        .where(Message.room_id.is_not(None), Message.recipient_account_id.is_(None))
        .group_by(Message.room_id)).all()
    assert len(rooms) >= 5 and all(voices >= 3 for _, voices in rooms)


def test_two_calls_are_in_progress_each_with_a_live_report(demo: Session) -> None:
    live = list(demo.scalars(select(Call).where(Call.ended_at.is_(None))))
    assert len(live) == 2
    for call in live:
        assert [p.left_at for p in call.participants] == [None, None]
        report = demo.scalars(select(Report).where(Report.call_id == call.id,
                                                   Report.source == "user")).one()
        assert report.call_in_progress and call.started_at is not None
        assert report.created_at >= call.started_at
        case = demo.get_one(Case, report.case_id)
        assert case.live and case.queue == "live"
    ended = list(demo.scalars(select(Call).where(Call.ended_at.is_not(None))))
    assert len(ended) >= 6
    for call in ended:
        assert call.started_at is not None and call.ended_at is not None
        assert call.started_at < call.ended_at
        for p in call.participants:
            assert p.joined_at is not None and p.left_at is not None
            assert call.started_at <= p.joined_at < p.left_at <= call.ended_at
    # Chat beside the calls, between the call's two people, during the call.
    for call in live + ended:
        chat = demo.execute(select(Message.sender_account_id, Message.recipient_account_id,
                                   Message.sent_at).join(Conversation).where(
            Conversation.platform_conversation_id == call.platform_call_id + "-chat")).all()
        people = {p.account_id for p in call.participants}
        assert len(chat) >= 2
        for sender, recipient, sent in chat:
            assert {sender, recipient} == people
            assert call.started_at is not None
            assert call.started_at <= sent <= (call.ended_at or utcnow())
    assert demo.scalar(select(func.count()).select_from(CallParticipant)) == 2 * (
        len(live) + len(ended))


def test_some_cases_are_overdue_and_most_are_not(demo: Session) -> None:
    open_cases = list(demo.scalars(select(Case).where(Case.status == "open")))
    assert len(open_cases) > 50
    overdue = sum(c.due_at < utcnow() for c in open_cases)
    assert 0.03 < overdue / len(open_cases) < 0.35, overdue
    # Reports never come from the future, nor about lines written after them.
    later = demo.scalar(select(func.count()).select_from(Report).join(
        Message, Message.id == Report.message_id).where(Message.sent_at > Report.created_at))
    assert later == 0
    latest = demo.scalar(select(func.max(Report.created_at)))
    assert latest is not None and latest <= utcnow()


def test_hindi_queue_cases_are_about_hindi_or_hinglish_content(demo: Session) -> None:
    hindi = list(demo.scalars(select(Case.id).where(Case.queue == "hindi")))
    assert len(hindi) >= 10
    with_content = 0
    for case_id in hindi:
        texts = list(demo.scalars(select(Message.text).join(
            Report, Report.message_id == Message.id).where(Report.case_id == case_id)))
        language = weighted_language(zip(reader_languages(texts), map(len, texts),
                                         strict=True))
        if language is None:
            continue  # an account report, or undetermined: the person's own language decides
        assert language in ("hi", "hi-Latn"), texts
        with_content += 1
    assert with_content >= len(hindi) / 2
    # And the other way round: content mostly in English does not land there.
    general = list(demo.scalars(select(Case.id).where(Case.queue == "general")))
    assert general


def test_fraud_signals_carry_payment_details_the_fraud_model_reads(demo: Session) -> None:
    from workbench.cases.risk import account_features

    signals = list(demo.scalars(select(FraudSignal)))
    assert len(signals) == SIZE.signals
    payments = [s.details for s in signals if s.details and "amount_inr" in s.details]
    assert len(payments) > len(signals) / 3
    assert {d.get("payment_method") for d in payments} >= {"upi", "card"}
    assert all(isinstance(d["amount_inr"], int) and d["amount_inr"] > 0 for d in payments)
    assert any(s.details and "card_country" in s.details for s in signals)
    assert any(s.details and s.details.get("device_accounts", 0) > 1 for s in signals)
    features = account_features(demo, sorted({s.account_id for s in signals}))
    fed: dict[str, Any] = {name: sum(getattr(f, name) for f in features.values())
                           for name in ("chargebacks_90d", "gifts_sent_24h",
                                        "payment_failures_30d", "otp_requests_24h",
                                        "coins_spent_24h")}
    assert all(v > 0 for v in fed.values()), fed


def test_a_few_actions_are_appealed(demo: Session) -> None:
    appeals = list(demo.scalars(select(Appeal)))
    assert 1 <= len(appeals) <= 8
    for appeal in appeals:
        action = demo.get_one(Action, appeal.action_id)
        assert appeal.status == "open" and action.decided_by_id is not None
        assert appeal.created_at >= action.created_at


@pytest.mark.slow
def test_the_worker_turns_the_seeded_demo_into_cases(app: Flask) -> None:
    """The whole path ``make demo`` takes after seeding: every outbox batch through the
    worker (reports, signals, appeals, messages scored by the shipped text model)."""
    from queues.outbox import enqueue_batches
    from tests.support.jobs import run_jobs
    from workbench.models import OutboxBatch

    with app.app_context():
        seed_demo_data(db.session, app.extensions[SETTINGS_KEY],
                       DemoSize(people=80, messages=800, reports=60, signals=40), seed=5)
        batches = list(db.session.scalars(select(OutboxBatch.id).order_by(OutboxBatch.id)))
        assert enqueue_batches(batches) == len(batches)
    run_jobs(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxBatch).where(
            OutboxBatch.processed_at.is_(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.status != "processed")) == 0
        queues = Counter(db.session.scalars(select(Case.queue).where(Case.status == "open")))
        assert queues["live"] >= 2 and queues["hindi"] > 0 and queues["general"] > 0, queues
        # Every image scanned; the chat image that copies the banked picture matched it,
        # the bank's rule removed it, and the match opened a case in the bank's category.
        [match] = db.session.scalars(select(ImageMatch)).all()
        image = db.session.get_one(Image, match.image_id)
        assert image.kind == "chat_image" and match.distance <= 31
        assert db.session.execute(select(Image.id, Image.status).where(
            Image.status != "processed")).all() == [(image.id, "removed")]
        report = db.session.get_one(Report, match.report_id)
        assert report.source == "hash_match" and report.category == "ncii"
        assert db.session.get_one(Case, report.case_id).primary_category == "ncii"
        assert db.session.scalar(select(func.count()).select_from(Report).where(
            Report.status == "pending")) == 0


def test_images_are_profile_photos_chat_images_and_call_frames(demo: Session) -> None:
    from workbench.current import settings
    from workbench.storage import blob_store

    kinds = Counter(demo.scalars(select(Image.kind)))
    assert kinds == {"profile_photo": 12, "chat_image": 8, "video_frame": 4}
    store = blob_store(settings())
    for image in demo.scalars(select(Image)):
        assert image.display_sha256 is not None
        assert store.exists(image.blob_sha256) and store.exists(image.display_sha256)
        if image.kind == "chat_image":
            assert image.platform_conversation_id
        if image.kind == "video_frame":
            assert image.call_id is not None
    # Only the stand-in flagged frame is scanned already; the worker scans the rest.
    assert Counter(demo.scalars(select(Image.status))) == {"pending": 23, "processed": 1}
    [bank] = demo.scalars(select(HashBank)).all()
    assert (bank.name, bank.category) == ("demo-ncii", "ncii")
    assert demo.scalar(select(func.count()).select_from(BankEntry)) == 1


def test_a_flagged_frame_of_a_call_in_progress_is_in_the_live_lane(demo: Session) -> None:
    frame = demo.scalars(select(Image).where(Image.call_in_progress.is_(True))).one()
    call = demo.get_one(Call, frame.call_id)
    assert call.ended_at is None and frame.nudity_score is not None
    assert frame.nudity_score >= 0.6
    report = demo.scalars(select(Report).where(Report.model_name == "nudenet")).one()
    assert report.content_ref is not None
    assert (report.category, report.call_in_progress, report.content_ref["image_id"]) == (
        "sexual_content", True, frame.platform_image_id)
    case = demo.get_one(Case, report.case_id)
    assert case.live and case.queue == "live"
