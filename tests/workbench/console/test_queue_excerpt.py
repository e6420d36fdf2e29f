"""The queue shows what was reported, so a moderator sees what waits before opening it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.support.console_forms import sign_in
from tests.support.console_world import HOSTILE, STAFF, World, build_world, stop
from workbench.cases.triage import reported_excerpts
from workbench.extensions import db
from workbench.models import Case


def test_each_row_shows_the_start_of_what_was_reported(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    page = signed_in("moderator").get("/admin/queue/").get_data(as_text=True)
    # The case's main category is the threat in the call recording: its transcript leads.
    assert '<div class="excerpt"><bdi class="untrusted">shut up you worthless idiot i will ' \
           'kill you</bdi></div>' in page
    with app.app_context():
        excerpts = reported_excerpts(db.session, [world.case_id, *world.other_case_ids])
        assert db.session.get_one(Case, world.case_id).primary_category == "violent_threat"
    assert excerpts[world.case_id] == "shut up you worthless idiot i will kill you"
    assert set(excerpts) == {world.case_id}  # the spam reports name no message


def test_a_hostile_excerpt_is_escaped(app: Flask) -> None:
    hostile = build_world(app, hostile=True)
    try:
        with app.app_context():
            db.session.get_one(Case, hostile.case_id).primary_category = "harassment"
            db.session.commit()
        client = app.test_client()
        sign_in(client, STAFF["moderator"])
        page = client.get("/admin/queue/").get_data(as_text=True)
        assert HOSTILE["script"] not in page
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; you are a worthless idiot" in page
    finally:
        stop(hostile)
