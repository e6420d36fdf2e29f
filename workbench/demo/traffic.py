"""The demo's traffic: 1:1 chats, rooms and calls (with the chat beside them), in time.

Threads are written first and placed in time afterwards, once the seed knows which of
their lines are reported: a reported thread ends a while before its report, so that
most reports are still within their deadline when the demo starts and a few are not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from classifiers.language import reader_languages
from workbench.demo.chat import BENIGN, ChatWriter, display_name, load_slots
from workbench.models import Call, CallParticipant, Conversation, Message

#: Calls in the demo (fewer for a small demo); the first two are still in progress.
MIN_CALLS = 8
MAX_CALLS = 120
IN_PROGRESS_CALLS = 2
#: Share of the messages said in rooms, and beside calls.
ROOM_SHARE = 0.10
CALL_CHAT_PER_CALL = 8


@dataclass
class Person:
    """What the traffic needs to know about an account."""

    id: int
    platform_id: int
    username: str
    style: str
    bad: float  # how often this person misbehaves, 0..1


@dataclass
class Line:
    sender: Person
    recipient: Person | None
    text: str
    kind: str
    sent_at: datetime | None = None
    id: int = 0


@dataclass
class Thread:
    platform_id: int
    key: str
    room_id: str | None
    lines: list[Line] = field(default_factory=list)
    call: int | None = None  # index into the calls
    end: datetime | None = None
    id: int = 0


@dataclass
class DemoCall:
    platform_id: int
    key: str
    caller: Person
    callee: Person
    started_at: datetime
    ended_at: datetime | None
    callee_joined: datetime
    callee_left: datetime | None
    caller_left: datetime | None
    thread: int = -1
    id: int = 0


def harm_probability(bad: float) -> float:
    """How likely a person's next line is harmful: most people, rarely."""
    return 0.02 + bad * 0.5


