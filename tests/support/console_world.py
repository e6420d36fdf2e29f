"""A small, realistic world for console tests: platforms with real webhook servers, staff,
a reported person with accounts on two platforms, a conversation, a recording, a live call.

Built through the same domain code the intake jobs use (``file_reports``), not by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from tests.support.app import TEST_SECRET_KEY
from tests.support.platform_server import PlatformServer
from tests.support.present import present
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.current import settings
from workbench.enums import ContentStatus, ReportSource
from workbench.extensions import db
from workbench.models import (
    Account,
    Call,
    CallParticipant,
    Case,
    ClassifierScore,
    Conversation,
    Message,
    Moderator,
    Person,
    Platform,
    Recording,
    RecordingSegment,
    Report,
    utcnow,
)
from workbench.platforms import register_platform
from workbench.staff import hash_password, needs_rehash
from workbench.storage import blob_store

PASSWORD = "correct-horse-battery"
STAFF = {
    "moderator": "mod@example.org",
    "moderator2": "mod2@example.org",
    "senior": "senior@example.org",
    "senior2": "senior2@example.org",
    "legal": "legal@example.org",
    "admin": "admin@example.org",
}
RECORDING = Path(__file__).parents[2] / "workbench/demo/data/recordings/threat.wav"

#: Text that would run, restyle or reorder the page if it were not escaped and isolated.
HOSTILE = {
    "script": '<script>window.__pwned = 1</script>',
    "img": '<img src=x onerror="window.__pwned = 2">',
    "html": '<b style="font-size:90px">BIG</b></td></tr></table><h1>fake</h1>',
    "bidi": "\u202egnp.exe\u202c evil \u2066reversed\u2069",
}


@dataclass
class World:
    servers: dict[str, PlatformServer]
    platform_ids: dict[str, int]
    staff: dict[str, int]
    person_id: int
    case_id: int
    live_case_id: int
    message_id: int
    recording_id: int
    call_id: int
    other_case_ids: list[int] = field(default_factory=list)


def _account(platform_id: int, person: Person, uid: str, username: str,
             phone: str | None = None) -> Account:
    account = Account(platform_id=platform_id, platform_user_id=uid, person=person,
                      username=username, phone_hash=phone, languages=["en"])
    db.session.add(account)
    return account


_hashes: dict[str, str] = {}


def _password_hash() -> str:
    """PASSWORD's hash, made once per process and again only if the cost set now differs.

    Each hash costs about 50 ms of CPU and a world has six users, built before most
    console tests; sharing one hash (and its salt) changes nothing a test looks at. How
    ``create_moderator`` checks and hashes a password is tested on its own.
    """
    made = _hashes.get(PASSWORD)
    if made is None or needs_rehash(made):
        made = _hashes[PASSWORD] = hash_password(PASSWORD)
    return made


def build_world(app: Flask, hostile: bool = False) -> World:
    """Everything a moderator's path from login to a decision needs."""
    servers: dict[str, PlatformServer] = {}
    with app.app_context():
        ids = {}
        for slug in ("calls", "web", "meet"):
            server = PlatformServer(slug, f"secret-{slug}-0123456789")
            server.start()
            servers[slug] = server
            register_platform(db.session, TEST_SECRET_KEY, slug, secret=server.secret,
                              webhook_url=server.url)
        ids = dict(db.session.execute(select(Platform.slug, Platform.id)).all())
        users = {key: Moderator(email=email, password_hash=_password_hash(),
                                role=key.rstrip("2"), display_name=key.capitalize(),
                                languages=["en", "hi"], settings={})
                 for key, email in STAFF.items()}
        db.session.add_all(users.values())
        db.session.flush()
        staff = {key: user.id for key, user in users.items()}
        now = utcnow()
        name = HOSTILE["img"] if hostile else "rowdy_raj"
        person = Person()
        db.session.add(person)
        bad = _account(ids["calls"], person, "c-100", name, "a" * 64)
        _account(ids["calls"], person, "c-101", "raj_alt", "a" * 64)
        _account(ids["web"], person, "w-100", "raj.web", "a" * 64)
        victim_person = Person()
        db.session.add(victim_person)
        victim = _account(ids["calls"], victim_person, "c-200", "meera")
        db.session.flush()
        conversation = Conversation(platform_id=ids["calls"], platform_conversation_id="conv-1")
        db.session.add(conversation)
        db.session.flush()
        lines = [(victim, "hi, how was your day?"), (bad, "fine"), (victim, "what do you do?"),
                 (bad, HOSTILE["script"] + " you are a worthless idiot" if hostile
                  else "you are a worthless idiot and I will find you"),
                 (victim, "please stop"), (bad, "no")]
        messages = []
        for i, (sender, text) in enumerate(lines):
            m = Message(platform_id=ids["calls"], platform_message_id=f"m-{i}",
                        conversation_id=conversation.id, sender_account_id=sender.id,
                        recipient_account_id=(victim if sender is bad else bad).id, text=text,
                        sent_at=now - timedelta(minutes=30 - i), received_at=now,
                        status=ContentStatus.PROCESSED.value)
            db.session.add(m)
            messages.append(m)
        db.session.flush()
        reported = messages[3]
        start = reported.text.index("worthless")
        db.session.add(ClassifierScore(
            content_type="message", content_id=reported.id, model_name="text",
            model_version="test-1", scores={"abusive": 0.97, "hate": 0.08, "spam_scam": 0.01},
            flagged={"labels": ["abusive"]},
            explanation={"abusive": [[start, start + len("worthless"), 0.4],
                                     [start + 10, start + 15, 0.3]]}))
        store = blob_store(settings())
        with RECORDING.open("rb") as f:
            sha, size = store.put_stream(f)
        call = Call(platform_id=ids["calls"], platform_call_id="call-9",
                    started_at=now - timedelta(minutes=5))
        db.session.add(call)
        db.session.flush()
        db.session.add_all([
            CallParticipant(call_id=call.id, account_id=bad.id,
                            joined_at=now - timedelta(minutes=5)),
            CallParticipant(call_id=call.id, account_id=victim.id,
                            joined_at=now - timedelta(minutes=5))])
        recording = Recording(
            platform_id=ids["calls"], platform_recording_id="rec-1", owner_account_id=bad.id,
            kind="call", call_id=call.id, blob_sha256=sha,
            filename=HOSTILE["html"] if hostile else "call-9.wav", format="wav",
            size_bytes=size, duration_s=3.2, speech_ratio=0.9,
            transcript="shut up you worthless idiot i will kill you",
            keyword_hits={"hits": [{"term": "kill", "start": 2.1, "end": 2.4}]},
            status=ContentStatus.PROCESSED.value, recorded_at=now - timedelta(minutes=4),
            received_at=now,
            segments=[RecordingSegment(start_s=0.2, end_s=3.0,
                                       transcript="shut up you worthless idiot i will kill you",
                                       scores={"scores": {"abusive": 0.91}})])
        db.session.add(recording)
        db.session.flush()
        reports = [
            Report(platform_id=ids["calls"], platform_report_id="r-1",
                   reporter_account_id=victim.id, reported_account_id=bad.id,
                   category="harassment", message_id=reported.id,
                   description=HOSTILE["bidi"] + " " + HOSTILE["script"] if hostile
                   else "he keeps insulting me", source=ReportSource.USER.value,
                   created_at=now - timedelta(minutes=20)),
            Report(platform_id=ids["calls"], platform_report_id="r-2",
                   reporter_account_id=victim.id, reported_account_id=bad.id,
                   category="violent_threat", recording_id=recording.id,
                   description="threat in a voice call", source=ReportSource.USER.value,
                   created_at=now - timedelta(minutes=3)),
        ]
        db.session.add_all(reports)
        # A second person, reported about a call still in progress: the live lane.
        live_person = Person()
        db.session.add(live_person)
        caller = _account(ids["web"], live_person, "w-300", "loud_caller")
        db.session.flush()
        live_call = Call(platform_id=ids["web"], platform_call_id="call-live",
                         started_at=now - timedelta(minutes=1))
        db.session.add(live_call)
        db.session.flush()
        db.session.add(CallParticipant(call_id=live_call.id, account_id=caller.id,
                                       joined_at=now - timedelta(minutes=1)))
        live_report = Report(platform_id=ids["web"], platform_report_id="r-live",
                             reporter_account_id=None, reported_account_id=caller.id,
                             category="sexual_content", call_id=live_call.id,
                             call_in_progress=True, description="exposing himself on camera",
                             source=ReportSource.USER.value, created_at=now)
        db.session.add(live_report)
        # Lower-priority cases for other people, so the queue has an order to show.
        others = []
        for i in range(3):
            p = Person()
            db.session.add(p)
            a = _account(ids["meet"], p, f"s-{i}", f"spammer{i}")
            db.session.flush()
            others.append(Report(platform_id=ids["meet"], platform_report_id=f"r-spam-{i}",
                                 reported_account_id=a.id, category="spam_scam",
                                 description=f"buy coins cheap {i}",
                                 source=ReportSource.USER.value,
                                 created_at=now - timedelta(hours=i)))
        db.session.add_all(others)
        db.session.flush()
        file_reports(db.session, [r.id for r in reports + [live_report] + others],
                     case_policy(settings()))
        db.session.commit()
        case_of = {report_id: present(case_id) for report_id, case_id in db.session.execute(
            select(Report.platform_report_id, Report.case_id)).all()}
        world = World(servers=servers, platform_ids=ids, staff=staff, person_id=person.id,
                      case_id=case_of["r-1"], live_case_id=case_of["r-live"],
                      message_id=reported.id, recording_id=recording.id, call_id=live_call.id,
                      other_case_ids=[case_of[f"r-spam-{i}"] for i in range(3)])
        assert db.session.get(Case, world.case_id) is not None
        return world


def stop(world: World) -> None:
    for server in world.servers.values():
        server.stop()
