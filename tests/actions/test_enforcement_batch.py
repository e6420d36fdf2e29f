"""Automation applied set-based writes what ``apply_action`` writes for each item in turn.

The same world and the same flags go through both paths, each on emptied tables; the
rows they leave (actions, statements, deliveries, audit events, account standing) must
be the same, ids and clock times aside, and a second run of the batch adds nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from actions.enforcement import ActionRequest, AuthorityError, apply_action
from actions.enforcement_batch import apply_actions
from tests.support.app import TEST_SECRET_KEY, reset_tables
from tests.support.present import present
from workbench.cases.scoring import Flag, apply_automation
from workbench.current import settings
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    AuditEvent,
    Conversation,
    EnforcementDelivery,
    Message,
    Person,
    Platform,
    StatementOfReasons,
    utcnow,
)
from workbench.models.audit import verify_chain
from workbench.platforms import register_platform

#: Each person's accounts (platform, user id); the first user id names the person.
PEOPLE = {
    "p0": [("calls", "p0"), ("web", "p0-web"), ("meet", "p0-meet")],
    "p1": [("calls", "p1")],  # an earlier warning: deliveries are numbered on from it
    "p2": [("calls", "p2"), ("web", "p2-web")],  # already muted: no second mute
    "p3": [("calls", "p3"), ("web", "p3-web"), ("meet", "p3-old")],  # suspended, one deleted
    "p4": [("web", "p4"), ("web", "p4-alt")],  # two accounts on one platform
    "p5": [("meet", "p5")],
}
#: The flags of one classify batch: (sender, label, score). Repeats, misses and
#: several rules on one person included.
FLAGS = [
    ("p0", "spam_scam", 0.995), ("p0-web", "spam_scam", 0.999), ("p1", "spam_scam", 0.992),
    ("p2", "spam_scam", 0.999), ("p3", "abusive", 0.97), ("p3-web", "spam_scam", 0.991),
    ("p4", "extortion", 0.95), ("p4-alt", "spam_scam", 0.98), ("p5", "abusive", 0.5),
    ("p1", "abusive", 0.93), ("p4", "spam_scam", 0.999), ("p0-meet", "extortion", 0.9),
]
RULES: list[dict[str, Any]] = [
    {"label": "spam_scam", "threshold": 0.99, "action": "mute", "hours": 24,
     "policy_reason": "spam_scam"},
    {"label": "abusive", "threshold": 0.9, "action": "warn", "policy_reason": "harassment"},
    {"label": "extortion", "threshold": 0.85, "action": "restrict_calls", "hours": 48,
     "policy_reason": "other"},
]
#: A rule acting on the message itself: its batch goes item by item, same rows.
CONTENT_RULES = [*RULES, {"label": "abusive", "threshold": 0.95, "action": "remove_content",
                          "policy_reason": "harassment"}]


def _world() -> list[Flag]:
    """Platforms, people, their earlier actions and the flagged messages (app context)."""
    for slug in ("calls", "web", "meet"):
        register_platform(db.session, TEST_SECRET_KEY, slug, webhook_url=f"http://127.0.0.1:9/{slug}")
    db.session.flush()
    platforms = dict(db.session.execute(select(Platform.slug, Platform.id)).all())
    accounts: dict[str, Account] = {}
    people: dict[str, int] = {}
    for key, held in PEOPLE.items():
        person = Person()
        db.session.add(person)
        db.session.flush()
        people[key] = person.id
        for slug, uid in held:
            accounts[uid] = Account(platform_id=platforms[slug], platform_user_id=uid,
                                    person_id=person.id)
            db.session.add(accounts[uid])
    accounts["p3-old"].status = "deleted"
    db.session.flush()
    for key, kind, duration in (("p1", ActionType.WARN, None),
                                ("p2", ActionType.MUTE, timedelta(hours=2)),
                                ("p3", ActionType.SUSPEND, timedelta(days=3))):
        apply_action(db.session, ActionRequest(type=kind, person_id=people[key],
                                               policy_reason="other", decided_by_rule="strikes",
                                               automated=True, duration=duration))
    conversations: dict[int, Conversation] = {}
    flags = []
    for n, (uid, label, score) in enumerate(FLAGS):
        account = accounts[uid]
        if account.platform_id not in conversations:
            conversations[account.platform_id] = Conversation(
                platform_id=account.platform_id, platform_conversation_id="c")
            db.session.add(conversations[account.platform_id])
            db.session.flush()
        message = Message(platform_id=account.platform_id, platform_message_id=f"m{n}",
                          conversation_id=conversations[account.platform_id].id,
                          sender_account_id=account.id, text=f"text {n}",
                          sent_at=utcnow(), received_at=utcnow())
        db.session.add(message)
        db.session.flush()
        flags.append(Flag("message", message.id, account.id, account.platform_id, label, score))
    db.session.commit()
    return flags


def _snapshot() -> dict[str, Any]:
    """What the paths wrote, ids as positions and clock times left out."""
    actions = list(db.session.scalars(select(Action).order_by(Action.id)))
    deliveries = list(db.session.scalars(select(EnforcementDelivery)
                                         .order_by(EnforcementDelivery.id)))
    # Looked up by ids that may be None (what an action reverses): .get gives None for them.
    act: dict[int | None, int] = {a.id: n for n, a in enumerate(actions)}
    sent = {d.id: n for n, d in enumerate(deliveries)}
    clock = {"id", "created_at", "updated_at", "ends_at", "next_attempt_at", "at",
             "reviewed_at", "delivered_at", "idempotency_key", "hash", "prev_hash"}

    def row(obj: Any) -> dict[str, Any]:
        return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs
                if c.key not in clock}

    def payload(p: dict[str, Any]) -> dict[str, Any]:
        return {**p, "delivery_id": sent[p["delivery_id"]], "action_id": act[p["action_id"]],
                "statement_url": p["statement_url"] and act[p["action_id"]],
                "until": "until" in p}

    dates = {"application_date", "end_date_account_restriction", "end_date_service_restriction"}
    return {
        "actions": [{**row(a), "lasts": a.ends_at and a.ends_at - a.created_at,
                     "reverses_action_id": act.get(a.reverses_action_id)} for a in actions],
        "statements": sorted(
            (act[s.action_id], sorted((k, str(v)) for k, v in s.body.items() if k not in dates))
            for s in db.session.scalars(select(StatementOfReasons))),
        "deliveries": [{**row(d), "action_id": act.get(d.action_id),
                        "payload": payload(d.payload)} for d in deliveries],
        "audit": [{**row(e),
                   "object_id": act[int(present(e.object_id))] if e.object_type == "action"
                   else e.object_id,
                   "data": {k: v for k, v in (e.data or {}).items() if k != "ends_at"}}
                  for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))],
        "accounts": sorted((a.platform_user_id, a.status)
                           for a in db.session.scalars(select(Account))),
        "positions": sent,
    }


def _run(app: Flask, database_url: str, rules: list[dict[str, Any]],
         one_by_one: bool) -> tuple[dict[str, Any], list[int]]:
    reset_tables(database_url)
    with app.app_context():
        flags = _world()
        config = replace(settings(), automation_rules=rules, automation_one_by_one=one_by_one)
        ids = apply_automation(db.session, flags, "v7", config)
        db.session.commit()
        snap = _snapshot()
        sent = snap.pop("positions")
        # Idempotent: the batch again finds every action in force and adds nothing.
        assert apply_automation(db.session, flags, "v7", config) == []
        db.session.commit()
        again = _snapshot()
        again.pop("positions")
        assert again == snap
        assert verify_chain(db.session).ok
        db.session.remove()
    return snap, [sent[i] for i in ids]


@pytest.mark.parametrize("rules", [RULES, CONTENT_RULES], ids=["account", "content"])
def test_batch_automation_writes_what_one_by_one_writes(
        app: Flask, database_url: str, rules: list[dict[str, Any]]) -> None:
    one_by_one, one_ids = _run(app, database_url, rules, one_by_one=True)
    batch, batch_ids = _run(app, database_url, rules, one_by_one=False)
    assert batch == one_by_one
    assert batch_ids == one_ids
    # The world tests something: new actions for several people, several platforms each,
    # an earlier action skipped, sequences numbered on from earlier deliveries.
    new = [a for a in batch["actions"] if a["model_version"] == "v7"]
    assert {a["type"] for a in new} >= {"mute", "warn", "restrict_calls"}
    assert len(new) >= 6 and len(batch_ids) > len(new)
    # p2 keeps its one mute; p0, p1, p3 and p4 get one each, however many flags.
    assert sum(a["type"] == "mute" for a in batch["actions"]) == 5
    assert any(d["sequence"] > 1 and d["action_id"] in range(3, 99)
               for d in batch["deliveries"])
    assert ("p3-old", "deleted") in batch["accounts"] and ("p3", "suspended") in batch["accounts"]
    assert ("p0", "restricted") in batch["accounts"]


def test_batch_refuses_content_of_someone_else(app: Flask, database_url: str) -> None:
    """A message of another person is refused as ``apply_action`` refuses it."""
    with app.app_context():
        flags = _world()
        people = dict(db.session.execute(select(Account.id, Account.person_id)).all())
        theirs = flags[0]
        other = next(p for a, p in people.items() if a != theirs.account_id
                     and p != people[theirs.account_id])
        request = ActionRequest(type=ActionType.MUTE, person_id=other, policy_reason="other",
                                decided_by_rule="r", automated=True,
                                message_id=theirs.content_id)
        mine = replace(request, person_id=people[theirs.account_id])
        with pytest.raises(AuthorityError):
            apply_actions(db.session, [mine, request])
        db.session.rollback()
        # The sender's own is accepted: the check is on the content, not on the batch.
        assert [a.action.person_id for a in apply_actions(db.session, [mine])] == [
            people[theirs.account_id]]
