"""The people the soak's platforms speak about, and the requests they send about them.

A fixed, seeded population: each person has an account on one, two or three platforms,
linked by a shared phone hash, so the workbench sees one person behind them. Builders
return a request's path, its JSON body and the ids of the items it carries, so the ledger
can later look each item up.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from bench.harness import ABUSIVE, BENIGN, SPAM
from bench.soak_harness.stack import ROOT, SLUGS

RECORDINGS_DIR = ROOT / "workbench" / "demo" / "data" / "recordings"

CATEGORIES = ["harassment", "hate", "spam_scam", "fraud", "impersonation", "other",
              "violent_threat", "sexual_content"]
SIGNAL_KINDS = ["chargeback", "payment_failure_burst", "shared_device", "otp_abuse",
                "gift_velocity", "multi_account"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class WorldAccount:
    slug: str
    user_id: str
    person: int
    phone_hash: str


@dataclass
class Request:
    """One request to send: a JSON body, or a multipart recording upload."""

    kind: str
    slug: str
    path: str
    body: bytes
    content_type: str = "application/json"
    #: (kind, platform slug, platform item id) of every item the request carries.
    items: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class World:
    """The population, and thread-safe builders of the requests the platforms send."""

    seed: int = 7
    people: int = 240
    rng: random.Random = field(init=False)
    accounts: list[WorldAccount] = field(default_factory=list)
    by_platform: dict[str, list[WorldAccount]] = field(default_factory=dict)
    by_person: dict[int, list[WorldAccount]] = field(default_factory=dict)
    _ids: count[int] = field(default_factory=lambda: count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _recordings: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for person in range(self.people):
            phone = hashlib.sha256(f"phone-{self.seed}-{person}".encode()).hexdigest()
            # A third of the people are on every platform, a third on two, a third on one.
            k = 3 - person % 3
            for slug in self.rng.sample(SLUGS, k):
                self._add(WorldAccount(slug, f"{slug}-u{person}", person, phone))
        self._recordings = [(p.name, p.read_bytes())
                            for p in sorted(Path(RECORDINGS_DIR).glob("*.wav"))]

    def _add(self, account: WorldAccount) -> None:
        self.accounts.append(account)
        self.by_platform.setdefault(account.slug, []).append(account)
        self.by_person.setdefault(account.person, []).append(account)

    def next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids)}"

    def pick(self, slug: str) -> WorldAccount:
        with self._lock:
            return self.rng.choice(self.by_platform[slug])

    def chance(self) -> float:
        with self._lock:
            return self.rng.random()

    def randint(self, a: int, b: int) -> int:
        with self._lock:
            return self.rng.randint(a, b)

    # ---- the requests ---------------------------------------------------------------

    @staticmethod
    def account_item(a: WorldAccount, username: str | None = None) -> dict[str, Any]:
        return {"id": a.user_id, "username": username or f"user {a.user_id}",
                "phone_hash": a.phone_hash, "languages": ["en"]}

    def initial_accounts(self, batch: int = 40) -> list[Request]:
        """Every account, in batches per platform, interleaved across platforms so the
        accounts of one person arrive from several platforms at about the same time."""
        out: list[Request] = []
        chunks = {s: [self.by_platform[s][i:i + batch]
                      for i in range(0, len(self.by_platform[s]), batch)] for s in SLUGS}
        for i in range(max(len(c) for c in chunks.values())):
            for slug in SLUGS:
                if i < len(chunks[slug]):
                    out.append(self._accounts(slug, chunks[slug][i]))
        return out

    def _accounts(self, slug: str, accounts: list[WorldAccount]) -> Request:
        items = [self.account_item(a) for a in accounts]
        return Request("accounts", slug, "/api/v1/accounts", _json({"accounts": items}),
                       items=[("account", slug, a.user_id) for a in accounts])

    def account_updates(self, slug: str) -> Request:
        """A few accounts change their name; now and then a person opens an account on a
        platform where they had none (sharing their phone: ban evasion if they are banned)."""
        picked = [self.pick(slug) for _ in range(self.randint(1, 6))]
        items = [self.account_item(a, f"renamed {self.next_id('n')}") for a in picked]
        ids = [("account", slug, a.user_id) for a in picked]
        newcomer = self._newcomer(slug) if self.chance() < 0.5 else None
        if newcomer is not None:
            items.append(self.account_item(newcomer))
            ids.append(("account", slug, newcomer.user_id))
        return Request("accounts", slug, "/api/v1/accounts", _json({"accounts": items}),
                       items=ids)

    def _newcomer(self, slug: str) -> WorldAccount | None:
        with self._lock:
            absent = [p for p, accs in self.by_person.items()
                      if slug not in {a.slug for a in accs}]
            if not absent:
                return None
            person = self.rng.choice(absent)
            account = WorldAccount(slug, f"{slug}-u{person}", person,
                                   self.by_person[person][0].phone_hash)
            self._add(account)
            return account

    def _text(self) -> str:
        """Mostly everyday chat, some abuse (10%), a little spam (2%); each one unique."""
        with self._lock:
            roll = self.rng.random()
            pool = SPAM if roll < 0.02 else ABUSIVE if roll < 0.12 else BENIGN
            return f"{self.rng.choice(pool)} {next(self._ids)}"

    @property
    def sample_wav(self) -> bytes:
        """A real recording, for building broken ones from."""
        return self._recordings[0][1]

    def messages(self, slug: str) -> Request:
        items = []
        for _ in range(self.randint(5, 40)):
            sender, recipient = self.pick(slug), self.pick(slug)
            items.append({"id": self.next_id("m"), "sender_id": sender.user_id,
                          "recipient_id": recipient.user_id,
                          "conversation_id": f"c-{sender.person}-{recipient.person}",
                          "text": self._text(), "sent_at": now_iso()})
        return Request("messages", slug, "/api/v1/messages", _json({"messages": items}),
                       items=[("message", slug, str(m["id"])) for m in items])

    def reports(self, slug: str) -> Request:
        items = []
        for _ in range(self.randint(1, 8)):
            reported, reporter = self.pick(slug), self.pick(slug)
            items.append({"id": self.next_id("r"), "reporter_id": reporter.user_id,
                          "reported_user_id": reported.user_id,
                          "category": CATEGORIES[self.randint(0, len(CATEGORIES) - 1)],
                          "description": "reported during the soak", "created_at": now_iso()})
        return Request("reports", slug, "/api/v1/reports", _json({"reports": items}),
                       items=[("report", slug, str(r["id"])) for r in items])

    def signals(self, slug: str) -> Request:
        items = [{"id": self.next_id("s"), "user_id": self.pick(slug).user_id,
                  "kind": SIGNAL_KINDS[self.randint(0, len(SIGNAL_KINDS) - 1)],
                  "score": round(self.chance(), 3), "created_at": now_iso()}
                 for _ in range(self.randint(1, 5))]
        return Request("signals", slug, "/api/v1/signals", _json({"signals": items}),
                       items=[("signal", slug, str(s["id"])) for s in items])

    def recording(self, slug: str) -> Request:
        rid = self.next_id("rec")
        name, audio = self._recordings[self.randint(0, len(self._recordings) - 1)]
        meta = {"id": rid, "owner_id": self.pick(slug).user_id, "kind": "voice_intro",
                "recorded_at": now_iso()}
        body, content_type = multipart({"metadata": json.dumps(meta)},
                                       {"audio": (name, audio, "audio/wav")})
        return Request("recordings", slug, "/api/v1/recordings", body, content_type,
                       items=[("recording", slug, rid)])

    def appeal(self, slug: str, action_id: int, user_id: str) -> Request:
        item = {"id": self.next_id("ap"), "user_id": user_id, "action_id": action_id,
                "text": "I did nothing wrong, please look again", "created_at": now_iso()}
        return Request("appeals", slug, "/api/v1/appeals", _json({"appeals": [item]}),
                       items=[("appeal", slug, str(item["id"]))])


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def multipart(fields: dict[str, str],
              files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body, built by hand so it can also be built broken."""
    boundary = "soak" + hashlib.sha256(repr(sorted(fields)).encode()).hexdigest()[:24]
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + value.encode() + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
