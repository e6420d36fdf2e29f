"""Deterministic demo data: platforms, people, chats, calls, reports, signals, appeals.

The chat is written by the team as templates (``data/chat_templates.tsv``, see
``data/README.md``) in English, Hindi, Hinglish and mixed, as HARMONI's users
write. Times are relative to the moment of seeding, so that most cases are within
their deadline when the demo starts and a few are already overdue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from actions.decisions import Decision, decide_case
from actions.enforcement import ActionRequest
from workbench import models
from workbench.cases.filing import file_reports
from workbench.cases.policy import CasePolicy, case_policy
from workbench.demo.chat import (
    HARM_CATEGORY,
    STYLE_LANGUAGES,
    ChatWriter,
    pick_style,
    username,
)
from workbench.demo.images import seed_images
from workbench.demo.signals import seed_signals
from workbench.demo.traffic import (
    DemoCall,
    Thread,
    harmful_lines,
    insert_ids,
    insert_traffic,
    place_in_time,
    write_threads,
)
from workbench.demo.traffic import Person as TrafficPerson
from workbench.enums import ActionType, BatchKind, Category, RecordingKind, Role
from workbench.models import (
    Account,
    AccountDevice,
    Appeal,
    OutboxBatch,
    Person,
    Platform,
    Recording,
    Report,
    utcnow,
)
from workbench.platforms import register_platform
from workbench.rules.webhooks import WebhookPolicy
from workbench.settings import Settings
from workbench.staff import create_moderator
from workbench.storage import blob_store

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[2] / "classifiers" / "data"
RECORDINGS_DIR = Path(__file__).resolve().parent / "data" / "recordings"

#: The demo logins, listed in the README; created by ``seed-demo`` only.
DEMO_LOGINS: tuple[tuple[str, str, str], ...] = (
    ("moderator@demo.local", "demo-moderator-harbour", Role.MODERATOR.value),
    ("senior@demo.local", "demo-senior-harbour", Role.SENIOR.value),
    ("legal@demo.local", "demo-legal-harbour", Role.LEGAL.value),
    ("admin@demo.local", "demo-admin-harbour", Role.ADMIN.value),
)

DEMO_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("harmoni-calls", "HARMONI calling app"),
    ("harmoni-web", "HARMONI website"),
    ("harmoni-meet", "HARMONI Meet (sister app)"),
)
#: The demo website takes up to 50 deliveries a webhook request (docs/enforcement.md); the
#: others one a request, the default.
DEMO_WEBHOOK_BATCH = {"harmoni-web": 50}

#: Report categories with their share of user reports in the demo.
REPORT_MIX: tuple[tuple[Category, float], ...] = (
    (Category.HARASSMENT, 0.26),
    (Category.SPAM_SCAM, 0.20),
    (Category.HATE, 0.12),
    (Category.SEXUAL_CONTENT, 0.10),
    (Category.FRAUD, 0.09),
    (Category.IMPERSONATION, 0.07),
    (Category.UNDERAGE_USER, 0.06),
    (Category.VIOLENT_THREAT, 0.06),
    (Category.SELF_HARM, 0.04),
)

#: What users write when they report someone, in their own words (hostile text included:
#: the console must escape it).
REPORT_NOTES: tuple[str | None, ...] = (
    None, None, "keeps messaging me", "ye mujhe blackmail kar raha hai", "asking money for my pics",
    "gaali de raha hai baar baar", "fake coin seller, took my money", "मुझे धमकी दे रहा है",
    "said this on a call", "please check <b>this</b> user", "bahut ganda bol raha hai",
)
#: What people write when they appeal.
APPEAL_TEXTS: tuple[str, ...] = (
    "I never said that, my account was hacked last week",
    "maine kuch galat nahi kiya, wo mera dost hai hum mazaak kar rahe the",
    "मेरा अकाउंट गलती से बंद हुआ है, कृपया फिर से चालू करें",
    "it was a joke between friends, please restore my calls",
    "bhai coins wapas do, maine koi scam nahi kiya, screenshot bhej sakta hoon",
)
#: Share of reported threads placed past their report's deadline.
OVERDUE_SHARE = 0.1

@dataclass(frozen=True)
class DemoSize:
    people: int = 2000
    messages: int = 50_000
    reports: int = 1000
    signals: int = 300


@dataclass
class TextPools:
    benign: list[str]
    abusive: list[str]
    hate: list[str]
    spam: list[str]


def load_text_pools(data_dir: Path = DATA_DIR) -> TextPools:
    """Texts from the shipped datasets, split by what they are."""
    davidson = pd.read_csv(data_dir / "davidson" / "labeled_data.csv")
    olid = pd.read_csv(data_dir / "olid" / "olid-training-v1.0.tsv", sep="\t")
    sms = pd.read_csv(
        data_dir / "sms_spam" / "SMSSpamCollection", sep="\t", names=["label", "text"],
        quoting=3,
    )
    return TextPools(
        benign=sms.loc[sms.label == "ham", "text"].tolist()
        + davidson.loc[davidson["class"] == 2, "tweet"].tolist()
        + olid.loc[olid.subtask_a == "NOT", "tweet"].tolist(),
        abusive=davidson.loc[davidson["class"] == 1, "tweet"].tolist()
        + olid.loc[olid.subtask_a == "OFF", "tweet"].tolist(),
        hate=davidson.loc[davidson["class"] == 0, "tweet"].tolist(),
        spam=sms.loc[sms.label == "spam", "text"].tolist(),
    )


#: Bulk insert returning ids (``bench/enforcement.py`` uses it too).
_ids = insert_ids


def demo_present(session: Session) -> bool:
    return bool(session.execute(select(func.count(Platform.id))).scalar_one())


def seed_demo_data(
    session: Session,
    settings: Settings,
    size: DemoSize = DemoSize(),
    *,
    seed: int = 7,
    progress: bool = False,
) -> dict[str, int]:
    """Seed an empty database; on one that has platforms, change nothing.

    Returns:
        Row counts per table after seeding.
    """
    if demo_present(session):
        log.info("demo data already present; nothing seeded")
        return table_counts(session)
    rng = random.Random(seed)
    # Times are relative to now: deadlines are measured from report times.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    policy = case_policy(settings)
    bar = tqdm(total=8, desc="seeding demo data", disable=not progress, unit="step")

    platform_ids = _seed_platforms(session, settings)
    staff = {email: create_moderator(session, email, password, role,
                                     languages=_staff_languages(email)).id
             for email, password, role in DEMO_LOGINS}
    bar.update(1)
    accounts = _seed_people(session, rng, size.people, platform_ids, now)
    bar.update(1)
    traffic = _seed_traffic(session, rng, size, accounts, policy, now)
    bar.update(1)
    recordings = _seed_recordings(session, settings, rng, traffic.calls)
    bar.update(1)
    # A tenth of the reports (at most HISTORY_CASES) are already decided, some appealed.
    history, appeal_ids = _seed_appeals(session, rng, traffic, size.reports // 10,
                                        staff["moderator@demo.local"], policy)
    report_ids = _seed_reports(session, rng, size.reports - history, accounts, traffic,
                               recordings, policy, now)
    bar.update(1)
    signal_ids = seed_signals(session, rng, size.signals, accounts, now)
    bar.update(1)
    # Profile photos, chat images and call frames: hashed, matched and scored by the worker.
    pictures = seed_images(session, settings, rng, accounts, traffic.threads, traffic.calls,
                           now)
    bar.update(1)
    # The worker turns these into cases and scores, exactly as it does for platform traffic.
    message_ids = [line.id for t in traffic.threads for line in t.lines]
    for kind, ids in ((BatchKind.REPORTS, report_ids + pictures.report_ids),
                      (BatchKind.SIGNALS, signal_ids),
                      (BatchKind.IMAGES, pictures.pending_image_ids),
                      (BatchKind.APPEALS, appeal_ids), (BatchKind.MESSAGES, message_ids),
                      (BatchKind.RECORDINGS, [r[0] for r in recordings])):
        for start in range(0, len(ids), 500):
            session.add(OutboxBatch(kind=kind.value, item_ids={"ids": ids[start : start + 500]}))
    session.commit()
    bar.update(1)
    bar.close()
    return table_counts(session)


def _staff_languages(email: str) -> list[str]:
    return ["en", "hi", "hi-Latn"] if email.startswith("moderator") else ["en"]


def _seed_platforms(session: Session, settings: Settings) -> list[int]:
    ids = []
    for slug, name in DEMO_PLATFORMS:
        register_platform(
            session,
            settings.secret_key,
            slug,
            name=name,
            # The demo's own webhook sink stands in for the platforms.
            webhook_url=f"http://127.0.0.1:5000/demo/platforms/{slug}/webhook",
            secret=f"demo-secret-{slug}",
            webhook_policy=WebhookPolicy(allow_http=True, allow_private=True),
            webhook_batch=DEMO_WEBHOOK_BATCH.get(slug, 1),
        )
        ids.append(session.execute(select(Platform.id).where(Platform.slug == slug)).scalar_one())
    return ids


def _seed_people(
    session: Session, rng: random.Random, people: int, platform_ids: list[int], now: datetime
) -> list[TrafficPerson]:
    person_ids = _ids(session, Person, [{"created_at": now} for _ in range(people)])
    rows: list[dict[str, Any]] = []
    owners: list[tuple[float, str]] = []
    devices: list[str] = []
    shared_devices = [f"dev-shared-{i:03d}" for i in range(40)]
    for n, person_id in enumerate(person_ids):
        bad = rng.random() ** 6  # most people behave; a few misbehave a lot
        style = pick_style(rng)
        languages = rng.choice(STYLE_LANGUAGES[style])
        # ~2000 people hold ~2600 accounts: 75% one platform, 20% two, 5% three.
        k = rng.choices((1, 2, 3), weights=(75, 20, 5))[0]
        phone = hashlib.sha256(f"+91{9000000000 + n * 7919 % 999999999}".encode()).hexdigest()
        device = rng.choice(shared_devices) if rng.random() < 0.03 else f"dev-{n:05d}"
        name = username(rng)
        for platform_id in rng.sample(platform_ids, k):
            rows.append(
                {
                    "platform_id": platform_id,
                    "platform_user_id": f"u{n:05d}-{platform_id}",
                    "person_id": person_id,
                    "username": name if rng.random() < 0.7 else f"{name}_{platform_id}",
                    "phone_hash": phone,
                    "gender": rng.choice(("female", "male", "other", None)),
                    "birth_year": rng.randint(1965, 2007),
                    "languages": languages,
                    "created_at": now - timedelta(days=rng.randint(1, 900)),
                    "updated_at": now,
                }
            )
            owners.append((bad, style))
            devices.append(device)
    account_ids = _ids(session, Account, rows)
    session.execute(
        insert(AccountDevice),
        [{"account_id": a, "device_id": d} for a, d in zip(account_ids, devices, strict=True)],
    )
    return [
        TrafficPerson(a, r["platform_id"], r["username"], style, bad)
        for a, r, (bad, style) in zip(account_ids, rows, owners, strict=True)
    ]


@dataclass
class Traffic:
    threads: list[Thread]
    calls: list[DemoCall]
    #: Reported lines outside calls: (thread index, message id, sender, recipient, category).
    reported: list[tuple[int, int, TrafficPerson, TrafficPerson | None, str]]
    by_platform: dict[int, list[TrafficPerson]]
    #: When the reports on a thread come in (by thread index).
    reported_at: dict[int, datetime]

    def report_time(self, rng: random.Random, thread: int) -> datetime:
        """A report on this thread: a moment after its last line, before now."""
        return self.reported_at[thread] + timedelta(seconds=rng.uniform(0, 20))


def _by_platform(accounts: list[TrafficPerson]) -> dict[int, list[TrafficPerson]]:
    out: dict[int, list[TrafficPerson]] = {}
    for a in accounts:
        out.setdefault(a.platform_id, []).append(a)
    return out


def _seed_traffic(session: Session, rng: random.Random, size: DemoSize,
                  accounts: list[TrafficPerson], policy: CasePolicy, now: datetime) -> Traffic:
    """Chats, rooms and calls; a thread with a reported line ends shortly before its
    report, placed so that most reports are within their deadline."""
    by_platform = _by_platform(accounts)
    threads, calls = write_threads(rng, ChatWriter(rng), size.messages, by_platform, now)
    harmful = harmful_lines(threads)
    wanted = min(len(harmful), int(size.reports * 0.8))
    chosen = sorted(rng.sample(range(len(harmful)), wanted))
    ends: dict[int, datetime] = {}
    reported_at: dict[int, datetime] = {}
    reported = []
    for i in chosen:
        n, line = harmful[i]
        category = HARM_CATEGORY[line.kind].value
        if n not in reported_at:
            reported_at[n] = now - _report_age(rng, policy.deadline_for(category))
            ends[n] = reported_at[n] - timedelta(minutes=rng.uniform(1, 20))
        reported.append((n, line, category))
    place_in_time(rng, threads, calls, ends, now)
    insert_traffic(session, threads, calls, now, policy.languages)
    return Traffic(threads, calls,
                   [(n, line.id, line.sender, line.recipient, category)
                    for n, line, category in reported], by_platform, reported_at)


def _report_age(rng: random.Random, deadline_hours: float) -> timedelta:
    """How long ago a report came in: mostly well within its deadline, a few past it."""
    share = rng.uniform(1.1, 3.0) if rng.random() < OVERDUE_SHARE else rng.uniform(0.05, 0.7)
    return timedelta(hours=deadline_hours * share)


def _seed_recordings(
    session: Session,
    settings: Settings,
    rng: random.Random,
    calls: list[DemoCall],
) -> list[tuple[int, int, int, str | None]]:
    """The shipped espeak-ng recordings, one per ended call; returns (recording, owner,
    platform, category)."""
    index = RECORDINGS_DIR / "recordings.json"
    ended = [c for c in calls if c.ended_at is not None]
    if not index.exists() or not ended:
        return []
    store = blob_store(settings)
    out = []
    for n, entry in enumerate(json.loads(index.read_text())):
        call = ended[n % len(ended)]
        owner = call.caller if rng.random() < 0.5 else call.callee
        with (RECORDINGS_DIR / entry["file"]).open("rb") as f:
            sha, size = store.put_stream(f)
        rec = Recording(
            platform_id=call.platform_id,
            platform_recording_id=f"r{n:04d}",
            owner_account_id=owner.id,
            kind=RecordingKind.CALL.value,
            call_id=call.id,
            blob_sha256=sha,
            filename=entry["file"],
            format="wav",
            size_bytes=size,
            recorded_at=call.started_at,
            received_at=call.ended_at,
        )
        session.add(rec)
        session.flush()
        out.append((rec.id, owner.id, call.platform_id, entry.get("category")))
    return out


def _seed_reports(
    session: Session,
    rng: random.Random,
    count: int,
    accounts: list[TrafficPerson],
    traffic: Traffic,
    recordings: list[tuple[int, int, int, str | None]],
    policy: CasePolicy,
    now: datetime,
) -> list[int]:
    """User reports: on live calls, on harmful lines, on recordings, and on accounts."""
    categories = [c for c, _ in REPORT_MIX]
    weights = [w for _, w in REPORT_MIX]
    rows: list[dict[str, Any]] = []

    def add(reporter: TrafficPerson, reported: int, platform_id: int, category: str,
            created: datetime, **content: Any) -> None:
        created = min(created, now - timedelta(seconds=30))
        rows.append({
            "platform_id": platform_id, "platform_report_id": f"rep{len(rows):06d}",
            "reporter_account_id": reporter.id, "reported_account_id": reported,
            "category": category, "description": rng.choice(REPORT_NOTES), "source": "user",
            "created_at": created, "received_at": created, "call_in_progress": False,
            **content,
        })

    for call, category in zip(traffic.calls[:2],
                              (Category.EXTORTION.value, Category.SEXUAL_CONTENT.value),
                              strict=False):
        if len(rows) >= count or call.ended_at is not None:
            continue
        # The callee reports the caller during the call, pointing at the line in its chat.
        thread = traffic.threads[call.thread]
        line = next((x for x in thread.lines if x.kind != "benign"), thread.lines[0])
        add(call.callee, call.caller.id, call.platform_id, category,
            now - timedelta(minutes=rng.uniform(1, 4)), call_id=call.id,
            call_in_progress=True, message_id=line.id if line.sender is call.caller else None)
    for n, message_id, sender, recipient, category in traffic.reported:
        if len(rows) >= count - count // 100:
            break
        thread = traffic.threads[n]
        reporter = recipient or rng.choice(traffic.by_platform[thread.platform_id])
        add(reporter, sender.id, thread.platform_id, category, traffic.report_time(rng, n),
            message_id=message_id)
    while len(rows) < count:
        if recordings and len(rows) % 100 == 0:
            recording_id, owner, platform_id, rec_category = recordings[
                (len(rows) // 100) % len(recordings)]
            category = rec_category or rng.choices(categories, weights=weights)[0].value
            add(rng.choice(traffic.by_platform[platform_id]), owner, platform_id, category,
                now - _report_age(rng, policy.deadline_for(category)),
                recording_id=recording_id)
            continue
        category = rng.choices(categories, weights=weights)[0].value
        target = rng.choice(accounts)
        add(rng.choice(traffic.by_platform[target.platform_id]), target.id,
            target.platform_id, category, now - _report_age(rng, policy.deadline_for(category)))
    return _ids(session, Report, rows)


#: Decided cases with an action each, and how many of those actions are appealed.
HISTORY_CASES = 8
APPEALED = 5
HISTORY_ACTIONS: tuple[tuple[ActionType, timedelta | None], ...] = (
    (ActionType.MUTE, timedelta(days=3)), (ActionType.RESTRICT_CALLS, timedelta(days=7)),
    (ActionType.SUSPEND, timedelta(days=7)), (ActionType.WARN, None),
)


def _seed_appeals(session: Session, rng: random.Random, traffic: Traffic, most: int,
                  moderator_id: int, policy: CasePolicy) -> tuple[int, list[int]]:
    """A few decided cases (a moderator's action on a reported line) and appeals on some.

    Their lines are taken out of ``traffic.reported``. Returns how many reports were
    made, and the appeals' ids.
    """

    seen: set[int] = set()
    picked: list[tuple[int, int, TrafficPerson, TrafficPerson | None, str]] = []
    for item in list(traffic.reported):
        _, _, sender, recipient, _ = item
        if len(picked) < min(most, HISTORY_CASES) and sender.id not in seen and recipient:
            seen.add(sender.id)
            picked.append(item)
            traffic.reported.remove(item)
    person = dict(session.execute(select(Account.id, Account.person_id).where(
        Account.id.in_([p[2].id for p in picked]))).all())
    appeals = []
    for n, (thread, message_id, sender, recipient, category) in enumerate(picked):
        assert recipient is not None
        created = traffic.report_time(rng, thread)
        report_id = _ids(session, Report, [{
            "platform_id": sender.platform_id, "platform_report_id": f"hist{n:04d}",
            "reporter_account_id": recipient.id, "reported_account_id": sender.id,
            "category": category, "message_id": message_id, "source": "user",
            "description": rng.choice(REPORT_NOTES), "created_at": created,
            "received_at": created, "call_in_progress": False}])
        case_ids = file_reports(session, report_id, policy)
        action_type, duration = HISTORY_ACTIONS[n % len(HISTORY_ACTIONS)]
        decided = decide_case(
            session, case_ids[0], moderator_id=moderator_id, role=Role.MODERATOR.value,
            decision=Decision.VIOLATION, category=category,
            action=ActionRequest(type=action_type, person_id=person[sender.id],
                                 policy_reason=f"community guidelines: {category}",
                                 decided_by_id=moderator_id, case_id=case_ids[0],
                                 duration=duration, category=category,
                                 facts="Reported message read in its conversation."))
        if n < APPEALED and decided.action_id is not None:
            filed = utcnow()
            appeals.append({
                "platform_id": sender.platform_id, "platform_appeal_id": f"apl{n:04d}",
                "action_id": decided.action_id, "account_id": sender.id,
                "text": APPEAL_TEXTS[n % len(APPEAL_TEXTS)], "created_at": filed,
                "received_at": filed})
    return len(picked), _ids(session, Appeal, appeals) if appeals else []


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of the tables a person looks at after seeding."""

    names = ("Platform", "Person", "Account", "Conversation", "Message", "Recording",
             "Report", "FraudSignal", "Case", "Moderator")
    return {
        getattr(models, n).__tablename__: session.execute(
            select(func.count()).select_from(getattr(models, n))
        ).scalar_one()
        for n in names
    }
