"""Every signed request is checked: platform, signature, freshness, replay."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from actions.signing import sign
from tests.support.platform_api import PlatformApi
from workbench.extensions import db
from workbench.models import FraudSignal, Platform

ONE = {"signals": [{"id": "s1", "user_id": "u1", "kind": "chargeback"}]}
PATH = "/api/v1/signals"


def test_a_signed_request_is_accepted(platforms: dict[str, PlatformApi]) -> None:
    r = platforms["calls"].post(PATH, ONE)
    assert r.status_code == 202, r.json
    assert r.json == {"accepted": 1, "duplicate": 0}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Workbench-Signature": "sha256=" + "0" * 64}, "bad_signature"),
        ({"X-Workbench-Signature": "md5=abc"}, "malformed_signature"),
        ({"X-Workbench-Signature": ""}, "missing_signature"),
        ({"X-Workbench-Timestamp": "yesterday"}, "bad_timestamp"),
        ({"X-Workbench-Platform": "nobody"}, "unknown_platform"),
        ({"X-Workbench-Platform": ""}, "missing_platform"),
    ],
)
def test_bad_signatures_are_refused_with_401(
    platforms: dict[str, PlatformApi], headers: dict[str, str], code: str
) -> None:
    r = platforms["calls"].post(PATH, ONE, header_overrides=headers)
    assert r.status_code == 401
    assert r.json["error"]["code"] == code


def test_another_platforms_secret_does_not_verify(platforms: dict[str, PlatformApi]) -> None:
    web = platforms["web"]
    forged = PlatformApi(web.client, "calls", web.secret)
    assert forged.post(PATH, ONE).status_code == 401


# A past timestamp only grows older while the request is handled; a future one comes
# nearer, so it has a margin (301 s, truncated to whole seconds, once reached the check
# 300 s away on a loaded machine and was accepted).
@pytest.mark.parametrize("skew", [-301, 310])
def test_a_timestamp_more_than_300_s_away_is_refused(
    platforms: dict[str, PlatformApi], skew: int
) -> None:
    api = platforms["calls"]
    body = b'{"signals": [{"id": "s1", "user_id": "u1", "kind": "chargeback"}]}'
    ts = int(time.time()) + skew
    r = api.client.post(PATH, data=body, headers={
        "Content-Type": "application/json", "X-Workbench-Platform": "calls",
        "X-Workbench-Timestamp": str(ts), "X-Workbench-Signature": sign(api.secret, ts, body)})
    assert r.status_code == 401 and r.json["error"]["code"] == "stale_timestamp"


def test_a_replayed_request_is_refused_with_409(platforms: dict[str, PlatformApi]) -> None:
    api = platforms["calls"]
    body = b'{"signals": [{"id": "s1", "user_id": "u1", "kind": "chargeback"}]}'
    headers = {**api.headers(body), "Content-Type": "application/json"}
    assert api.client.post(PATH, data=body, headers=headers).status_code == 202
    again = api.client.post(PATH, data=body, headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "replayed_request"


def test_a_replay_racing_the_original_is_refused_and_the_original_stored(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    """The same signed request twice at once: one is stored, the other refused (409),
    whichever writes the signature first; never both, never neither."""
    api = platforms["calls"]
    for n in range(5):
        body = json.dumps({"signals": [{"id": f"race-{n}", "user_id": "u1",
                                        "kind": "chargeback"}]}).encode()
        headers = {**api.headers(body), "Content-Type": "application/json"}
        start = threading.Barrier(2)

        def send(_: int, body: bytes = body, headers: dict[str, str] = headers,
                 start: threading.Barrier = start) -> int:
            client = app.test_client()
            start.wait(timeout=30)
            return int(client.post(PATH, data=body, headers=headers).status_code)

        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(send, range(2)))
        assert codes == [202, 409], codes
    with app.app_context():
        assert db.session.scalar(select(func.count(FraudSignal.id))) == 5
        db.session.rollback()


def test_an_inactive_platform_is_refused_with_403(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    with app.app_context():
        db.session.query(Platform).filter_by(slug="meet").update({"active": False})
        db.session.commit()
    r = platforms["meet"].post(PATH, ONE)
    assert r.status_code == 403 and r.json["error"]["code"] == "platform_inactive"
