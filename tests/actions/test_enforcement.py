"""A decision reaches every platform holding an account of the person, once, in order."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.enforcement import (
    ActionRequest,
    AuthorityError,
    apply_action,
    check_authority,
    reach,
    reverse_action,
)
from queues.enforce import enqueue_deliveries, expire_actions
from tests.support.app import TEST_SECRET_KEY
from tests.support.enforcement import act, drain, staff_id, states, time_passes
from tests.support.platform_server import PlatformServer
from tests.support.statements import recorded
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, Action, EnforcementDelivery, Platform, utcnow

GOLDEN = Path(__file__).parent / "golden"


def test_a_ban_reaches_all_three_platforms_exactly_once(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    act(app, person, ActionType.BAN)
    drain(app)
    for slug, server in servers.items():
        assert server.effects() == 1 and sum(server.keys.values()) == 1
        assert server.state == {f"{slug}-user": "banned"}
        assert server.bad_signatures == 0
    assert states(app) == {"delivered": 3}


def test_the_preview_says_what_an_action_will_reach(app: Flask, person: int) -> None:
    with app.app_context():
        r = reach(db.session, person)
        assert r.describe() == "3 accounts on 3 platforms"
        assert r.platforms == ["calls", "meet", "web"]


def test_a_platform_failing_twice_gets_it_on_the_third_try(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    servers["web"].fail_next = 2
    act(app, person, ActionType.BAN)
    drain(app)
    assert states(app) == {"delivered": 2, "pending": 1}
    for _ in range(2):
        time_passes(app)
        drain(app)
    assert states(app) == {"delivered": 3}
    assert servers["web"].effects() == 1 and servers["web"].state == {"web-user": "banned"}
    with app.app_context():
        web = db.session.scalars(select(EnforcementDelivery).join(Platform)
                                 .where(Platform.slug == "web")).one()
        assert web.attempts == 3 and web.last_status_code == 200


def test_a_platform_that_is_down_gets_everything_in_order_when_it_is_back(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    servers["meet"].stop()
    act(app, person, ActionType.SUSPEND, duration=timedelta(days=7))
    act(app, person, ActionType.BAN)
    drain(app)
    assert servers["calls"].state == {"calls-user": "banned"}
    servers["meet"].start()
    time_passes(app)
    drain(app)
    time_passes(app)
    drain(app)
    sequences = [p["sequence"] for p in servers["meet"].received]
    assert sequences == sorted(sequences) == [1, 2]
    assert servers["meet"].state == {"meet-user": "banned"}


def test_ban_then_unban_while_a_platform_is_down_ends_unbanned(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    servers["web"].stop()
    ban = act(app, person, ActionType.BAN)
    with app.app_context():
        lifting = reverse_action(db.session, ban, policy_reason="appeal upheld",
                                 decided_by_id=staff_id("senior@example.org"))
        ids = [d.id for d in lifting.deliveries]
        db.session.commit()
    with app.app_context():
        enqueue_deliveries(ids)
    drain(app)
    servers["web"].start()
    for _ in range(3):
        time_passes(app)
        drain(app)
    for slug, server in servers.items():
        assert server.state == {f"{slug}-user": "active"}, slug
        assert [p["type"] for p in server.received] == ["ban", "unban"]
    with app.app_context():
        assert db.session.get_one(Action, ban).status == "reversed"
        assert {a.status for a in db.session.scalars(select(Account))} == {"active"}


def test_a_stale_delivery_is_dropped_by_the_platform_by_its_sequence(
    servers: dict[str, PlatformServer],
) -> None:
    # A platform that receives the unban before the ban (e.g. a proxy reordered them)
    # keeps the later decision: the payloads carry the sequence for exactly this.
    server = servers["calls"]
    server._apply({"type": "unban", "sequence": 2, "user_ids": ["u"]})
    server._apply({"type": "ban", "sequence": 1, "user_ids": ["u"]})
    assert server.state == {"u": "active"}


def test_a_suspension_ends_on_time_even_after_the_worker_was_down(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    action_id = act(app, person, ActionType.SUSPEND, duration=timedelta(days=1))
    drain(app)
    assert servers["calls"].state == {"calls-user": "suspended"}
    with app.app_context():
        # The worker was down across the end: the end is in the past when it comes back.
        db.session.execute(update(Action).where(Action.id == action_id)
                           .values(ends_at=utcnow() - timedelta(hours=3)))
        db.session.commit()
        assert expire_actions() == 1
        assert expire_actions() == 0  # caught up once, not twice
    drain(app)
    for slug, server in servers.items():
        assert server.state == {f"{slug}-user": "active"}
        assert [p["type"] for p in server.received] == ["suspend", "unsuspend"]
    with app.app_context():
        assert db.session.get_one(Action, action_id).status == "expired"


def test_a_moderator_may_suspend_but_not_ban(app: Flask, person: int) -> None:
    with app.app_context():
        mod = staff_id("mod@example.org")
        suspend = ActionRequest(type=ActionType.SUSPEND, person_id=person,
                                policy_reason="harassment", decided_by_id=mod,
                                duration=timedelta(days=7))
        check_authority("moderator", suspend)
        with pytest.raises(AuthorityError):
            check_authority("moderator", ActionRequest(
                type=ActionType.BAN, person_id=person, policy_reason="hate", decided_by_id=mod))
        with pytest.raises(AuthorityError):
            check_authority("moderator", ActionRequest(
                type=ActionType.SUSPEND, person_id=person, policy_reason="hate",
                decided_by_id=mod, duration=timedelta(days=90)))
        with pytest.raises(AuthorityError):
            check_authority("legal", suspend)


def test_the_webhook_payload_matches_the_golden_file(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    act(app, person, ActionType.SUSPEND, duration=timedelta(days=7))
    drain(app)
    payload = dict(servers["web"].received[0])
    assert payload["until"].endswith("+00:00")
    payload["until"] = "<7 days from now>"
    payload["delivery_id"] = "<id>"
    payload["action_id"] = "<id>"
    payload["statement_url"] = payload["statement_url"].rsplit("/", 1)[0] + "/<id>"
    expected = json.loads((GOLDEN / "suspend_payload.json").read_text())
    assert payload == expected


def test_each_restriction_carries_a_statement_of_reasons(app: Flask, person: int) -> None:
    action_id = act(app, person, ActionType.SUSPEND, duration=timedelta(days=7),
                    facts="Repeated insults in chat after a warning.")
    with app.app_context():
        statement = db.session.get_one(Action, action_id).statement
        assert statement is not None
        body = statement.body
        assert body["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
        assert body["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        assert body["incompatible_content_ground"].startswith("Community Guidelines 4.1")
        assert body["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
        assert body["decision_facts"] == "Repeated insults in chat after a warning."
        assert "redress" in body and body["territorial_scope"] == ["IN"]


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_no_effect(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    for server in servers.values():
        server.delay_s = 2.0  # slow platforms: the worker dies while its requests are open
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=ActionType.BAN, person_id=person, policy_reason="hate",
            decided_by_id=staff_id("senior@example.org")))
        ids = [d.id for d in action.deliveries]
        db.session.commit()
        enqueue_deliveries(ids)
    s = app.extensions["workbench.settings"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "workbench", "worker", "--queues", "enforce"],
        env=dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url,
                 WORKBENCH_REDIS_URL=s.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
                 WORKBENCH_INSTANCE_DIR=str(s.instance_dir)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while sum(sv.in_flight for sv in servers.values()) < 3:
            assert time.monotonic() < deadline, "the worker never sent the deliveries"
            time.sleep(0.02)
        # The whole worker dies at once, its work horse (in its own process group) too.
        import psutil

        for proc in [*psutil.Process(worker.pid).children(recursive=True),
                     psutil.Process(worker.pid)]:
            proc.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    time.sleep(2.5)  # the platforms finish the requests the dead worker had open
    assert states(app) == {"pending": 3}  # nothing recorded: the worker died first
    for server in servers.values():
        server.delay_s = 0.0
    time_passes(app)  # the dead worker's lease runs out
    drain(app)
    assert states(app) == {"delivered": 3}
    for slug, server in servers.items():
        assert sum(server.keys.values()) == 2  # sent twice, with one idempotency key
        assert server.effects() == 1  # applied once
        assert server.state == {f"{slug}-user": "banned"}


def test_an_evading_account_is_banned_on_arrival_and_a_case_opens(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    from tests.support.platform_api import PlatformApi
    from workbench.models import Case, Report

    act(app, person, ActionType.BAN)
    drain(app)
    # A new account on the website shares a device with... nothing yet; then it reuses the
    # banned person's phone number.
    api = PlatformApi(app.test_client(), "web", servers["web"].secret)
    r = api.post("/api/v1/accounts", {"accounts": [
        {"id": "fresh-start", "username": "totally new", "phone_hash": "f" * 64}]})
    assert r.status_code == 202
    drain(app)
    assert servers["web"].state == {"web-user": "banned", "fresh-start": "banned"}
    assert servers["calls"].effects() == 1  # the other platforms hear nothing new
    with app.app_context():
        fresh = db.session.scalars(
            select(Account).where(Account.platform_user_id == "fresh-start")).one()
        assert fresh.person_id == person and fresh.status == "banned"
        report = db.session.scalars(select(Report).where(Report.source == "evasion")).one()
        assert report.description is not None
        assert report.category == "ban_evasion" and "phone or device" in report.description
        case = db.session.get_one(Case, report.case_id)
        assert case.person_id == person and case.status == "open"
    # The same account arriving again changes nothing.
    api.post("/api/v1/accounts", {"accounts": [
        {"id": "fresh-start", "username": "totally new!", "phone_hash": "f" * 64}]})
    drain(app)
    assert servers["web"].effects() == 2


def test_platforms_can_ask_a_users_standing(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    from tests.support.platform_api import PlatformApi

    api = PlatformApi(app.test_client(), "meet", servers["meet"].secret)
    assert api.get("/api/v1/users/meet-user/status").json["status"] == "active"
    action_id = act(app, person, ActionType.SUSPEND, duration=timedelta(days=7))
    answer = api.get("/api/v1/users/meet-user/status").json
    assert answer["status"] == "suspended"
    assert answer["actions"][0]["action_id"] == action_id
    assert answer["actions"][0]["until"] is not None
    act(app, person, ActionType.BAN)
    assert api.get("/api/v1/users/meet-user/status").json["status"] == "banned"


def test_statements_export_as_json_lines_without_personal_data(
    app: Flask, person: int, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    act(app, person, ActionType.SUSPEND, duration=timedelta(days=7), facts="Insults in chat.")
    s = app.extensions["workbench.settings"]
    out = tmp_path / "sor.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "statements", "export", "--out", str(out)],
        env=dict(os.environ, WORKBENCH_DATABASE_URL=s.database_url,
                 WORKBENCH_REDIS_URL=s.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY,
                 WORKBENCH_INSTANCE_DIR=str(s.instance_dir)),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 1
    assert lines[0]["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    text = out.read_text()
    for personal in ("calls-user", "web-user", "meet-user", "f" * 64):
        assert personal not in text


def test_a_remove_content_webhook_names_the_item_as_the_platform_knows_it(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    from datetime import UTC, datetime

    from workbench.api.schemas import MessageIn
    from workbench.api.store import store_messages
    from workbench.models import Message

    with app.app_context():
        web = db.session.scalars(select(Platform.id).where(Platform.slug == "web")).one()
        store_messages(db.session, web, [MessageIn(
            id="msg-9f2c", conversation_id="conv-1", sender_id="web-user",
            recipient_id="someone-else", text="you are worthless",
            sent_at=datetime.now(UTC))])
        db.session.commit()
        message_id = db.session.scalars(select(Message.id)).one()
    act(app, person, ActionType.REMOVE_CONTENT, message_id=message_id)
    drain(app)
    assert [p["type"] for p in servers["calls"].received + servers["meet"].received] == []
    payload = dict(servers["web"].received[0])
    payload["delivery_id"] = payload["action_id"] = "<id>"
    payload["statement_url"] = payload["statement_url"].rsplit("/", 1)[0] + "/<id>"
    assert payload == json.loads((GOLDEN / "remove_content_payload.json").read_text())


def test_a_ban_writes_its_deliveries_in_statements_that_do_not_grow_with_the_platforms(
    app: Flask, servers: dict[str, PlatformServer], person: int, database_url: str
) -> None:
    """Each platform reached adds no statement on PostgreSQL: the sequences are read, the
    deliveries inserted and their bodies written once for all of them (SQLite inserts and
    updates a row at a time); the sequences go on from each platform's last, and the new
    action holds its deliveries without reading them back."""
    with app.app_context():
        platforms = dict(db.session.execute(select(Platform.slug, Platform.id)).all())
        upsert_accounts(db.session, platforms["calls"], [AccountIn(id="loner", username="loner")])
        loner = db.session.scalars(select(Account.person_id).where(
            Account.platform_user_id == "loner")).one()
        senior = staff_id("senior@example.org")
        db.session.commit()
        statements: list[str] = []

        def ban(person_id: int) -> tuple[int, Action]:
            with recorded(db.engine) as seen:
                action = apply_action(db.session, ActionRequest(
                    type=ActionType.SUSPEND, person_id=person_id, policy_reason="spam_scam",
                    decided_by_id=senior, duration=timedelta(days=1)))
                written = len(seen)
                assert [d.id for d in action.deliveries] and len(seen) == written
            statements[:] = [sql for sql, _ in seen]
            return written, action

        one, alone = ban(loner)
        three, first = ban(person)
        again, second = ban(person)
        db.session.commit()
        assert len(alone.deliveries) == 1 and len(first.deliveries) == 3
        if database_url.startswith("postgresql"):
            assert one == three == again, "\n".join(s[:90] for s in statements)
        assert sorted(d.sequence for d in first.deliveries) == [1, 1, 1]
        assert sorted(d.sequence for d in second.deliveries) == [2, 2, 2]
        stored = db.session.execute(select(EnforcementDelivery.id, EnforcementDelivery.payload)
                                    .where(EnforcementDelivery.person_id == person)).all()
        assert len(stored) == 6
        for delivery_id, payload in stored:
            assert payload["delivery_id"] == delivery_id and payload["type"] == "suspend"
