"""Console parameters are read strictly: odd numbers, tampered cursors and unsafe redirect
targets get a 400 or 404 (or a refusal the page explains), never a server error.

``²`` passes ``str.isdigit`` but not ``int``; 2**64 does not fit an id column.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.app import TEST_SECRET_KEY
from tests.support.console_forms import csrf_token, post_form, sign_in
from tests.support.console_world import STAFF, World
from workbench.extensions import db
from workbench.models import Action, Case, LegalHold, RoutingRule

SUPER = "\u00b2"  # superscript two
HUGE = str(2**64)


def _status(response) -> int:
    return int(response.status_code)


def test_odd_numbers_in_queries_are_refused_with_400(app: Flask, world: World,
                                                     signed_in) -> None:
    senior = signed_in("senior")
    for url in (f"/admin/queue/?assignee={SUPER}", f"/admin/queue/?assignee={HUGE}",
                f"/admin/audit/?before={SUPER}", f"/admin/audit/?before={HUGE}"):
        assert _status(senior.get(url)) == 400, url
        as_json = senior.get(url, headers={"Accept": "application/json"})
        assert _status(as_json) == 400
        assert as_json.json["error"]["field"] in {"assignee", "before"}


def test_an_odd_dashboard_period_falls_back_to_thirty_days(app: Flask, world: World,
                                                           signed_in) -> None:
    senior = signed_in("senior")
    for days in (SUPER, HUGE, "0", "-3"):
        assert _status(senior.get(f"/admin/dashboard/?days={days}")) == 200, days


def test_ids_over_64_bits_in_urls_are_not_found(app: Flask, world: World,
                                                signed_in) -> None:
    client = signed_in("moderator")
    for case_id in (HUGE, str(2**63), "99999999999999999999999"):
        assert _status(client.get(f"/admin/case/{case_id}")) == 404
        assert _status(client.get(f"/admin/case/recording/{case_id}/audio")) == 404
        assert _status(post_form(client, f"/admin/case/{case_id}/act",
                                 {"decision": "dismiss"})) == 404
    assert _status(client.get(f"/admin/case/{2**63 - 1}")) == 404  # the largest id: none


def test_odd_target_ids_in_a_decision_change_nothing(app: Flask, world: World,
                                                     signed_in) -> None:
    client = signed_in("moderator")
    for target in (SUPER, HUGE, "1" + SUPER):
        response = post_form(client, f"/admin/case/{world.case_id}/act",
                             {"decision": "remove_content", "policy_reason": "harassment",
                              "target_kind": "message", "target_id": target})
        assert _status(response) == 400, target
    with app.app_context():
        assert db.session.scalar(select(func.count(Action.id))) == 0
        assert db.session.get_one(Case, world.case_id).assignee_id is None


def test_an_odd_colleague_id_in_a_handover_is_refused(app: Flask, world: World,
                                                      signed_in) -> None:
    client = signed_in("moderator")
    post_form(client, f"/admin/case/{world.case_id}/claim")
    for to in (SUPER, HUGE):
        response = post_form(client, f"/admin/case/{world.case_id}/reassign",
                             {"to": to, "reason": "shift ends"})
        assert _status(response) == 422, to
    with app.app_context():
        assert db.session.get_one(Case, world.case_id).assignee_id == world.staff["moderator"]


def test_odd_case_ids_in_a_bulk_selection_are_refused(app: Flask, world: World,
                                                      signed_in) -> None:
    senior = signed_in("senior")
    for bad in (SUPER, HUGE):
        response = senior.post("/admin/bulk/preview", data={
            "case_id": [str(world.other_case_ids[0]), bad], "decision": "dismiss",
            "csrf_token": csrf_token(senior, "/admin/queue/")})
        assert _status(response) == 400, bad


def _rules(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(RoutingRule.queue).order_by(RoutingRule.position)))


def test_odd_queue_settings_rows_are_refused_and_saved_rules_kept(
        app: Flask, world: World, signed_in) -> None:
    before = _rules(app)
    senior = signed_in("senior")
    for form in ({f"queue-{SUPER}": "urgent"}, {"queue-abc": "urgent"},
                 {f"queue-{HUGE}": "urgent"}, {"queue-0": "urgent", "position-0": f"-{SUPER}"},
                 {"queue-0": "urgent", "position-0": HUGE}):
        response = post_form(senior, "/admin/queue-settings/", form,
                             page="/admin/queue-settings/")
        assert _status(response) == 302, form
        assert _rules(app) == before
        page = senior.get("/admin/queue-settings/").get_data(as_text=True)
        assert "not a row of the table" in page or "a whole number" in page, form


def test_odd_subject_numbers_on_the_legal_desk_are_refused(app: Flask, world: World,
                                                           signed_in) -> None:
    legal = signed_in("legal")
    for ref in (SUPER, HUGE, f"1{SUPER}"):
        _try_legal_forms(app, legal, ref)


def _try_legal_forms(app: Flask, legal, ref: str) -> None:
    hold = post_form(legal, "/admin/legal/holds", {
        "subject_kind": "person", "subject_ref": ref, "reason": "inquiry",
        "reference": "FIR-9"}, page="/admin/legal/")
    export = post_form(legal, "/admin/legal/exports", {
        "scope": "person", "scope_ref": ref, "reason": "court order",
        "request_ref": "CO-1"}, page="/admin/legal/")
    request = post_form(legal, "/admin/legal/requests", {
        "authority_type": "police", "authority": "Cyber cell", "reference": "R-1",
        "asks": "preserve", "subject_kind": "case", "subject_ref": ref}, page="/admin/legal/")
    assert [_status(r) for r in (hold, export, request)] == [302, 302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count(LegalHold.id))) == 0
    assert "by number" in legal.get("/admin/legal/").get_data(as_text=True)


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_tampered_queue_cursor_is_refused(app: Flask, world: World,
                                            signed_in) -> None:
    client = signed_in("moderator")
    for after in (
        _cursor(1.0, "2026-01-01T00:00:00+00:00", 2**64),
        _cursor(1.0, "2026-01-01T00:00:00+00:00", -1),
        _cursor(1.0, "2026-01-01T00:00:00+00:00", True),
        _cursor(1e400, "2026-01-01T00:00:00+00:00", 5),
        base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode(),
        base64.urlsafe_b64encode(b'[1, "2026-01-01", ' + b"9" * 5000 + b"]").decode(),
        "x" * 10_000,
        "%C2%B2",
    ):
        assert _status(client.get(f"/admin/queue/?after={after}")) == 400, after[:80]
    real = client.get("/admin/queue/")  # and a real one still pages
    assert _status(real) == 200


def test_nul_in_a_console_field_is_refused(app: Flask, world: World,
                                           signed_in) -> None:
    response = signed_in("senior").get("/admin/audit/?verb=case%00viewed")
    assert _status(response) == 400


@pytest.fixture
def app_without_redis(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with its Redis gone (nothing listens on the port)."""
    import socket

    from tests.support.app import reset_tables
    from workbench.app import create_app

    reset_tables(database_url)
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app({"instance_dir": tmp_path / "instance", "database_url": database_url,
                      "redis_url": f"redis://127.0.0.1:{port}/0",
                      "secret_key": TEST_SECRET_KEY})
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_operations_page_says_redis_is_unreachable(app_without_redis: Flask) -> None:
    from workbench.staff import create_moderator

    app = app_without_redis
    with app.app_context():
        create_moderator(db.session, STAFF["senior"], "correct-horse-battery", "senior")
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, STAFF["senior"]).status_code == 302
    page = client.get("/admin/operations/")
    assert _status(page) == 200
    assert "Redis is unreachable" in page.get_data(as_text=True)
    retry = client.post("/admin/operations/retry", data={
        "csrf_token": csrf_token(client, "/admin/account/")}, follow_redirects=True)
    assert _status(retry) == 200
    assert "Redis is unreachable" in retry.get_data(as_text=True)


