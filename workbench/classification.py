"""Scoring what arrives: messages and recordings by the classifiers, signals by fraud risk.

This is the seam between the queues and ``classifiers/``: it loads rows by id, hands
plain texts or audio to the models, and writes ``ClassifierScore`` rows back.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from workbench.enums import ContentStatus
from workbench.models import FraudSignal, Message, Recording

log = logging.getLogger(__name__)


def classify_messages(session: Session, message_ids: list[int]) -> dict[str, object]:
    """Score a batch of messages (models arrive with the classifier work)."""
    session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.status == ContentStatus.PENDING.value)
        .values(status=ContentStatus.PROCESSED.value)
    )
    return {"messages": len(message_ids)}


def classify_recordings(session: Session, recording_ids: list[int]) -> dict[str, object]:
    """Transcribe and score recordings (the audio pipeline hooks in here)."""
    session.execute(
        update(Recording)
        .where(Recording.id.in_(recording_ids), Recording.status == ContentStatus.PENDING.value)
        .values(status=ContentStatus.PROCESSED.value)
    )
    return {"recordings": len(recording_ids)}


def score_signals(session: Session, signal_ids: list[int]) -> dict[str, object]:
    """Mark signals seen (the fraud-risk model hooks in here)."""
    session.execute(
        update(FraudSignal).where(FraudSignal.id.in_(signal_ids)).values(status="cased")
    )
    return {"signals": len(signal_ids)}
