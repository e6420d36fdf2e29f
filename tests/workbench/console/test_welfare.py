"""The welfare path: a person who may harm themselves is first sent safety resources, through
the same deliveries as any action; punishing them instead needs a written reason."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import Action, Case, Report, Strike, utcnow
from workbench.reporting.transparency import monthly_report
from workbench.rules.welfare import WelfarePolicy
from workbench.settings import SettingsError, load_settings


def _self_harm(app: Flask, world: World) -> None:
    """The world's case becomes one about a person who may harm themselves."""
    with app.app_context():
        db.session.execute(update(Report).where(Report.case_id == world.case_id)
                           .values(category="self_harm"))
        db.session.execute(update(Case).where(Case.id == world.case_id).values(
            primary_category="self_harm", categories={"self_harm": 2}))
        db.session.commit()


def _open(client: FlaskClient, world: World) -> str:
    post_form(client, f"/admin/case/{world.case_id}/claim")
    return client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)


def test_a_self_harm_case_offers_safety_resources_first_and_no_punitive_default(
        app: Flask, world: World, signed_in) -> None:
    _self_harm(app, world)
    page = _open(signed_in("moderator"), world)
    verdicts = re.findall(r'data-verdict="(\w+)"', page[page.index('class="verdicts"'):])
    assert verdicts[0] == "welfare_check"
    assert "Tele-MANAS 14416" in page
    # No reason is chosen for the moderator: the only selected option is the empty one.
    assert re.findall(r'<option value="(\w*)" selected>', page) == [""]
    assert 'name="why_not_welfare"' in page


def test_an_ordinary_case_offers_no_welfare_check(app: Flask, world: World,
                                                  signed_in) -> None:
    client = signed_in("moderator")
    page = _open(client, world)
    assert 'data-verdict="welfare_check"' not in page and "Tele-MANAS" not in page
    # Sent anyway, it would close a threat case with no strike: refused.
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "welfare_check", "policy_reason": ""})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []
        assert db.session.get_one(Case, world.case_id).status == "claimed"


def test_a_welfare_check_reaches_every_platform_with_the_helplines_and_no_strike(
        app: Flask, world: World, signed_in) -> None:
    _self_harm(app, world)
    client = signed_in("moderator")
    _open(client, world)
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "welfare_check", "policy_reason": "",
                          "note_to_user": "We are here for you."})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    run_jobs(app)
    for slug in ("calls", "web"):
        [payload] = [p for p in world.servers[slug].received if p["event"] == "action"]
        assert payload["type"] == "welfare_check"
        assert payload["resources"][0]["name"] == "Tele-MANAS"
        assert payload["resources"][0]["number"] == "14416"
        assert payload["note_to_user"] == "We are here for you."
    # The reporters' platform hears the case was acted on, and nothing about the person.
    [outcome] = [p for p in world.servers["calls"].received if p["event"] == "outcome"]
    assert outcome["outcome"] == "action_taken" and "resources" not in outcome
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        assert (case.status, case.decision) == ("actioned", "welfare")
        assert db.session.scalars(select(Strike)).all() == []
        assert db.session.scalars(select(Action.type)).all() == ["welfare_check"]
        now = utcnow()
        report = monthly_report(db.session, now.year, now.month)
        assert report["welfare_checks"] == {"sent": 1}


def test_a_punitive_decision_on_a_welfare_case_needs_a_written_reason(
        app: Flask, world: World, signed_in) -> None:
    _self_harm(app, world)
    client = signed_in("moderator")
    _open(client, world)
    refused = post_form(client, f"/admin/case/{world.case_id}/act",
                        {"decision": "mute", "policy_reason": "self_harm"})
    assert refused.status_code == 422
    assert b"send safety resources first" in refused.data
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []
        assert db.session.get_one(Case, world.case_id).status == "claimed"
    done = post_form(client, f"/admin/case/{world.case_id}/act",
                     {"decision": "mute", "policy_reason": "spam_scam",
                      "why_not_welfare": "the self-harm report was a copy-paste spam wave"})
    assert done.status_code == 302
    with app.app_context():
        action = db.session.scalars(select(Action)).one()
        assert action.type == "mute" and "copy-paste spam wave" in (action.facts or "")


def test_the_welfare_categories_and_helplines_are_settings() -> None:
    policy = WelfarePolicy.from_config(["harassment"], [{"name": "Local line",
                                                         "number": "112"}])
    assert policy.applies({"harassment"}) and not policy.applies({"self_harm"})
    assert policy.resources() == [{"name": "Local line", "number": "112"}]
    assert WelfarePolicy.from_config().applies({"self_harm"})
    with pytest.raises(SettingsError, match="WORKBENCH_WELFARE_CATEGORIES"):
        load_settings({"welfare_categories": ["sadness"], "secret_key": "x" * 32},
                      environ={})
    with pytest.raises(SettingsError, match="WORKBENCH_WELFARE_HELPLINES"):
        load_settings({"welfare_helplines": [{"name": "no number"}], "secret_key": "x" * 32},
                      environ={})
