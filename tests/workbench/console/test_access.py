"""Every protected console URL, tried with every role: the server refuses what a role may not do.

The table is written out here, not imported from the code, and a test checks that it
covers every console route, so a new page cannot go unchecked.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actions.enforcement import ActionRequest, apply_action
from tests.support.console_forms import csrf_token, sign_in
from tests.support.console_world import STAFF, World
from tests.support.present import present
from workbench.enums import ActionType
from workbench.extensions import db

ROLES = ("moderator", "senior", "legal", "admin")
TRIAGE = {"moderator", "senior"}
READ = {"moderator", "senior", "legal"}


def _urls(world: World, action_id: int) -> list[tuple[str, str, set[str]]]:
    """(method, url, roles allowed) for every console route."""
    c, r = world.case_id, world.recording_id
    return [
        ("GET", "/admin/", set(ROLES)),
        ("GET", "/admin/queue/", TRIAGE),
        ("POST", "/admin/queue/next", TRIAGE),
        ("GET", "/admin/queue/live", TRIAGE),
        ("GET", "/admin/case/", READ),
        ("GET", f"/admin/case/{c}", READ),
        ("GET", f"/admin/case/previous/{c}", READ),
        ("GET", f"/admin/case/recording/{r}/audio", READ),
        ("GET", f"/admin/case/{c}/image/1", READ),
        ("GET", f"/admin/case/{c}/image/1/blurred", READ),
        ("POST", f"/admin/case/{c}/image/1/bank", {"senior"}),
        ("POST", f"/admin/case/{c}/claim", TRIAGE),
        ("POST", f"/admin/case/{c}/touch", TRIAGE),
        ("POST", f"/admin/case/{c}/note", TRIAGE),
        ("POST", f"/admin/case/{c}/release", TRIAGE),
        ("POST", f"/admin/case/{c}/reassign", TRIAGE),
        ("GET", f"/admin/case/{c}/colleagues", TRIAGE),
        ("POST", f"/admin/case/{c}/escalate", TRIAGE),
        ("POST", f"/admin/case/{c}/act", TRIAGE),
        ("GET", "/admin/statements/", READ),
        ("GET", f"/admin/statements/{action_id}", READ),
        ("GET", "/admin/queue-settings/", {"senior"}),
        ("POST", "/admin/queue-settings/", {"senior"}),
        ("GET", "/admin/appeals/", {"senior"}),
        ("POST", "/admin/appeals/1/decide", {"senior"}),
        ("GET", "/admin/deliveries/", {"senior", "admin"}),
        ("POST", "/admin/deliveries/1/retry", {"senior", "admin"}),
        ("POST", "/admin/deliveries/platform/1/retry-now", {"senior", "admin"}),
        ("GET", "/admin/bulk/", {"senior"}),
        ("POST", "/admin/bulk/preview", {"senior"}),
        ("POST", "/admin/bulk/confirm", {"senior"}),
        ("GET", "/admin/bulk/1", {"senior"}),
        ("POST", "/admin/bulk/1/undo", {"senior"}),
        ("GET", "/admin/reporters/", {"senior"}),
        ("POST", "/admin/reporters/1", {"senior"}),
        ("GET", "/admin/dashboard/", {"senior", "legal", "admin"}),
        ("GET", "/admin/dashboard/chart/reports.svg", {"senior", "legal", "admin"}),
        ("GET", "/admin/operations/", {"senior", "admin"}),
        ("POST", "/admin/operations/retry", {"senior", "admin"}),
        ("GET", "/admin/audit/", {"senior", "legal", "admin"}),
        ("GET", "/admin/wellness/", set(ROLES)),
        ("POST", "/admin/wellness/preferences", set(ROLES)),
        ("POST", "/admin/wellness/hand-off", TRIAGE),
        ("GET", "/admin/legal/", {"legal"}),
        ("POST", "/admin/legal/requests", {"legal"}),
        ("POST", "/admin/legal/requests/1/close", {"legal"}),
        ("POST", "/admin/legal/holds", {"legal"}),
        ("POST", "/admin/legal/holds/1/release", {"legal"}),
        ("POST", "/admin/legal/exports", {"legal"}),
        ("GET", "/admin/legal/exports/1", {"legal"}),
        ("GET", "/admin/legal/exports/1/progress", {"legal"}),
        ("POST", "/admin/legal/exports/1/download", {"legal"}),
        ("POST", "/admin/legal/erasures", {"legal"}),
        ("POST", f"/admin/legal/access/{world.person_id}", {"legal"}),
        ("POST", "/admin/legal/access", {"legal"}),
        ("POST", "/admin/legal/exports/1/certificate", {"legal"}),
        ("GET", "/admin/transparency/", {"legal"}),
        ("GET", "/admin/transparency/report.csv", {"legal"}),
        ("GET", "/admin/transparency/chart/grievances.svg", {"legal"}),
        ("GET", "/admin/transparency/statements.jsonl", {"legal"}),
        ("GET", "/admin/staff/", {"admin"}),
        ("POST", "/admin/staff/create", {"admin"}),
        ("POST", "/admin/staff/1/update", {"admin"}),
        ("GET", "/admin/search/", set(ROLES)),
        ("GET", "/admin/person/", set(ROLES)),
        ("GET", f"/admin/person/{world.person_id}", set(ROLES)),
        ("GET", "/admin/decided/", TRIAGE),
        ("POST", "/admin/staff/1/end-sessions", {"admin"}),
        ("GET", "/admin/account/", set(ROLES)),
        ("POST", "/admin/account/password", set(ROLES)),
        ("POST", "/admin/account/time-zone", set(ROLES)),
        ("GET", "/admin/platforms/", {"admin"}),
        ("POST", "/admin/platforms/create", {"admin"}),
        ("POST", "/admin/platforms/1/active", {"admin"}),
        ("POST", "/admin/platforms/1/webhook", {"admin"}),
        ("GET", "/admin/automation/", {"senior"}),
        ("POST", f"/admin/automation/{action_id}/review", {"senior"}),
    ]


@pytest.fixture
def action_id(app: Flask, world: World) -> int:
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=ActionType.SUSPEND, person_id=world.person_id, policy_reason="harassment",
            decided_by_id=world.staff["senior"], duration=timedelta(days=1)))
        db.session.commit()
        return action.id


def _call(client: FlaskClient, method: str, url: str):
    if method == "GET":
        return client.get(url)
    # A real token from this session: what is refused is the role, not the form.
    return client.post(url, data={"csrf_token": csrf_token(client, "/login")
                                  if not _signed_in(client) else _token_for(client)})


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/login").status_code == 302


def _token_for(client: FlaskClient) -> str:
    # Every signed-in user has their own account page, and with it the session's token.
    return csrf_token(client, "/admin/account/")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_pages(app: Flask, world: World, action_id: int,
                                             role: str) -> None:
    client = app.test_client()
    assert sign_in(client, STAFF[role]).status_code == 302
    for method, url, allowed in _urls(world, action_id):
        response = _call(client, method, url)
        if role in allowed:
            assert response.status_code != 403, f"{role} refused {method} {url}"
        else:
            assert response.status_code == 403, \
                f"{role} got {response.status_code} for {method} {url}, expected 403"


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask, world: World,
                                                action_id: int) -> None:
    client = app.test_client()
    for method, url, _allowed in _urls(world, action_id):
        response = _call(client, method, url)
        assert response.status_code == 302, f"{method} {url}: {response.status_code}"
        assert response.headers["Location"].startswith("/login"), url


def test_the_table_covers_every_console_route(app: Flask, world: World,
                                              action_id: int) -> None:
    covered = {(m, url) for m, url, _ in _urls(world, action_id)}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static"):
            continue
        for method in present(rule.methods) - {"HEAD", "OPTIONS"}:
            routes.add((method, rule.rule))
    def pattern(rule: str) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", re.escape(rule)
                                       .replace(r"\<", "<").replace(r"\>", ">")) + "$")
    missing = {(m, r) for m, r in routes
               if not any(cm == m and pattern(r).match(cu) for cm, cu in covered)}
    assert not missing, f"console routes without an access check in this table: {missing}"
