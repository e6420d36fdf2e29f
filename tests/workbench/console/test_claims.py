"""Claim discipline: one case at a time by default, a held case names its holder and offers
no decision, and a bulk decision lists held cases and leaves them out."""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Flask
from sqlalchemy import select

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.workbench.console.test_depth_pages import _bulk
from workbench.extensions import db
from workbench.models import BulkOperationItem, Case
from workbench.settings import SETTINGS_KEY


def _held(app: Flask, moderator_id: int) -> list[int]:
    with app.app_context():
        return sorted(db.session.scalars(select(Case.id).where(
            Case.assignee_id == moderator_id, Case.status == "claimed")))


def test_next_gives_the_previous_case_back_first(app: Flask, world: World,
                                                 signed_in) -> None:
    client = signed_in("moderator")
    me = world.staff["moderator"]
    first = post_form(client, "/admin/queue/next").headers["Location"]
    assert _held(app, me) == [int(first.rsplit("/", 1)[1])]
    second = post_form(client, "/admin/queue/next")
    second_id = int(second.headers["Location"].rsplit("/", 1)[1])
    # One case at a time: the first went back to its queue, and the page says so.
    assert _held(app, me) == [second_id]
    with app.app_context():
        assert db.session.get_one(Case, int(first.rsplit("/", 1)[1])).status == "open"
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert f"Given back to the queue first: case {first.rsplit('/', 1)[1]}" in page
    # Claiming a case from its page follows the same rule.
    post_form(client, f"/admin/case/{world.other_case_ids[0]}/claim")
    assert _held(app, me) == [world.other_case_ids[0]]


def test_with_releasing_turned_off_next_is_refused_until_the_case_is_done(
        app: Flask, world: World, signed_in) -> None:
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           claim_next_releases=False)
    client = signed_in("moderator")
    me = world.staff["moderator"]
    post_form(client, "/admin/queue/next")
    held = _held(app, me)
    refused = post_form(client, "/admin/queue/next")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Finish your case first" in text and f"release case {held[0]} first" in text
    assert _held(app, me) == held
    post_form(client, f"/admin/case/{held[0]}/release")
    assert post_form(client, "/admin/queue/next").status_code == 302
    assert len(_held(app, me)) == 1


def test_a_case_held_by_someone_else_names_them_and_offers_no_decision(
        app: Flask, world: World, signed_in) -> None:
    post_form(signed_in("moderator"), f"/admin/case/{world.case_id}/claim")
    other = signed_in("moderator2")
    page = other.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert "Held by Moderator" in page
    assert 'id="decide-title"' not in page and "data-verdict=" not in page
    assert 'data-can-act="no"' in page
    assert f'/admin/case/{world.case_id}/claim"' not in page
    # Sent anyway: a page that says who holds it, not a bare "Not done".
    response = post_form(other, f"/admin/case/{world.case_id}/act", {"decision": "dismiss"})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Held by someone else" in text and "held by Moderator since" in text
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).status == "claimed"


def test_the_bulk_confirmation_lists_held_cases_and_skips_them(
        app: Flask, world: World, signed_in) -> None:
    held = world.other_case_ids[0]
    post_form(signed_in("moderator"), f"/admin/case/{held}/claim")
    senior = signed_in("senior")
    preview, _form = _bulk(senior, world.other_case_ids)
    text = preview.get_data(as_text=True)
    assert "for <strong>2 cases</strong>" in text
    assert "Skipped: 1 case held by a moderator" in text
    section = text[text.index('id="held-cases"'):text.index("</section>",
                                                             text.index('id="held-cases"'))]
    assert f"#{held}" in section and "Moderator" in section
    # The confirmation sends only the free cases.
    sent = re.findall(r'name="case_id" value="(\d+)"', text)
    assert sorted(int(i) for i in sent) == sorted(world.other_case_ids[1:])
    with app.app_context():
        assert db.session.scalars(select(BulkOperationItem)).all() == []
