"""Deterministic demo data: platforms, people, conversations, reports and the demo logins.

Texts come from the shipped public datasets (see ``classifiers/data/PROVENANCE.md``),
so the demo's classifier scores and cases look like the real thing.
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

from actions.webhook_urls import WebhookPolicy
from workbench.enums import BatchKind, Category, RecordingKind, Role, SignalKind
from workbench.models import (
    Account,
    AccountDevice,
    Call,
    Conversation,
    FraudSignal,
    Message,
    OutboxBatch,
    Person,
    Platform,
    Recording,
    Report,
)
from workbench.platforms import register_platform
from workbench.settings import Settings
from workbench.staff import create_moderator
from workbench.storage import blob_store

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "classifiers" / "data"
RECORDINGS_DIR = Path(__file__).resolve().parent / "demo_data" / "recordings"

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

FIRST_NAMES = (
    "aarav", "vivaan", "aditya", "vihaan", "arjun", "sai", "reyansh", "ayaan", "krishna",
    "ishaan", "ananya", "diya", "aadhya", "saanvi", "pari", "anika", "navya", "myra",
    "riya", "kavya", "rahul", "priya", "neha", "rohan", "sneha", "amit", "pooja", "vikram",
)


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


def _ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one statement per chunk and return their ids in order."""
    ids: list[int] = []
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
        ids.extend(session.scalars(stmt, chunk).all())
    return ids


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
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    bar = tqdm(total=7, desc="seeding demo data", disable=not progress, unit="step")

    platform_ids = _seed_platforms(session, settings)
    for email, password, role in DEMO_LOGINS:
        create_moderator(session, email, password, role, languages=_staff_languages(email))
    bar.update(1)
    accounts = _seed_people(session, rng, size.people, platform_ids, anchor)
    bar.update(1)
    pools = load_text_pools()
    messages = _seed_messages(session, rng, size.messages, accounts, pools, anchor)
    bar.update(1)
    recordings = _seed_recordings(session, settings, rng, accounts, anchor)
    bar.update(1)
    report_ids = _seed_reports(session, rng, size.reports, accounts, messages, recordings, anchor)
    bar.update(1)
    signal_ids = _seed_signals(session, rng, size.signals, accounts, anchor)
    bar.update(1)
    # The worker turns these into cases and scores, exactly as it does for platform traffic.
    message_ids = [m[0] for m in messages]
    for kind, ids in ((BatchKind.REPORTS, report_ids), (BatchKind.SIGNALS, signal_ids),
                      (BatchKind.MESSAGES, message_ids),
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
        )
        ids.append(session.execute(select(Platform.id).where(Platform.slug == slug)).scalar_one())
    return ids


@dataclass
class SeededAccount:
    id: int
    platform_id: int
    person_id: int
    username: str
    bad: float  # how often this person misbehaves, 0..1


def _seed_people(
    session: Session, rng: random.Random, people: int, platform_ids: list[int], anchor: datetime
) -> list[SeededAccount]:
    person_ids = _ids(session, Person, [{"created_at": anchor} for _ in range(people)])
    rows: list[dict[str, Any]] = []
    owners: list[tuple[int, float]] = []
    devices: list[str] = []
    shared_devices = [f"dev-shared-{i:03d}" for i in range(40)]
    for n, person_id in enumerate(person_ids):
        bad = rng.random() ** 6  # most people behave; a few misbehave a lot
        # ~2000 people hold ~2600 accounts: 75% one platform, 20% two, 5% three.
        k = rng.choices((1, 2, 3), weights=(75, 20, 5))[0]
        phone = hashlib.sha256(f"+91{9000000000 + n * 7919 % 999999999}".encode()).hexdigest()
        device = rng.choice(shared_devices) if rng.random() < 0.03 else f"dev-{n:05d}"
        name = f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 9999)}"
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
                    "languages": rng.choice((["en"], ["hi", "en"], ["hi"], ["en", "ta"])),
                    "created_at": anchor - timedelta(days=rng.randint(1, 900)),
                    "updated_at": anchor,
                }
            )
            owners.append((person_id, bad))
            devices.append(device)
    account_ids = _ids(session, Account, rows)
    session.execute(
        insert(AccountDevice),
        [{"account_id": a, "device_id": d} for a, d in zip(account_ids, devices, strict=True)],
    )
    return [
        SeededAccount(a, r["platform_id"], person_id, r["username"], bad)
        for a, r, (person_id, bad) in zip(account_ids, rows, owners, strict=True)
    ]


def _pick_text(rng: random.Random, pools: TextPools, bad: float) -> tuple[str, str]:
    if rng.random() < 0.04 + bad * 0.6:
        kind = rng.choices(("abusive", "hate", "spam"), weights=(6, 2, 3))[0]
    else:
        kind = "benign"
    return kind, rng.choice(getattr(pools, kind))


