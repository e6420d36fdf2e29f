"""A small world for the legal tests: a person with accounts on two platforms who harassed
another user, the reports, the case, the action, a recording, and the legal team.

Built through the same functions intake and the console use, inside the caller's app
context; ``build_world`` commits and returns the ids.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.app import TEST_SECRET_KEY
from workbench.api.schemas import AccountIn, MessageIn, ReportIn
from workbench.api.store import store_messages, store_reports, upsert_accounts
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.current import settings
from workbench.enums import Category
from workbench.models import (
    Account,
    CaseNote,
    ClassifierScore,
    Message,
    Platform,
    Recording,
    RecordingSegment,
    Report,
    utcnow,
)
from workbench.platforms import register_platform
from workbench.staff import create_moderator
from workbench.storage import blob_store

AUDIO = Path(__file__).resolve().parents[2] / "workbench" / "demo" / "data" / "recordings"
PASSWORD = "password-0123456789"


class Subject(TypedDict, total=False):
    """What a hold or a legal request is about: ``place_hold`` and ``LegalRequestIn`` take
    these as keyword arguments (exactly one is valid; the tests pass others too)."""

    person_id: int
    case_id: int
    account_id: int


@dataclass(frozen=True)
class World:
    legal_id: int
    senior_id: int
    moderator_id: int
    platform_ids: dict[str, int]
    person_id: int          # the reported person (accounts on "calls" and "web")
    accounts: dict[str, int]
    victim_id: int          # the reporting user's person
    victim_account: int
    bystander_account: int  # someone in the room, not involved
    case_id: int
    report_id: int
    reported_message: int
    messages: list[int]     # the 1:1 conversation between person and victim, in order
    room_messages: list[int]
    recording_id: int
    recording_sha: str
    action_id: int


def _platform(session: Session, slug: str) -> int:
    register_platform(session, TEST_SECRET_KEY, slug, secret=f"secret-{slug}-0123456789",
                      webhook_url=f"http://127.0.0.1:9/{slug}")
    return session.scalars(select(Platform.id).where(Platform.slug == slug)).one()


def _people(session: Session, calls: int, web: int) -> dict[str, int]:
    upsert_accounts(session, calls, [
        AccountIn(id="u-harasser", username="Harasser", phone_hash="a" * 64,
                  device_ids=["dev-1"], gender="m", birth_year=1990),
        AccountIn(id="u-victim", username="Victim", phone_hash="b" * 64),
        AccountIn(id="u-bystander", username="Bystander", phone_hash="c" * 64)])
    upsert_accounts(session, web, [AccountIn(id="w-harasser", username="Harasser on web",
                                             phone_hash="a" * 64)])
    rows = session.execute(select(Platform.slug, Account.platform_user_id, Account.id)
                           .join(Platform, Platform.id == Account.platform_id)).all()
    return {f"{slug}:{uid}": aid for slug, uid, aid in rows}


def _conversation(session: Session, calls: int) -> tuple[list[int], list[int]]:
    start = utcnow() - timedelta(hours=2)
    texts = ["hi", "hello", "how are you", "you are a pathetic loser and everybody hates you",
             "please stop", "=HYPERLINK(\"http://x\")", "bye"]
    items = [MessageIn(id=f"m{i}", conversation_id="c1",
                       sender_id="u-harasser" if i % 2 else "u-victim",
                       recipient_id="u-victim" if i % 2 else "u-harasser", text=t,
                       sent_at=start + timedelta(minutes=i))
             for i, t in enumerate(texts)]
    room = [MessageIn(id=f"r{i}", conversation_id="room-1", room_id="room-1",
                      sender_id="u-bystander", text=f"room chatter {i}",
                      sent_at=start + timedelta(minutes=i)) for i in range(3)]
    store_messages(session, calls, items + room)
    ids = dict(session.execute(select(Message.platform_message_id, Message.id)).all())
    return [ids[f"m{i}"] for i in range(len(texts))], [ids[f"r{i}"] for i in range(3)]


def _recording(session: Session, calls: int, owner: int) -> tuple[int, str]:
    data = (AUDIO / "insult.wav").read_bytes()
    sha, size = blob_store(settings()).put_stream(io.BytesIO(data))
    now = utcnow()
    recording = Recording(platform_id=calls, platform_recording_id="rec-1", owner_account_id=owner,
                          kind="call", blob_sha256=sha, filename="insult.wav", format="wav",
                          size_bytes=size, duration_s=3.2, transcript="you are a pathetic loser",
                          words={"words": [["you", 0.1, 0.3]]}, status="processed",
                          recorded_at=now - timedelta(hours=1), received_at=now)
    session.add(recording)
    session.flush()
    session.add(RecordingSegment(recording_id=recording.id, start_s=0.0, end_s=3.2,
                                 transcript="you are a pathetic loser",
                                 scores={"abusive": 0.97}))
    session.add(ClassifierScore(content_type="recording", content_id=recording.id,
                                model_name="text", model_version="2026.1",
                                scores={"abusive": 0.97}, flagged={"labels": ["abusive"]}))
    return recording.id, sha


def build_world(session: Session) -> World:
    """The world above, committed (call inside an app context)."""
    from actions.enforcement import ActionRequest, apply_action
    from workbench.enums import ActionType

    legal = create_moderator(session, "legal@example.org", PASSWORD, "legal")
    senior = create_moderator(session, "senior@example.org", PASSWORD, "senior")
    moderator = create_moderator(session, "mod@example.org", PASSWORD, "moderator")
    calls, web = _platform(session, "calls"), _platform(session, "web")
    accounts = _people(session, calls, web)
    messages, room = _conversation(session, calls)
    session.add(ClassifierScore(content_type="message", content_id=messages[3],
                                model_name="text", model_version="2026.1",
                                scores={"abusive": 0.99}, flagged={"labels": ["abusive"]}))
    store_reports(session, calls, [ReportIn(
        id="rep-1", reporter_id="u-victim", reported_user_id="u-harasser",
        category=Category.HARASSMENT, message_id="m3", description="he keeps insulting me",
        created_at=utcnow() - timedelta(minutes=30))])
    report = session.scalars(select(Report)).one()
    file_reports(session, [report.id], case_policy(settings()))
    session.flush()
    person_id = session.get_one(Account, accounts["calls:u-harasser"]).person_id
    recording_id, sha = _recording(session, calls, accounts["calls:u-harasser"])
    session.add(CaseNote(case_id=report.case_id, moderator_id=moderator.id,
                         text="clear harassment, see message m3"))
    action = apply_action(session, ActionRequest(
        type=ActionType.SUSPEND, person_id=person_id, policy_reason="harassment",
        decided_by_id=senior.id, case_id=report.case_id, duration=timedelta(days=7),
        facts="repeated insults"))
    session.commit()
    victim_account = accounts["calls:u-victim"]
    return World(
        legal_id=legal.id, senior_id=senior.id, moderator_id=moderator.id,
        platform_ids={"calls": calls, "web": web}, person_id=person_id, accounts=accounts,
        victim_id=session.get_one(Account, victim_account).person_id,
        victim_account=victim_account, bystander_account=accounts["calls:u-bystander"],
        case_id=report.case_id or 0, report_id=report.id, reported_message=messages[3],
        messages=messages, room_messages=room, recording_id=recording_id, recording_sha=sha,
        action_id=action.id)
