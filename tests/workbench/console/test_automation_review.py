"""Automation under review: the queue of a model's actions, confirm and overturn, appeals with
the content acted on, and the decision panel's strike ladder and actions in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from actions.enforcement import ActionRequest, apply_action
from tests.support.console_forms import post_form
from tests.support.console_world import HOSTILE, World
from tests.support.jobs import run_jobs
from workbench.cases.scoring import Flag, apply_automation
from workbench.current import settings
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    Appeal,
    AuditEvent,
    Case,
    ClassifierScore,
    Message,
    Person,
    Strike,
    utcnow,
)

SPAM = 0.995


def _automate(app: Flask, world: World) -> int:
    """A model's rule mutes the world's person over one hostile message, as classify does."""
    with app.app_context():
        message = db.session.get_one(Message, world.message_id)
        message.text = HOSTILE["script"] + " win a free phone " + HOSTILE["bidi"]
        db.session.add(ClassifierScore(content_type="message", content_id=message.id,
                                       model_name="text", model_version="auto-1",
                                       scores={"spam_scam": SPAM, "abusive": 0.01}))
        account = db.session.get_one(Account, message.sender_account_id)
        apply_automation(db.session, [Flag("message", message.id, account.id,
                                           message.platform_id, "spam_scam", SPAM)],
                         "auto-1", settings())
        db.session.commit()
        return db.session.scalars(select(Action.id).where(Action.automated)).one()


@pytest.fixture
def automated(app: Flask, world: World) -> int:
    return _automate(app, world)


def _second_person_automated(app: Flask) -> int:
    with app.app_context():
        person = Person()
        db.session.add(person)
        db.session.flush()
        action = apply_action(db.session, ActionRequest(
            type=ActionType.MUTE, person_id=person.id, policy_reason="spam_scam",
            decided_by_rule="spam_scam>=0.99", model_version="auto-1", automated=True,
            duration=timedelta(hours=24)))
        db.session.commit()
        return action.id


def test_a_models_action_waits_for_review_but_a_rules_expiry_does_not(
        app: Flask, world: World, automated: int) -> None:
    with app.app_context():
        action = db.session.get_one(Action, automated)
        assert action.review_state == "pending"
        action.ends_at = utcnow() - timedelta(minutes=1)
        from actions.enforcement import expire_due

        lifted = expire_due(db.session)
        db.session.commit()
        assert db.session.get_one(Action, lifted[0]).review_state is None


def test_the_queue_lists_pending_actions_oldest_first_with_content_rule_and_score(
        app: Flask, world: World, automated: int, signed_in) -> None:
    later = _second_person_automated(app)
    page = signed_in("senior").get("/admin/automation/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index(f'id="review-{automated}"') < html.index(f'id="review-{later}"')
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "<script>window.__pwned" not in html
    assert "win a free phone" in html
    assert "spam_scam&gt;=0.99" in html and f"{SPAM:.3f}" in html
    assert "2 waiting" in html
    assert "Confirm the selected automated action" in html  # the help overlay's keys
    assert signed_in("moderator").get("/admin/automation/").status_code == 403


def test_confirming_records_the_review_once_and_audits_it(
        app: Flask, world: World, automated: int, signed_in) -> None:
    senior = signed_in("senior")
    url = f"/admin/automation/{automated}/review"
    assert post_form(senior, url, {"outcome": "confirm"}, "/admin/automation/").status_code \
        == 302
    with app.app_context():
        action = db.session.get_one(Action, automated)
        assert action.review_state == "confirmed" and action.status == "active"
        assert action.reviewed_by_id == world.staff["senior"]
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "automation.confirmed")).one()
        assert event.object_id == str(automated) and event.actor_id == str(world.staff["senior"])
    again = post_form(senior, url, {"outcome": "overturn"}, "/admin/automation/")
    assert again.status_code == 409
    with app.app_context():
        assert db.session.get_one(Action, automated).status == "active"
    assert f'id="review-{automated}"' not in senior.get("/admin/automation/").get_data(
        as_text=True)


def test_overturning_reverses_the_action_on_every_platform(
        app: Flask, world: World, automated: int, signed_in) -> None:
    run_jobs(app)  # the mute itself reaches the platforms first
    senior = signed_in("senior")
    response = post_form(senior, f"/admin/automation/{automated}/review",
                         {"outcome": "overturn"}, "/admin/automation/")
    assert response.status_code == 302
    run_jobs(app)
    with app.app_context():
        action = db.session.get_one(Action, automated)
        assert action.status == "reversed" and action.review_state == "overturned"
        lifting = db.session.get_one(Action, action.reversed_by_action_id)
        assert lifting.type == "unmute" and lifting.decided_by_id == world.staff["senior"]
        statuses = set(db.session.scalars(select(Account.status).where(
            Account.person_id == world.person_id)))
        assert statuses == {"active"}
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "automation.overturned")).one()
    for slug in ("calls", "web"):
        types = [p.get("type") for p in world.servers[slug].received if p["event"] == "action"]
        assert types == ["mute", "unmute"], (slug, types)


def test_reviews_are_refused_to_moderators_and_bad_outcomes_get_a_json_error(
        app: Flask, world: World, automated: int, signed_in) -> None:
    url = f"/admin/automation/{automated}/review"
    assert post_form(signed_in("moderator"), url, {"outcome": "confirm"}).status_code == 403
    senior = signed_in("senior")
    from tests.support.console_forms import csrf_token

    bad = senior.post(url, data={"outcome": "maybe",
                                 "csrf_token": csrf_token(senior, "/admin/automation/")},
                      headers={"Accept": "application/json"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "outcome"
    missing = senior.post("/admin/automation/999999/review",
                          data={"outcome": "confirm",
                                "csrf_token": csrf_token(senior, "/admin/automation/")},
                          headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.get_json()["error"]["field"] == "action_id"
    with app.app_context():
        assert db.session.get_one(Action, automated).review_state == "pending"


def _appeal(app: Flask, world: World, action_id: int) -> int:
    with app.app_context():
        account = db.session.scalars(select(Account).where(
            Account.person_id == world.person_id).order_by(Account.id)).first()
        assert account is not None
        appeal = Appeal(platform_id=account.platform_id, platform_appeal_id="ap-1",
                        action_id=action_id, account_id=account.id, text="it was not spam",
                        created_at=utcnow(), received_at=utcnow())
        db.session.add(appeal)
        db.session.commit()
        return appeal.id


def test_an_appeal_against_an_automated_action_shows_the_content_and_settles_the_review(
        app: Flask, world: World, automated: int, signed_in) -> None:
    appeal_id = _appeal(app, world, automated)
    senior = signed_in("senior")
    html = senior.get("/admin/appeals/").get_data(as_text=True)
    card = html[html.index(f'id="appeal-{appeal_id}"'):]
    assert 'href="#"' not in card
    assert "win a free phone" in card and "&lt;script&gt;" in card
    assert "<script>window.__pwned" not in html
    assert f"{SPAM:.3f}" in card
    response = post_form(senior, f"/admin/appeals/{appeal_id}/decide",
                         {"outcome": "overturn", "note": "Not spam."}, "/admin/appeals/")
    assert response.status_code == 302
    with app.app_context():
        action = db.session.get_one(Action, automated)
        assert action.status == "reversed" and action.review_state == "overturned"


def test_the_decision_panel_says_the_next_strike_step_and_what_is_in_force(
        app: Flask, world: World, automated: int, signed_in) -> None:
    with app.app_context():
        db.session.add(Strike(person_id=world.person_id, category="harassment",
                              expires_at=utcnow() + timedelta(days=30)))
        db.session.commit()
    client = signed_in("moderator")
    client.post(f"/admin/case/{world.case_id}/claim",
                data={"csrf_token": _token(client, world)})
    html = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    ladder = html[html.index('id="ladder"'):]
    assert "strike 2" in ladder and "suspend for 1 day" in ladder
    assert f"mute #{automated}" in ladder and "automated, pending" in ladder
    assert 'name="confirm_stack"' in ladder


def _token(client, world: World) -> str:
    from tests.support.console_forms import csrf_token

    return csrf_token(client, f"/admin/case/{world.case_id}")


def test_a_mute_on_top_of_one_in_force_needs_an_explicit_confirmation(
        app: Flask, world: World, automated: int, signed_in) -> None:
    client = signed_in("moderator")
    url = f"/admin/case/{world.case_id}/act"
    refused = post_form(client, url, {"decision": "mute", "policy_reason": "harassment"},
                        f"/admin/case/{world.case_id}")
    assert refused.status_code == 422
    assert "already in force" in refused.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Action).where(Action.type == "mute")).all()) == 1
    # The same decision, saying it means to stack, goes through.
    done = post_form(client, url, {"decision": "mute", "policy_reason": "harassment",
                                   "confirm_stack": "yes"}, f"/admin/case/{world.case_id}")
    assert done.status_code == 302
    with app.app_context():
        mutes = db.session.scalars(select(Action).where(Action.type == "mute")).all()
        assert len(mutes) == 2 and mutes[1].decided_by_id == world.staff["moderator"]


def test_where_the_settings_let_them_moderators_review_within_their_authority(
        app: Flask, world: World, automated: int, signed_in) -> None:
    from dataclasses import replace

    from workbench.settings import SETTINGS_KEY

    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           moderators_review_automation=True)
    with app.app_context():
        person = db.session.scalars(select(Case.person_id).where(
            Case.id == world.other_case_ids[0])).one()
        suspension = apply_action(db.session, ActionRequest(
            type=ActionType.SUSPEND, person_id=person, policy_reason="spam_scam",
            decided_by_rule="spam_scam>=0.999", model_version="auto-1", automated=True,
            duration=timedelta(days=1))).id
        db.session.commit()
    moderator = signed_in("moderator")
    assert moderator.get("/admin/automation/").status_code == 200
    lifted = post_form(moderator, f"/admin/automation/{suspension}/review",
                       {"outcome": "overturn"}, "/admin/automation/")
    assert lifted.status_code == 403  # lifting a suspension is a senior's
    assert post_form(moderator, f"/admin/automation/{automated}/review",
                     {"outcome": "overturn"}, "/admin/automation/").status_code == 302
    with app.app_context():
        assert db.session.get_one(Action, suspension).status == "active"
        assert db.session.get_one(Action, suspension).review_state == "pending"
        assert db.session.get_one(Action, automated).status == "reversed"


def test_a_bulk_mute_lists_people_already_muted_and_refuses_them_unless_confirmed(
        app: Flask, world: World, automated: int, signed_in) -> None:
    from werkzeug.datastructures import MultiDict

    from tests.support.console_forms import csrf_token

    senior = signed_in("senior")
    ids = [world.case_id, world.other_case_ids[0]]
    form = MultiDict([("case_id", str(i)) for i in ids]
                     + [("decision", "mute"), ("policy_reason", "spam_scam"),
                        ("csrf_token", csrf_token(senior, "/admin/queue/"))])
    preview = senior.post("/admin/bulk/preview", data=form).get_data(as_text=True)
    stacking = preview[preview.index('id="stacking-cases"'):]
    assert f"#{world.case_id}" in stacking and f"#{world.other_case_ids[0]}" not in stacking
    done = senior.post("/admin/bulk/confirm", data=form)
    assert done.status_code == 302
    page = senior.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 of 2 cases decided" in page and "already in force" in page
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).status != "actioned"
        assert db.session.get_one(Case, world.other_case_ids[0]).status == "actioned"
    form["confirm_stack"] = "yes"
    form.setlist("case_id", [str(world.case_id)])
    again = senior.post("/admin/bulk/confirm", data=form)
    assert "1 of 1 cases decided" in senior.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).status == "actioned"
