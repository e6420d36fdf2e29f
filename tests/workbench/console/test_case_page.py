"""The case page: what a moderator reads, and what each decision does to the world."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from tests.support.console_forms import post_form
from tests.support.console_world import HOSTILE, World, build_world, stop
from tests.support.jobs import run_jobs
from workbench.enums import DeliveryState
from workbench.extensions import db
from workbench.models import (
    Action,
    Appeal,
    AuditEvent,
    Case,
    CaseNote,
    EnforcementDelivery,
    Moderator,
    StatementOfReasons,
    utcnow,
)


def _claim_and_open(client: FlaskClient, world: World, case_id: int | None = None) -> str:
    case_id = case_id or world.case_id
    post_form(client, f"/admin/case/{case_id}/claim")
    return client.get(f"/admin/case/{case_id}").get_data(as_text=True)


def test_the_case_shows_context_scores_recordings_and_the_person(app: Flask, world: World,
                                                                 signed_in) -> None:
    page = _claim_and_open(signed_in("moderator"), world)
    # The reported message with the conversation before and after it.
    for line in ("hi, how was your day?", "what do you do?", "please stop", ">no<"):
        assert line in page.replace("</bdi>", "<").replace('untrusted">', ">"), line
    # Explanation tokens are highlighted, scores and model version shown.
    assert '<mark class="why"' in page and "worthless" in page and "test-1" in page
    # The recording: a player, the transcript with the spotted word marked, segment scores.
    assert f"/admin/case/recording/{world.recording_id}/audio" in page
    assert '>kill</mark>' in page and "abusive 0.91" in page
    # The person across the group: three accounts on two platforms.
    assert "3 accounts on 2 platforms" in page
    assert all(uid in page for uid in ("c-100", "c-101", "w-100"))
    assert "he keeps insulting me" in page
    # The call the recording came from, as one timeline.
    assert page.count("joined the call") == 2 and 'class="t-speech"' in page
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.verb == "case.viewed")).first()


def test_the_audio_player_gets_the_original_bytes(app: Flask, world: World,
                                                  signed_in) -> None:
    from tests.support.console_world import RECORDING

    response = signed_in("moderator").get(f"/admin/case/recording/{world.recording_id}/audio")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.data == RECORDING.read_bytes()


def test_the_audio_player_can_seek_with_byte_ranges(app: Flask, world: World,
                                                   signed_in) -> None:
    from tests.support.console_world import RECORDING

    data, client = RECORDING.read_bytes(), signed_in("moderator")
    url = f"/admin/case/recording/{world.recording_id}/audio"
    whole = client.get(url)
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.content_length == len(data)
    part = client.get(url, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.data == data[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"another-version"'})
    assert stale.status_code == 200 and stale.data == data
    with app.app_context():  # one listen, however many ranges the player asked for
        plays = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "recording.played")).all()
        assert len(plays) == 1  # one listening session, whatever ranges were asked


def test_suspending_for_seven_days_reaches_every_account_and_platform(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    _claim_and_open(client, world)
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "suspend_7", "policy_reason": "harassment",
                          "note_to_user": "Insults are not allowed."})
    assert response.status_code == 302
    run_jobs(app)
    with app.app_context():
        action = db.session.scalars(select(Action)).one()
        assert action.type == "suspend" and action.decided_by_id == world.staff["moderator"]
        assert action.ends_at is not None
        assert timedelta(days=6, hours=23) < action.ends_at - utcnow() <= timedelta(days=7)
        assert db.session.scalars(select(StatementOfReasons)).one().body[
            "decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
        case = db.session.get_one(Case, world.case_id)
        assert case.status == "actioned" and case.decision == "violation"
        states = {d.platform_id: d.state for d in db.session.scalars(
            select(EnforcementDelivery).where(EnforcementDelivery.action_id == action.id))}
    assert set(states) == {world.platform_ids["calls"], world.platform_ids["web"]}
    assert set(states.values()) == {DeliveryState.DELIVERED.value}
    assert world.servers["calls"].state == {"c-100": "suspended", "c-101": "suspended"}
    assert world.servers["web"].state == {"w-100": "suspended"}
    page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert "delivered" in page and "Statement of reasons" in page


def test_a_moderator_is_refused_a_ban_and_nothing_happens(app: Flask, world: World,
                                                          signed_in) -> None:
    client = signed_in("moderator")
    page = _claim_and_open(client, world)
    assert 'data-verdict="ban"' not in page  # not offered...
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "ban", "policy_reason": "harassment"})
    assert response.status_code == 403  # ...and refused when sent anyway
    assert b"may not ban" in response.data
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []
        assert db.session.get_one(Case, world.case_id).status == "claimed"


def test_a_senior_bans(app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    assert 'data-verdict="ban"' in _claim_and_open(client, world)
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "ban", "policy_reason": "violent_threat"})
    assert response.status_code == 302
    run_jobs(app)
    assert world.servers["calls"].state == {"c-100": "banned", "c-101": "banned"}
    assert world.servers["web"].state == {"w-100": "banned"}


def test_a_decision_needs_a_reason_from_the_list(app: Flask, world: World,
                                                 signed_in) -> None:
    client = signed_in("moderator")
    _claim_and_open(client, world)
    response = post_form(client, f"/admin/case/{world.case_id}/act",
                         {"decision": "warn", "policy_reason": "because I said so"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(Action)).all() == []


def test_a_case_held_by_another_moderator_cannot_be_decided(app: Flask, world: World,
                                                            signed_in) -> None:
    _claim_and_open(signed_in("moderator"), world)
    other = signed_in("moderator2")
    response = post_form(other, f"/admin/case/{world.case_id}/act",
                         {"decision": "dismiss"})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).status == "claimed"


def test_dismissing_tells_the_reporting_platform(app: Flask, world: World,
                                                 signed_in) -> None:
    client = signed_in("moderator")
    _claim_and_open(client, world)
    post_form(client, f"/admin/case/{world.case_id}/act", {"decision": "dismiss"})
    run_jobs(app)
    outcomes = [p for p in world.servers["calls"].received if p["event"] == "outcome"]
    assert outcomes == [{"event": "outcome", "delivery_id": outcomes[0]["delivery_id"],
                         "sequence": 1, "report_ids": ["r-1", "r-2"],
                         "outcome": "no_violation_found"}]


def test_ending_a_live_call_is_one_decision_and_leaves_the_case_open(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("senior")
    page = _claim_and_open(client, world, world.live_case_id)
    assert 'id="end-call"' in page and f'data-target-id="{world.call_id}"' in page
    response = post_form(client, f"/admin/case/{world.live_case_id}/act",
                         {"decision": "end_call", "policy_reason": "sexual_content",
                          "target_kind": "call", "target_id": str(world.call_id)})
    assert response.status_code == 302
    run_jobs(app)
    assert [p["type"] for p in world.servers["web"].received] == ["end_call"]
    with app.app_context():
        assert db.session.get_one(Case, world.live_case_id).status == "claimed"


def test_notes_reassignment_and_release(app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    _claim_and_open(client, world)
    post_form(client, f"/admin/case/{world.case_id}/note", {"text": "checked the call audio"})
    response = post_form(client, f"/admin/case/{world.case_id}/reassign",
                         {"to": str(world.staff["moderator2"]), "reason": "Hindi speaker"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(CaseNote.text)).all() == ["checked the call audio"]
        assert db.session.get_one(Case, world.case_id).assignee_id == world.staff["moderator2"]
    other = signed_in("moderator2")
    assert post_form(other, f"/admin/case/{world.case_id}/release").status_code == 302
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        assert (case.status, case.assignee_id) == ("open", None)


def test_the_colleagues_a_case_can_go_to_come_when_asked_for(app: Flask, world: World,
                                                              signed_in) -> None:
    client = signed_in("moderator")
    with app.app_context():
        db.session.get_one(Case, world.case_id).language = "hi"
        db.session.get_one(Moderator, world.staff["moderator2"]).languages = ["en"]
        db.session.get_one(Moderator, world.staff["senior2"]).active = False
        db.session.commit()
    page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    # The page itself carries no list of the staff, only where to ask for it.
    assert f'<option value="{world.staff["moderator2"]}"' not in page
    assert f'data-colleagues-url="/admin/case/{world.case_id}/colleagues"' in page

    body = client.get(f"/admin/case/{world.case_id}/colleagues").get_json()
    # Neither the moderator asking, the inactive, legal nor admin; who reads Hindi first.
    assert body["language"] == "hi"
    assert [c["id"] for c in body["colleagues"]] == [world.staff["senior"],
                                                      world.staff["moderator2"]]
    assert body["colleagues"][1]["label"] == "Moderator2 (moderator; en)"
    assert client.get(f"/admin/case/{world.case_id + 1000}/colleagues").status_code == 404


def test_an_appeal_cannot_be_decided_by_the_senior_who_acted(app: Flask, world: World,
                                                             signed_in) -> None:
    senior = signed_in("senior")
    _claim_and_open(senior, world)
    post_form(senior, f"/admin/case/{world.case_id}/act",
              {"decision": "ban", "policy_reason": "violent_threat"})
    run_jobs(app)
    with app.app_context():
        action = db.session.scalars(select(Action)).one()
        account_id = db.session.scalars(select(EnforcementDelivery.id)).first()
        from workbench.models import Account

        account = db.session.scalars(select(Account).where(
            Account.platform_user_id == "c-100")).one()
        db.session.add(Appeal(platform_id=world.platform_ids["calls"],
                              platform_appeal_id="ap-1", action_id=action.id,
                              account_id=account.id, text="I was joking, please",
                              created_at=utcnow(), received_at=utcnow()))
        db.session.commit()
        appeal_id = db.session.scalars(select(Appeal.id)).one()
    assert account_id
    page = senior.get("/admin/appeals/").get_data(as_text=True)
    assert "I was joking, please" in page
    refused = post_form(senior, f"/admin/appeals/{appeal_id}/decide",
                        {"outcome": "overturn", "note": "fine"}, page="/admin/appeals/")
    assert refused.status_code == 403
    other = signed_in("senior2")
    done = post_form(other, f"/admin/appeals/{appeal_id}/decide",
                     {"outcome": "overturn", "note": "context shows a joke"},
                     page="/admin/appeals/")
    assert done.status_code == 302
    run_jobs(app)
    assert world.servers["calls"].state == {"c-100": "active", "c-101": "active"}
    assert world.servers["web"].state == {"w-100": "active"}


def test_dead_deliveries_are_listed_and_retried(app: Flask, world: World,
                                                signed_in) -> None:
    senior = signed_in("senior")
    _claim_and_open(senior, world)
    world.servers["web"].stop()
    post_form(senior, f"/admin/case/{world.case_id}/act",
              {"decision": "ban", "policy_reason": "violent_threat"})
    run_jobs(app)
    with app.app_context():
        dead = db.session.scalars(select(EnforcementDelivery).where(
            EnforcementDelivery.platform_id == world.platform_ids["web"])).one()
        dead.state = DeliveryState.DEAD.value  # as if 24 hours of retries had failed
        db.session.commit()
        dead_id = dead.id
    page = senior.get("/admin/deliveries/").get_data(as_text=True)
    assert f"/admin/deliveries/{dead_id}/retry" in page
    world.servers["web"].start()
    with app.app_context():
        from workbench.models import Platform

        db.session.get_one(Platform, world.platform_ids["web"]).webhook_url = \
            world.servers["web"].url
        db.session.commit()
    post_form(senior, f"/admin/deliveries/{dead_id}/retry", page="/admin/deliveries/")
    run_jobs(app)
    with app.app_context():
        assert db.session.get_one(EnforcementDelivery, dead_id).state == "delivered"
    assert world.servers["web"].state == {"w-100": "banned"}


def test_hostile_text_is_escaped_and_its_bidi_controls_shown(app: Flask) -> None:
    world = build_world(app, hostile=True)
    try:
        from tests.support.console_forms import sign_in

        client = app.test_client()
        sign_in(client, "mod@example.org")
        page = client.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    finally:
        stop(world)
    for payload in (HOSTILE["script"], HOSTILE["img"], HOSTILE["html"]):
        assert payload not in page
        assert str(escape(payload)) in page  # shown, as text
    assert "\u202e" not in page and "[U+202E]" in page and "[U+2066]" in page


def test_a_ban_the_strikes_propose_waits_for_a_senior_on_its_own_case(
        app: Flask, world: World, signed_in) -> None:
    from workbench.models import Strike

    with app.app_context():
        for _ in range(4):
            db.session.add(Strike(person_id=world.person_id, category="harassment",
                                  expires_at=utcnow() + timedelta(days=30)))
        db.session.commit()
    moderator = signed_in("moderator")
    _claim_and_open(moderator, world)
    response = post_form(moderator, f"/admin/case/{world.case_id}/act",
                         {"decision": "warn", "policy_reason": "harassment"})
    assert response.status_code == 302
    with app.app_context():
        proposal = db.session.scalars(select(Case).where(
            Case.person_id == world.person_id, Case.status == "escalated")).one()
        assert proposal.escalation_reason == "strikes: 5 in force; the thresholds propose: ban"
    page = moderator.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert f"Case {proposal.id} puts the proposed step to a senior." in page
    senior = signed_in("senior")
    page = _claim_and_open(senior, world, proposal.id)
    assert "the thresholds propose: ban" in page and 'data-verdict="ban"' in page
    response = post_form(senior, f"/admin/case/{proposal.id}/act",
                         {"decision": "ban", "policy_reason": "harassment"})
    assert response.status_code == 302
    run_jobs(app)
    assert world.servers["calls"].state == {"c-100": "banned", "c-101": "banned"}
    assert world.servers["web"].state == {"w-100": "banned"}
