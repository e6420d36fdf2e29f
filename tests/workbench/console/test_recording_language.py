"""A recording in a language the speech model does not know: the console says to listen,
and keeps the English model's guess out of sight (and out of the queue row)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.support.console_forms import post_form
from tests.support.console_world import World
from workbench.cases.acted_on import acted_on
from workbench.extensions import db
from workbench.models import Action, Recording

GUESS = "shut up you worthless idiot i will kill you"  # the world's recording transcript
MARKER = "listen: no transcript for this language"


def _recording_block(page: str, recording_id: int) -> str:
    match = re.search(rf'<article[^>]*id="evidence-recording-{recording_id}".*?</article>',
                      page, re.S)
    assert match, "no recording block on the case page"
    return match.group(0)


def _mark_untranscribed(app: Flask, recording_id: int) -> None:
    with app.app_context():
        db.session.get_one(Recording, recording_id).transcript_status = "no_transcript_language"
        db.session.commit()


def test_the_case_page_says_listen_and_hides_the_guess_behind_a_toggle(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    _mark_untranscribed(app, world.recording_id)
    client = signed_in("moderator")
    post_form(client, f"/admin/case/{world.case_id}/claim")
    page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    block = _recording_block(page, world.recording_id)
    assert MARKER in block
    assert f"/admin/case/recording/{world.recording_id}/audio" in block  # the player stays
    # The guess is only inside the closed toggle; no segment table repeats it.
    shown = re.sub(r'<details class="untrusted-transcript">.*?</details>', "", block, flags=re.S)
    assert "worthless" not in shown and "Segments (" not in shown
    assert GUESS in block
    # The call's timeline says the same instead of the guessed words.
    timeline = page[page.index('id="evidence-call-'):]
    assert MARKER in timeline and "worthless idiot i will" not in timeline


def test_the_queue_row_says_listen_instead_of_the_guess(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    _mark_untranscribed(app, world.recording_id)
    page = signed_in("moderator").get("/admin/queue/").get_data(as_text=True)
    assert f'<div class="excerpt"><bdi class="untrusted">{MARKER}</bdi></div>' in page
    assert "worthless idiot i will" not in page


def test_a_transcribed_recording_shows_its_transcript(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("moderator")
    post_form(client, f"/admin/case/{world.case_id}/claim")
    page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    block = _recording_block(page, world.recording_id)
    assert MARKER not in block and "Segments (1)" in block and ">kill</mark>" in block


def test_words_spotted_in_the_guess_are_not_shown_as_spotted(
        app: Flask, world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("moderator")
    post_form(client, f"/admin/case/{world.case_id}/claim")
    url = f"/admin/case/{world.case_id}"
    assert "Spotted: kill" in _recording_block(client.get(url).get_data(as_text=True),
                                               world.recording_id)
    _mark_untranscribed(app, world.recording_id)
    block = _recording_block(client.get(url).get_data(as_text=True), world.recording_id)
    assert "Spotted:" not in block


def test_what_was_acted_on_labels_the_guess_and_keeps_it_out_of_the_quote(
        app: Flask, world: World) -> None:
    _mark_untranscribed(app, world.recording_id)
    with app.app_context(), app.test_request_context():
        action = Action(id=10**9, type="remove_content", recording_id=world.recording_id)
        what = acted_on(db.session, [action])[action.id]
        assert what.items[0].machine_guess
        # A template module holds its macros as attributes set when it is rendered.
        macro = vars(app.jinja_env.get_template("console/_acted_on.html").module)["acted_on_block"]
        html = str(macro(what))
    assert 'class="acted-on-text"' not in html  # never quoted as what was said
    assert MARKER in html and "Machine guess, not a transcript" in html
    assert re.search(r'<details class="untrusted-transcript">.*worthless.*</details>', html,
                     re.S)