def write_threads(rng: random.Random, writer: ChatWriter, count: int,
                  by_platform: dict[int, list[Person]], now: datetime
                  ) -> tuple[list[Thread], list[DemoCall]]:
    """Exactly ``count`` lines in 1:1 chats, rooms and calls (not yet placed in time)."""
    platforms = sorted(by_platform)
    calls = _calls(rng, count, by_platform, platforms, now)
    threads: list[Thread] = []
    left = count
    for n, call in enumerate(calls):
        lines = min(left, rng.randint(CALL_CHAT_PER_CALL // 2, CALL_CHAT_PER_CALL * 3 // 2))
        thread = Thread(call.platform_id, f"{call.key}-chat", None, call=n)
        _chat(rng, writer, thread, call.caller, call.callee, lines, "call",
              harm="extortion" if n == 0 else "sexual" if n == 1 else None)
        call.thread = len(threads)
        threads.append(thread)
        left -= lines
    room_lines = min(left, int(count * ROOM_SHARE))
    rooms = load_slots()["room"]
    for n in range(len(rooms) if room_lines else 0):
        share = room_lines // len(rooms) + (1 if n < room_lines % len(rooms) else 0)
        platform_id = platforms[n % len(platforms)]
        members = rng.sample(by_platform[platform_id], min(12, len(by_platform[platform_id])))
        thread = Thread(platform_id, f"room-{n:02d}", rooms[n])
        for _ in range(share):
            sender = rng.choice(members)
            thread.lines.append(_line(rng, writer, sender, None, "room", None))
        threads.append(thread)
        left -= share
    n = 0
    while left > 0:
        platform_id = rng.choice(platforms)
        a, b = rng.sample(by_platform[platform_id], 2)
        lines = min(left, rng.randint(4, 16))
        thread = Thread(platform_id, f"c{n:06d}", None)
        _chat(rng, writer, thread, a, b, lines, "dm", None)
        threads.append(thread)
        left -= lines
        n += 1
    return threads, calls


def _line(rng: random.Random, writer: ChatWriter, sender: Person, recipient: Person | None,
          setting: str, harm: str | None, topic: str | None = None) -> Line:
    if harm is None and rng.random() < harm_probability(sender.bad):
        harm = writer.harm_kind()
    name = display_name(recipient.username) if recipient else rng.choice(("guys", "sab log",
                                                                           "dosto", "all"))
    line = writer.line(sender.style, setting, harm, name, topic)
    return Line(sender, recipient, line.text, line.kind)


def _chat(rng: random.Random, writer: ChatWriter, thread: Thread, a: Person, b: Person,
          lines: int, setting: str, harm: str | None) -> None:
    """Two people taking turns; each writes in their own style (the conversation's mix)."""
    sender, other = (a, b) if rng.random() < 0.5 else (b, a)
    for i in range(lines):
        # The harm of a live call comes from the caller, in the middle of the call.
        forced = harm if harm and i == lines // 2 else None
        if forced:
            sender, other = a, b
        # A 1:1 chat opens with a greeting, and the other side greets back.
        opening = "greeting" if setting == "dm" and i < 2 else None
        thread.lines.append(_line(rng, writer, sender, other, setting, forced, opening))
        if i == 0 or rng.random() < 0.7:
            sender, other = other, sender


def _calls(rng: random.Random, count: int, by_platform: dict[int, list[Person]],
           platforms: list[int], now: datetime) -> list[DemoCall]:
    n_calls = max(MIN_CALLS, min(MAX_CALLS, count // 400))
    calls = []
    for n in range(n_calls):
        platform_id = rng.choice(platforms)
        caller, callee = rng.sample(by_platform[platform_id], 2)
        if n < IN_PROGRESS_CALLS:
            started = now - timedelta(minutes=rng.uniform(6, 25))
            ended = callee_left = caller_left = None
        else:
            started = now - timedelta(minutes=rng.uniform(30, 30 * 24 * 60))
            ended = started + timedelta(minutes=rng.uniform(1, 45))
            caller_left = ended
            # Now and then the callee hangs up first and the caller follows a bit later.
            callee_left = (ended - timedelta(seconds=rng.uniform(5, 60))
                           if rng.random() < 0.2 else ended)
        joined = started + timedelta(seconds=rng.uniform(3, 40))
        calls.append(DemoCall(platform_id, f"call{n:04d}", caller, callee, started, ended,
                              joined, callee_left, caller_left))
    return calls


def place_in_time(rng: random.Random, threads: list[Thread], calls: list[DemoCall],
                  ends: dict[int, datetime], now: datetime) -> None:
    """Give every line its time: a call's chat within the call, a thread with a given
    end (``ends``, by thread index) ending then, the others anywhere in the last 30 days."""
    for n, thread in enumerate(threads):
        if thread.call is not None:
            call = calls[thread.call]
            start = call.callee_joined
            stop = (call.ended_at or now) - timedelta(seconds=5)
            step = (stop - start) / (len(thread.lines) + 1)
            for i, line in enumerate(thread.lines, 1):
                line.sent_at = start + step * i
            thread.end = stop
            continue
        end = ends.get(n) or now - timedelta(minutes=rng.uniform(20, 30 * 24 * 60))
        at = end
        for line in reversed(thread.lines):
            line.sent_at = at
            at -= timedelta(minutes=rng.uniform(0.2, 8))
        thread.end = end


def insert_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one statement per chunk and return their ids in order."""
    ids: list[int] = []
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
        ids.extend(session.scalars(stmt, chunk).all())
    return ids


def insert_traffic(session: Session, threads: list[Thread], calls: list[DemoCall],
                   now: datetime, languages: tuple[str, ...]) -> None:
    """Insert calls, participants, conversations and messages; sets their ids.

    Each message carries its language as a platform's client may send it (here read by
    the workbench's own detector): user reports are filed before the worker classifies
    the messages, and a case's language, so its queue, comes from its messages.
    """
    call_ids = insert_ids(session, Call, [
        {"platform_id": c.platform_id, "platform_call_id": c.key, "started_at": c.started_at,
         "ended_at": c.ended_at, "created_at": c.started_at} for c in calls])
    for call, call_id in zip(calls, call_ids, strict=True):
        call.id = call_id
    if calls:
        session.execute(insert(CallParticipant), [
            row for c in calls for row in (
                {"call_id": c.id, "account_id": c.caller.id, "joined_at": c.started_at,
                 "left_at": c.caller_left},
                {"call_id": c.id, "account_id": c.callee.id, "joined_at": c.callee_joined,
                 "left_at": c.callee_left})])
    conv_ids = insert_ids(session, Conversation, [
        {"platform_id": t.platform_id, "platform_conversation_id": t.key, "room_id": t.room_id,
         "created_at": min(line.sent_at for line in t.lines if line.sent_at is not None)
         if t.lines else now}
        for t in threads])
    rows: list[dict[str, Any]] = []
    lines = []
    for thread, conv_id in zip(threads, conv_ids, strict=True):
        thread.id = conv_id
        for line in thread.lines:
            assert line.sent_at is not None
            rows.append({
                "platform_id": thread.platform_id,
                "platform_message_id": f"m{len(rows):07d}",
                "conversation_id": conv_id,
                "sender_account_id": line.sender.id,
                "recipient_account_id": line.recipient.id if line.recipient else None,
                "room_id": thread.room_id,
                "text": line.text,
                "sent_at": line.sent_at,
                "received_at": line.sent_at,
            })
            lines.append(line)
    texts = sorted({r["text"] for r in rows})
    language = dict(zip(texts, reader_languages(texts, languages), strict=True))
    for row in rows:
        row["language"] = language[row["text"]]
    for line, message_id in zip(lines, insert_ids(session, Message, rows), strict=True):
        line.id = message_id


def harmful_lines(threads: list[Thread]) -> list[tuple[int, Line]]:
    """Every harmful line outside calls, with its thread's index, in order."""
    return [(n, line) for n, t in enumerate(threads) if t.call is None
            for line in t.lines if line.kind != BENIGN]
