"""Authorization by the case: decisions, escalation and recordings stay within what a
case (or, for the legal team, a legal hold or request) gives the user.

Each test tries what the page would never offer, as a script would send it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.support.console_forms import post_form
from tests.support.console_world import RECORDING, World
from tests.support.present import present
from workbench.cases import triage
from workbench.enums import CaseStatus
from workbench.extensions import db
from workbench.models import Account, Action, AuditEvent, Case, Message, Recording, utcnow

LOCK = timedelta(minutes=10)
JSON = {"Accept": "application/json"}


def _victims_message(app: Flask) -> int:
    with app.app_context():
        return present(db.session.scalars(select(Message.id).join(
            Account, Account.id == Message.sender_account_id)
            .where(Account.platform_user_id == "c-200").order_by(Message.id)).first())


def _act(client, case_id: int, **fields: str):
    return post_form(client, f"/admin/case/{case_id}/act",
                     {"policy_reason": "harassment", **fields})


def _nothing_removed(app: Flask, message_ids: list[int]) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(Action.id))) == 0
        statuses = db.session.scalars(select(Message.status).where(
            Message.id.in_(message_ids))).all()
        assert "removed" not in statuses


def test_removing_another_persons_message_from_a_case_is_refused(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    victims = _victims_message(app)
    # The victim's own message, in the same conversation as the reported one.
    same_case = _act(client, world.case_id, decision="remove_content",
                     target_kind="message", target_id=str(victims))
    assert same_case.status_code == 403
    assert "not this person" in same_case.get_data(as_text=True)
    # The reported person's message, from an unrelated spammer's case.
    unrelated = _act(client, world.other_case_ids[0], decision="remove_content",
                     target_kind="message", target_id=str(world.message_id))
    assert unrelated.status_code == 403
    _nothing_removed(app, [victims, world.message_id])
    # The page's own use still works: the reported message, from its own case.
    done = _act(client, world.case_id, decision="remove_content", target_kind="message",
                target_id=str(world.message_id))
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get_one(Message, world.message_id).status == "removed"


def test_recordings_calls_and_missing_content_of_others_are_refused(
        app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    spam_case = world.other_case_ids[0]
    recording = _act(client, spam_case, decision="remove_content", target_kind="recording",
                     target_id=str(world.recording_id))
    call = _act(client, spam_case, decision="end_call", target_kind="call",
                target_id=str(world.call_id))
    missing = client.post(f"/admin/case/{spam_case}/act", headers=JSON, data={
        "policy_reason": "harassment", "decision": "remove_content", "target_kind": "message",
        "target_id": "987654321", "csrf_token": _token(client)})
    assert (recording.status_code, call.status_code, missing.status_code) == (403, 403, 422)
    assert missing.json["error"]["code"] == "refused"
    with app.app_context():
        assert db.session.get_one(Recording, world.recording_id).status != "removed"
        assert db.session.scalar(select(func.count(Action.id))) == 0


def _token(client) -> str:
    from tests.support.console_forms import csrf_token

    return csrf_token(client, "/admin/queue/")


def test_a_moderator_cannot_escalate_a_case_a_senior_is_working(
        app: Flask, world: World, signed_in) -> None:
    with app.app_context():
        assert triage.try_claim(db.session, world.case_id, world.staff["senior"], "senior", LOCK)
        db.session.commit()
    response = post_form(signed_in("moderator"), f"/admin/case/{world.case_id}/escalate",
                         {"reason": "mine now"})
    assert response.status_code == 409
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        assert (case.status, case.assignee_id) == (CaseStatus.CLAIMED.value,
                                                   world.staff["senior"])
        assert case.escalation_reason is None
    # A senior may put a colleague's case to the seniors.
    with app.app_context():
        assert triage.try_claim(db.session, world.other_case_ids[0], world.staff["moderator2"],
                                "moderator", LOCK)
        db.session.commit()
    senior = post_form(signed_in("senior"), f"/admin/case/{world.other_case_ids[0]}/escalate",
                       {"reason": "a wave, needs a bulk decision"})
    assert senior.status_code == 302
    with app.app_context():
        assert db.session.get_one(Case, world.other_case_ids[0]).status == "escalated"


def test_escalating_needs_the_claim_in_the_domain(app: Flask, world: World) -> None:
    import pytest

    from actions.decisions import escalate_case
    from actions.enforcement import AuthorityError

    with app.app_context():
        with pytest.raises(AuthorityError):  # free, but not claimed by this moderator
            escalate_case(db.session, world.case_id, moderator_id=world.staff["moderator"],
                          role="moderator", reason="possible minor")
        db.session.rollback()
        assert triage.try_claim(db.session, world.case_id, world.staff["moderator"],
                                "moderator", LOCK)
        escalate_case(db.session, world.case_id, moderator_id=world.staff["moderator"],
                      role="moderator", reason="possible minor")
        db.session.commit()
        assert db.session.get_one(Case, world.case_id).status == "escalated"


def _unreported_recording(app: Flask, world: World) -> int:
    """A recording of another account that no report (so no case) refers to."""
    with app.app_context():
        source = db.session.get_one(Recording, world.recording_id)
        owner = db.session.scalars(select(Account.id).where(
            Account.platform_user_id == "s-0")).one()
        copy = Recording(platform_id=world.platform_ids["meet"], platform_recording_id="rec-x",
                         owner_account_id=owner, kind="voice_note", blob_sha256=source.blob_sha256,
                         filename="x.wav", format="wav", size_bytes=source.size_bytes,
                         duration_s=3.2, status="processed", recorded_at=utcnow(),
                         received_at=utcnow())
        db.session.add(copy)
        db.session.commit()
        return copy.id


def test_a_recording_no_case_refers_to_is_not_served(
        app: Flask, world: World, signed_in) -> None:
    hidden = _unreported_recording(app, world)
    for who in ("moderator", "senior", "legal"):
        response = signed_in(who).get(f"/admin/case/recording/{hidden}/audio")
        assert response.status_code == 404, who
    assert signed_in("moderator").get(
        f"/admin/case/recording/{world.recording_id}/audio").status_code == 200
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.verb == "recording.played")).all() == [str(world.recording_id)]


def test_the_legal_team_hears_only_what_a_hold_or_request_covers(
        app: Flask, world: World, signed_in) -> None:
    from actions.holds import place_hold, release_hold
    from actions.legal_requests import LegalRequestIn, record_legal_request

    legal = signed_in("legal")
    url = f"/admin/case/recording/{world.recording_id}/audio"
    assert legal.get(url).status_code == 404
    with app.app_context():
        hold = place_hold(db.session, reason="police inquiry", reference="FIR-1",
                          placed_by_id=world.staff["legal"], person_id=world.person_id)
        db.session.commit()
        hold_id = hold.id
    assert legal.get(url).status_code == 200
    with app.app_context():
        release_hold(db.session, hold_id, released_by_id=world.staff["legal"], note="closed")
        db.session.commit()
    assert legal.get(url).status_code == 404
    with app.app_context():  # a disclosure request places no hold, and still covers it
        record_legal_request(db.session, LegalRequestIn(
            authority_type="police", authority="Cyber cell", reference="D-7",
            received_at=utcnow(), asks=["disclose"], case_id=world.case_id),
            recorded_by_id=world.staff["legal"])
        db.session.commit()
    assert legal.get(url).status_code == 200


def _plays(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent.id).where(
            AuditEvent.verb == "recording.played")).all())


def test_every_listen_is_audited_whatever_range_is_asked(
        app: Flask, world: World, signed_in) -> None:
    size = len(RECORDING.read_bytes())
    url = f"/admin/case/recording/{world.recording_id}/audio"
    # The whole file through a suffix range: audited.
    first = signed_in("moderator").get(url, headers={"Range": f"bytes=-{size}"})
    assert first.status_code == 206 and len(first.data) == size
    assert _plays(app) == 1
    # Everything but the first byte: audited too (another user, another listen).
    second = signed_in("moderator2")
    tail = second.get(url, headers={"Range": "bytes=1-"})
    assert tail.status_code == 206 and len(tail.data) == size - 1
    assert _plays(app) == 2
    # Seeking in the same listen: more ranges, no more audit events.
    for asked in ("bytes=0-99", "bytes=100-", "bytes=-10"):
        assert second.get(url, headers={"Range": asked}).status_code == 206
    assert second.get(url).status_code == 200
    assert _plays(app) == 2


def test_content_of_a_merged_person_counts_as_theirs(app: Flask, world: World) -> None:
    import pytest

    from actions.enforcement import ActionRequest, AuthorityError, check_target
    from workbench.enums import ActionType
    from workbench.models import Person

    with app.app_context():
        # A person since merged into the reported one: their accounts moved to the root.
        old = Person(merged_into_id=world.person_id)
        db.session.add(old)
        db.session.flush()
        ask: dict[str, Any] = {"type": ActionType.REMOVE_CONTENT, "person_id": old.id,
               "policy_reason": "harassment", "decided_by_id": world.staff["moderator"]}
        check_target(db.session, ActionRequest(**ask, message_id=world.message_id))
        check_target(db.session, ActionRequest(**ask, recording_id=world.recording_id))
        with pytest.raises(AuthorityError):
            check_target(db.session, ActionRequest(**ask, message_id=_victims_message(app)))
        db.session.rollback()