UNSAFE_NEXT = ("/admin/%0d%0aSet-Cookie:%20x=1", "/admin/%0aLocation:%20https://evil.example",
               "//evil.example/", "/%5Cevil.example", "/%09/evil.example",
               "https://evil.example/")


def test_next_goes_only_to_a_same_site_path(app: Flask, world: World,
                                            signed_in) -> None:
    client = signed_in("moderator")
    for target in UNSAFE_NEXT:
        response = client.get(f"/login?next={target}")
        assert _status(response) == 302, target
        assert response.headers["Location"] == "/admin/queue/", target
    fresh = app.test_client()
    signed = fresh.post(f"/login?next={UNSAFE_NEXT[0]}", data={
        "email": STAFF["moderator"], "password": "correct-horse-battery",
        "csrf_token": csrf_token(fresh)})
    assert _status(signed) == 302 and signed.headers["Location"] == "/admin/queue/"
    kept = client.get("/login?next=/admin/queue/%3Fcategory%3Dspam_scam")
    assert kept.headers["Location"] == "/admin/queue/?category=spam_scam"


def test_the_reporters_back_field_stays_on_this_site(app: Flask, world: World,
                                                     signed_in) -> None:
    senior = signed_in("senior")
    for back in ("https://evil.example/phish", "//evil.example", "/admin/\r\nX-Evil: 1",
                 "/\\evil.example"):
        response = post_form(senior, "/admin/reporters/1", {"mark": "0", "back": back},
                             page="/admin/reporters/")
        assert _status(response) == 302, back
        assert response.headers["Location"] == "/admin/reporters/", back
    fine = post_form(senior, "/admin/reporters/1", {"mark": "0", "back": "/admin/queue/"},
                     page="/admin/reporters/")
    assert fine.headers["Location"] == "/admin/queue/"
