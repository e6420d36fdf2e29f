"""The learning share of claims: the least certain free case, unless a deadline presses."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from classifiers.registry import ModelRegistry
from workbench.cases import triage
from workbench.cases.decisions_export import decision_labels
from workbench.cases.learning import LearningPick, learning_pick, model_threshold
from workbench.extensions import db
from workbench.models import (
    Account,
    AuditEvent,
    Case,
    ClassifierScore,
    Conversation,
    Message,
    Person,
    Platform,
    Report,
    utcnow,
)
from workbench.platforms import register_platform
from workbench.settings import SettingsError, load_settings
from workbench.staff import create_moderator

THRESHOLD = 0.5
LOCK = timedelta(minutes=10)
QUEUES = ["general", "hindi", "urgent-safety"]
ALWAYS = learning_pick(1.0, THRESHOLD)


@dataclass
class Desk:
    session: Any
    platform_id: int
    moderator_id: int
    conversation_id: int = 0
    made: int = 0

    def case(self, *, score: float | None, priority: float = 5.0, due_in_hours: float = 12,
             queue: str = "general", category: str = "harassment", live: bool = False,
             text: str = "tu bahut bura hai") -> int:
        """A free case with one reported message, scored ``score`` for abusive."""
        self.made += 1
        now = utcnow()
        person = Person()
        self.session.add(person)
        self.session.flush()
        account = Account(platform_id=self.platform_id, platform_user_id=f"u{self.made}",
                          person_id=person.id)
        self.session.add(account)
        self.session.flush()
        message = Message(platform_id=self.platform_id, platform_message_id=f"m{self.made}",
                          conversation_id=self.conversation_id,
                          sender_account_id=account.id, text=f"{text} {self.made}",
                          sent_at=now, received_at=now, status="processed")
        case = Case(person_id=person.id, queue=queue, priority=priority, live=live,
                    due_at=now + timedelta(hours=due_in_hours), primary_category=category)
        self.session.add_all([message, case])
        self.session.flush()
        self.session.add(Report(platform_id=self.platform_id,
                                platform_report_id=f"r{self.made}",
                                reported_account_id=account.id, category=category,
                                message_id=message.id, created_at=now, case_id=case.id,
                                status="cased"))
        if score is not None:
            self.session.add(ClassifierScore(
                content_type="message", content_id=message.id, model_name="text",
                model_version="v1", scores={"abusive": score, "hate": 0.01},
                flagged={"labels": []}))
        self.session.flush()
        return case.id

    def claim(self, learning: LearningPick | None = ALWAYS) -> int | None:
        return triage.claim_next(self.session, self.moderator_id, "senior", queues=QUEUES,
                                 claim_lock=LOCK, learning=learning)


@pytest.fixture
def desk(app: Flask) -> Iterator[Desk]:
    with app.app_context():
        register_platform(db.session, app.config["SECRET_KEY"], "calls")
        platform_id = db.session.scalar(select(Platform.id))
        assert platform_id is not None
        moderator = create_moderator(db.session, "learner@example.org", "pw-0123456789ab",
                                     "senior")
        conversation = Conversation(platform_id=platform_id, platform_conversation_id="c1")
        db.session.add(conversation)
        db.session.flush()
        yield Desk(db.session, platform_id, moderator.id, conversation.id)
        db.session.rollback()


def test_at_full_share_the_next_claim_is_the_most_uncertain_eligible_case(desk: Desk) -> None:
    sure = desk.case(score=0.98, priority=9)
    unsure = desk.case(score=0.47, priority=2, queue="hindi")
    desk.case(score=0.05, priority=6)
    desk.case(score=0.5, priority=9, queue="urgent-safety")  # never for learning
    desk.case(score=0.5, priority=9, category="self_harm")  # never for learning
    desk.case(score=None, priority=9)  # no score: nothing to learn from
    assert desk.claim() == unsure
    desk.session.commit()  # the claim's event joins the audit chain at commit
    events = desk.session.scalars(select(AuditEvent.verb).where(
        AuditEvent.object_id == str(unsure))).all()
    assert "case.claimed_for_learning" in events
    # The next learning claim takes the next least certain one (0.05 and 0.98: 0.45 vs 0.48).
    assert desk.claim() != sure


def test_without_learning_the_order_is_unchanged(desk: Desk) -> None:
    sure = desk.case(score=0.98, priority=9)
    desk.case(score=0.47, priority=2)
    assert desk.claim(learning=None) == sure
    assert learning_pick(0.0, THRESHOLD) is None
    assert learning_pick(1.0, None) is None
    rng = random.Random(3)
    picks = [learning_pick(0.1, THRESHOLD, rng) for _ in range(2000)]
    assert 150 < sum(pick is not None for pick in picks) < 250


@pytest.mark.parametrize("due_in_hours", [-0.1, 0.5])
def test_an_overdue_or_nearly_due_case_wins_over_learning(desk: Desk,
                                                          due_in_hours: float) -> None:
    desk.case(score=0.5, priority=4)
    pressing = desk.case(score=0.99, priority=6, due_in_hours=due_in_hours)
    assert desk.claim() == pressing


def test_a_live_case_wins_over_learning(desk: Desk) -> None:
    desk.case(score=0.5, priority=8)
    live = desk.case(score=0.99, priority=1, live=True)
    assert desk.claim() == live


def test_a_decided_learning_case_is_a_label_retraining_reads(desk: Desk) -> None:
    unsure = desk.case(score=0.52, text="paise bhej warna photo leak kar dunga",
                       category="extortion")
    dismissed = desk.case(score=0.45, text="kal cricket dekhne chalein")
    for case_id, decision, category in ((unsure, "violation", "extortion"),
                                        (dismissed, "dismissed", None)):
        assert desk.claim() == case_id
        case = desk.session.get_one(Case, case_id)
        case.decision, case.decided_category, case.decided_at = decision, category, utcnow()
        case.status = "actioned" if decision == "violation" else "dismissed"
    desk.session.flush()
    labels = dict(zip(*(decision_labels(desk.session)[c] for c in ("text", "label")),
                      strict=True))
    assert labels == {"paise bhej warna photo leak kar dunga 1": "abusive",
                      "kal cricket dekhne chalein 2": "none"}


def test_the_threshold_is_the_active_text_models(tmp_path) -> None:
    expected = ModelRegistry(tmp_path).load("text").thresholds["abusive"]
    assert model_threshold(tmp_path, "text") == pytest.approx(expected)
    assert model_threshold(tmp_path, "no-such-model") is None


def test_the_share_is_a_number_from_0_to_1() -> None:
    assert load_settings(environ={"WORKBENCH_LEARNING_SHARE": "0"}).learning_share == 0.0
    assert load_settings(environ={}).learning_share == 0.1
    with pytest.raises(SettingsError, match="LEARNING_SHARE"):
        load_settings(environ={"WORKBENCH_LEARNING_SHARE": "10"})
