"""Appeals: filed through the API within the window, decided by a different senior."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.appeals import AppealError, decide_appeal
from actions.decisions import Decision, decide_case
from actions.enforcement import ActionRequest
from queues.enforce import enqueue_deliveries
from tests.support.enforcement import drain, staff_id
from tests.support.platform_api import PlatformApi
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Action, Appeal, Case, Strike, utcnow
from workbench.staff import create_moderator


@pytest.fixture
def banned(app: Flask, servers: dict[str, PlatformServer], person: int) -> int:
    """A person banned by senior@ on a case, with the strike that goes with it."""
    with app.app_context():
        create_moderator(db.session, "lead@example.org", "lantern-kiwi-9", "senior")
        case = Case(person_id=person, due_at=utcnow(), primary_category="hate")
        db.session.add(case)
        db.session.flush()
        senior = staff_id("senior@example.org")
        result = decide_case(db.session, case.id, moderator_id=senior, role="senior",
                             decision=Decision.VIOLATION, category="hate",
                             action=ActionRequest(type=ActionType.BAN, person_id=person,
                                                  policy_reason="hate", decided_by_id=senior,
                                                  case_id=case.id))
        db.session.commit()
        enqueue_deliveries(result.delivery_ids)
    drain(app)
    assert result.action_id is not None
    return result.action_id


def _appeal(servers: dict[str, PlatformServer], app: Flask, action_id: int, **extra: object):
    api = PlatformApi(app.test_client(), "web", servers["web"].secret)
    return api.post("/api/v1/appeals", {"appeals": [
        {"id": "ap-1", "user_id": "web-user", "action_id": action_id,
         "text": "It was my brother on my phone.", **extra}]})


def test_an_appeal_is_filed_through_the_api(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    r = _appeal(servers, app, banned)
    assert r.status_code == 202 and r.json == {"accepted": 1, "duplicate": 0}
    with app.app_context():
        appeal = db.session.scalars(select(Appeal)).one()
        assert appeal.status == "open" and appeal.action_id == banned


def test_appeals_outside_the_window_or_about_others_are_refused(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    with app.app_context():
        db.session.execute(update(Action).where(Action.id == banned)
                           .values(created_at=utcnow() - timedelta(days=21)))
        db.session.commit()
    r = _appeal(servers, app, banned)
    assert r.status_code == 422 and "window" in r.json["error"]["message"]
    assert r.json["error"]["index"] == 0
    other = PlatformApi(app.test_client(), "web", servers["web"].secret).post(
        "/api/v1/appeals", {"appeals": [{"id": "x", "user_id": "nobody", "action_id": banned,
                                         "text": "hi"}]})
    assert other.status_code == 422 and other.json["error"]["field"] == "appeals[0].user_id"


def test_the_window_is_counted_from_receipt_not_the_platforms_date(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    with app.app_context():
        db.session.execute(update(Action).where(Action.id == banned)
                           .values(created_at=utcnow() - timedelta(days=21)))
        db.session.commit()
    r = _appeal(servers, app, banned, created_at="2001-01-01T00:00:00Z")
    assert r.status_code == 422 and "window" in r.json["error"]["message"]
    with app.app_context():
        assert db.session.scalars(select(Appeal)).all() == []


def test_the_moderator_who_acted_may_not_decide_the_appeal(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    _appeal(servers, app, banned)
    with app.app_context():
        appeal_id = db.session.scalars(select(Appeal.id)).one()
        with pytest.raises(AppealError, match="different moderator"):
            decide_appeal(db.session, appeal_id, moderator_id=staff_id("senior@example.org"),
                          role="senior", overturn=True, note="my own call")
        with pytest.raises(AppealError, match="senior"):
            decide_appeal(db.session, appeal_id, moderator_id=staff_id("mod@example.org"),
                          role="moderator", overturn=True, note="not mine to decide")


def test_overturning_reverses_everywhere_removes_the_strike_and_tells_the_user(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    _appeal(servers, app, banned)
    with app.app_context():
        appeal_id = db.session.scalars(select(Appeal.id)).one()
        result = decide_appeal(db.session, appeal_id,
                               moderator_id=staff_id("lead@example.org"), role="senior",
                               overturn=True, note="Evidence shows a shared phone.")
        db.session.commit()
        enqueue_deliveries(result.delivery_ids)
    drain(app)
    for slug, server in servers.items():
        assert server.state == {f"{slug}-user": "active"}, slug
    assert [p["event"] for p in servers["web"].received][-1] == "appeal_outcome"
    assert servers["web"].received[-1]["outcome"] == "overturned"
    with app.app_context():
        assert db.session.get_one(Action, banned).status == "reversed"
        assert db.session.scalars(select(Strike.removed_at)).one() is not None
        assert db.session.scalars(select(Appeal.status)).one() == "overturned"


def test_upholding_keeps_the_ban(
    app: Flask, servers: dict[str, PlatformServer], banned: int
) -> None:
    _appeal(servers, app, banned)
    with app.app_context():
        appeal_id = db.session.scalars(select(Appeal.id)).one()
        result = decide_appeal(db.session, appeal_id,
                               moderator_id=staff_id("lead@example.org"), role="senior",
                               overturn=False, note="Upheld.")
        db.session.commit()
        enqueue_deliveries(result.delivery_ids)
    drain(app)
    assert servers["calls"].state == {"calls-user": "banned"}
    assert servers["web"].received[-1]["outcome"] == "upheld"