def _seed_messages(
    session: Session,
    rng: random.Random,
    count: int,
    accounts: list[SeededAccount],
    pools: TextPools,
    anchor: datetime,
) -> list[tuple[int, int, int, str]]:
    """Conversations between pairs on one platform; returns (message, sender, platform, kind)."""
    by_platform: dict[int, list[SeededAccount]] = {}
    for a in accounts:
        by_platform.setdefault(a.platform_id, []).append(a)
    pairs = []
    for _ in range(max(1, count // 10)):
        platform_id = rng.choice(list(by_platform))
        a, b = rng.sample(by_platform[platform_id], 2)
        pairs.append((platform_id, a, b))
    conv_ids = _ids(
        session,
        Conversation,
        [
            {"platform_id": p, "platform_conversation_id": f"c{i:06d}", "created_at": anchor}
            for i, (p, _, _) in enumerate(pairs)
        ],
    )
    rows, meta = [], []
    for i in range(count):
        c = i % len(pairs)
        platform_id, a, b = pairs[c]
        sender, recipient = (a, b) if rng.random() < 0.5 else (b, a)
        kind, text = _pick_text(rng, pools, sender.bad)
        sent = anchor - timedelta(days=30) + timedelta(seconds=rng.randint(0, 30 * 86400))
        rows.append(
            {
                "platform_id": platform_id,
                "platform_message_id": f"m{i:07d}",
                "conversation_id": conv_ids[c],
                "sender_account_id": sender.id,
                "recipient_account_id": recipient.id,
                "text": text,
                "sent_at": sent,
                "received_at": sent,
            }
        )
        meta.append((sender.id, platform_id, kind))
    ids = _ids(session, Message, rows)
    return [(m, s, p, k) for m, (s, p, k) in zip(ids, meta, strict=True)]


def _seed_recordings(
    session: Session,
    settings: Settings,
    rng: random.Random,
    accounts: list[SeededAccount],
    anchor: datetime,
) -> list[tuple[int, int, int, bool]]:
    """The shipped espeak-ng recordings; returns (recording, owner, platform, abusive)."""
    index = RECORDINGS_DIR / "recordings.json"
    if not index.exists():
        return []
    store = blob_store(settings)
    out = []
    for n, entry in enumerate(json.loads(index.read_text())):
        owner = rng.choice(accounts)
        with (RECORDINGS_DIR / entry["file"]).open("rb") as f:
            sha, size = store.put_stream(f)
        call = Call(
            platform_id=owner.platform_id,
            platform_call_id=f"call{n:04d}",
            started_at=anchor - timedelta(hours=n + 1),
            ended_at=anchor - timedelta(hours=n),
        )
        session.add(call)
        session.flush()
        rec = Recording(
            platform_id=owner.platform_id,
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
        out.append((rec.id, owner.id, owner.platform_id, bool(entry.get("abusive"))))
    return out


def _seed_reports(
    session: Session,
    rng: random.Random,
    count: int,
    accounts: list[SeededAccount],
    messages: list[tuple[int, int, int, str]],
    recordings: list[tuple[int, int, int, bool]],
    anchor: datetime,
) -> list[int]:
    bad_messages = [m for m in messages if m[3] != "benign"]
    by_platform: dict[int, list[SeededAccount]] = {}
    for a in accounts:
        by_platform.setdefault(a.platform_id, []).append(a)
    categories = [c for c, _ in REPORT_MIX]
    weights = [w for _, w in REPORT_MIX]
    rows = []
    for i in range(count):
        category = rng.choices(categories, weights=weights)[0]
        message_id = recording_id = None
        if recordings and i % 100 == 0:
            recording_id, reported, platform_id, _ = recordings[(i // 100) % len(recordings)]
        elif rng.random() < 0.8 and bad_messages:
            message_id, reported, platform_id, kind = rng.choice(bad_messages)
            category = {"spam": Category.SPAM_SCAM, "hate": Category.HATE}.get(kind, category)
        else:
            target = rng.choice(accounts)
            reported, platform_id = target.id, target.platform_id
        reporter = rng.choice(by_platform[platform_id])
        created = anchor - timedelta(minutes=rng.randint(5, 14 * 24 * 60))
        rows.append(
            {
                "platform_id": platform_id,
                "platform_report_id": f"rep{i:06d}",
                "reporter_account_id": reporter.id,
                "reported_account_id": reported,
                "category": category.value,
                "message_id": message_id,
                "recording_id": recording_id,
                "description": rng.choice(
                    (None, "keeps messaging me", "this is not ok", "fake profile asking for money",
                     "said this on a call", "please check <b>this</b> user")
                ),
                "source": "user",
                "created_at": created,
                "received_at": created,
            }
        )
    return _ids(session, Report, rows)


def _seed_signals(
    session: Session,
    rng: random.Random,
    count: int,
    accounts: list[SeededAccount],
    anchor: datetime,
) -> list[int]:
    risky = sorted(accounts, key=lambda a: a.bad, reverse=True)[: max(10, len(accounts) // 10)]
    kinds = [k.value for k in SignalKind]
    rows = []
    for i in range(count):
        account = rng.choice(risky)
        created = anchor - timedelta(minutes=rng.randint(5, 30 * 24 * 60))
        rows.append(
            {
                "platform_id": account.platform_id,
                "platform_signal_id": f"sig{i:05d}",
                "account_id": account.id,
                "kind": rng.choice(kinds),
                "score": round(rng.uniform(0.2, 1.0), 3),
                "details": {"count": rng.randint(1, 12)},
                "created_at": created,
                "received_at": created,
            }
        )
    return _ids(session, FraudSignal, rows)


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of the tables a person looks at after seeding."""
    from workbench import models

    names = ("Platform", "Person", "Account", "Conversation", "Message", "Recording",
             "Report", "FraudSignal", "Case", "Moderator")
    return {
        getattr(models, n).__tablename__: session.execute(
            select(func.count()).select_from(getattr(models, n))
        ).scalar_one()
        for n in names
    }
