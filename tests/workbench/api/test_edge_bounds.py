"""Every input is bounded at the edge: each finding of the hardening issue, one test each.

Each of these answered 500 (or was accepted) before the bounds; now each is a 4xx JSON
error naming what is wrong, and nothing is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from actions.signing import sign, signed_content
from tests.support.platform_api import PlatformApi
from workbench.extensions import db
from workbench.models import Account, FraudSignal, Message, OutboxBatch, Report

NOW = "2026-11-20T10:00:00Z"
MESSAGE = {"id": "m1", "conversation_id": "c1", "sender_id": "u1", "recipient_id": "u2",
           "text": "hello there", "sent_at": NOW}
REPORT = {"id": "r1", "reporter_id": "u2", "reported_user_id": "u1", "category": "harassment",
          "description": "rude", "created_at": NOW}
SIGNAL = {"id": "s1", "user_id": "u1", "kind": "chargeback", "score": 0.5}
ACCOUNT = {"id": "u1", "username": "asha", "phone_hash": "a" * 64, "gender": "f",
           "languages": ["en"]}
ITEMS: dict[str, Mapping[str, object]] = {"messages": MESSAGE, "reports": REPORT,
                                         "signals": SIGNAL, "accounts": ACCOUNT}


def _stored(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        return tuple(
            db.session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Message, Report, FraudSignal, Account, OutboxBatch)
        )


def _refused(app: Flask, api: PlatformApi, endpoint: str, raw: bytes, status: int,
             field: str | None) -> dict[str, Any]:
    before = _stored(app)
    r = api.post(f"/api/v1/{endpoint}", raw=raw)
    assert r.status_code == status, r.get_data(as_text=True)
    error = r.json["error"]
    if field is not None:
        assert error["field"] == field, error
    assert _stored(app) == before
    return dict(error)


def _item_json(endpoint: str, field: str, raw_value: str) -> bytes:
    """A batch whose second item has ``field`` set to the JSON text ``raw_value``."""
    item = json.dumps(dict(ITEMS[endpoint], id="two"))
    head, sep, tail = item.partition(f'"{field}": ')
    if sep:  # replace the existing value (every value here is a string, number or list)
        value_end = json.JSONDecoder().raw_decode(tail)[1]
        item = head + sep + raw_value + tail[value_end:]
    else:
        item = item[:-1] + f', "{field}": {raw_value}}}'
    return f'{{"{endpoint}": [{json.dumps(ITEMS[endpoint])}, {item}]}}'.encode()


SURROGATE_FIELDS = [
    ("messages", "text"), ("messages", "conversation_id"), ("messages", "language"),
    ("accounts", "username"), ("accounts", "gender"), ("accounts", "phone_hash"),
    ("reports", "description"), ("signals", "id"),
]


@pytest.mark.parametrize(("endpoint", "field"), SURROGATE_FIELDS)
def test_a_lone_surrogate_is_refused_naming_the_field(
    app: Flask, platforms: dict[str, PlatformApi], endpoint: str, field: str
) -> None:
    raw = _item_json(endpoint, field, '"abcdefgh\\ud800"')
    error = _refused(app, platforms["calls"], endpoint, raw, 422, f"{endpoint}[1].{field}")
    assert error["index"] == 1 and "surrogate" in error["message"]


@pytest.mark.parametrize("where", ["key", "value"])
def test_a_lone_surrogate_in_signal_details_is_refused(
    app: Flask, platforms: dict[str, PlatformApi], where: str
) -> None:
    details = '{"\\udc00": 1}' if where == "key" else '{"note": "\\udfff"}'
    error = _refused(app, platforms["calls"], "signals", _item_json("signals", "details", details),
                     422, None)
    assert error["field"].startswith("signals[1].details")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(
    app: Flask, platforms: dict[str, PlatformApi], constant: str
) -> None:
    _refused(app, platforms["calls"], "signals", _item_json("signals", "score", constant), 422,
             "signals[1].score")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_free_form_details_are_refused(
    app: Flask, platforms: dict[str, PlatformApi], constant: str
) -> None:
    # Accepted and stored before: details have no schema to catch them.
    _refused(app, platforms["calls"], "signals",
             _item_json("signals", "details", f'{{"ratio": {constant}}}'), 422,
             "signals[1].details.ratio")


def test_an_integer_of_5000_digits_is_refused(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    error = _refused(app, platforms["calls"], "accounts",
                     _item_json("accounts", "birth_year", "9" * 5000), 422,
                     "accounts[1].birth_year")
    assert "64-bit" in error["message"]


@pytest.mark.parametrize("depth", [40, 965, 5000])
def test_deep_nesting_is_refused(
    app: Flask, platforms: dict[str, PlatformApi], depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    error = _refused(app, platforms["calls"], "signals",
                     _item_json("signals", "details", f'{{"x": {nested}}}'), 422, None)
    assert error["code"] == "too_deep" or error["code"] == "invalid_item"


@pytest.mark.parametrize("depth", [9, 970])
def test_signal_details_are_depth_bounded(
    app: Flask, platforms: dict[str, PlatformApi], depth: int
) -> None:
    nested = '{"a": ' * depth + "1" + "}" * depth
    error = _refused(app, platforms["calls"], "signals",
                     _item_json("signals", "details", nested), 422, None)
    # Past the decoder's own recursion limit nothing can say where: the body is too deep.
    assert error["code"] == "too_deep" or error["field"].startswith("signals[1].details")


def test_signal_details_over_their_size_limit_are_refused(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    details = json.dumps({f"k{i}": "x" * 100 for i in range(200)})
    _refused(app, platforms["calls"], "signals", _item_json("signals", "details", details), 422,
             "signals[1].details")


@pytest.mark.parametrize("action_id", [str(2**64), str(2**63), "-" + str(2**64)])
def test_an_appeal_action_id_past_64_bits_is_refused(
    app: Flask, platforms: dict[str, PlatformApi], action_id: str
) -> None:
    raw = ('{"appeals": [{"id": "a1", "user_id": "u1", "action_id": ' + action_id
           + ', "text": "not me"}]}').encode()
    r = platforms["calls"].post("/api/v1/appeals", raw=raw)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.json["error"]["field"] == "appeals[0].action_id"


def _signed_post(api: PlatformApi, **headers: str):
    body = json.dumps({"signals": [SIGNAL]}).encode()
    return api.client.post("/api/v1/signals", data=body, headers={
        "Content-Type": "application/json", **api.headers(body), **headers})


@pytest.mark.parametrize("signature", [
    "sha256=" + "é" * 64, "sha256=" + "\u00ff" * 64, "sha256=" + "0" * 63 + "\u00e9",
])
def test_a_non_ascii_signature_is_a_401(platforms: dict[str, PlatformApi], signature: str) -> None:
    r = _signed_post(platforms["calls"], **{"X-Workbench-Signature": signature})
    assert r.status_code == 401 and r.json["error"]["code"] == "malformed_signature"


@pytest.mark.parametrize("timestamp", ["9" * 400, "9" * 5000, "1_700_000_000", " 17", "١٢٣",
                                       "-1", "1e9"])
def test_a_malformed_timestamp_is_a_401(platforms: dict[str, PlatformApi], timestamp: str) -> None:
    r = _signed_post(platforms["calls"], **{"X-Workbench-Timestamp": timestamp})
    assert r.status_code == 401 and r.json["error"]["code"] == "bad_timestamp"


@pytest.mark.parametrize("slug", ["c" * 5000, "calls\u00e9", "ca\tlls"])
def test_an_odd_platform_header_is_a_401(platforms: dict[str, PlatformApi], slug: str) -> None:
    r = _signed_post(platforms["calls"], **{"X-Workbench-Platform": slug})
    assert r.status_code == 401 and r.json["error"]["code"] == "unknown_platform"
    assert len(r.get_data()) < 1000


def test_recording_metadata_nested_5000_deep_is_refused(
    platforms: dict[str, PlatformApi]
) -> None:
    api = platforms["calls"]
    for meta in ('{"id": "r1", "x": ' + "[" * 5000 + "]" * 5000 + "}",
                 '{"id": "r1", "x": ' + "[" * 100 + "]" * 100 + "}",
                 '{"id": ' + "9" * 5000 + "}", '{"id": "\\ud800"}', '{"x": NaN}'):
        boundary = "b0undary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
                f"{meta}\r\n--{boundary}--\r\n").encode()
        headers = api.headers(body)
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        r = api.client.post("/api/v1/recordings", data=body, headers=headers)
        assert r.status_code in (400, 422), (meta[:40], r.get_data(as_text=True))
        assert r.json["error"]["field"].startswith("metadata"), r.json


@pytest.mark.parametrize("user_id", ["a%00b", "%ED%A0%80", "x" * 200])
def test_an_odd_user_id_in_a_status_path_is_a_4xx(
    platforms: dict[str, PlatformApi], user_id: str
) -> None:
    r = platforms["calls"].get(f"/api/v1/users/{user_id}/status")
    assert r.status_code in (404, 422), r.get_data(as_text=True)
    assert r.json["error"]["code"]


def test_a_path_past_4094_characters_is_a_json_414(client: Any) -> None:
    r = client.get("/api/v1/users/" + "a" * 4100 + "/status")
    assert r.status_code == 414
    assert r.json["error"]["code"] == "uri_too_long"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/nothing-here", 404), ("DELETE", "/api/v1/messages", 405),
    ("PUT", "/api/v1/signals", 405),
])
def test_other_errors_on_api_paths_are_json(client: Any, method: str, path: str,
                                            status: int) -> None:
    r = client.open(path, method=method)
    assert r.status_code == status
    assert r.mimetype == "application/json" and r.json["error"]["code"]


def test_a_get_is_verified_over_the_path_as_sent(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    from workbench.api.store import resolve_accounts
    from workbench.models import Platform

    with app.app_context():
        calls_id = db.session.scalars(select(Platform.id).where(Platform.slug == "calls")).one()
        resolve_accounts(db.session, calls_id, ["a/b"])
        db.session.commit()
    api = platforms["calls"]
    path = "/api/v1/users/a%2Fb/status"
    r = api.client.get(path, headers=api.headers(signed_content("GET", path, b"")))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["user_id"] == "a/b"
    decoded = "/api/v1/users/a/b/status"
    r = api.client.get(path, headers=api.headers(signed_content("GET", decoded, b"")))
    assert r.status_code == 401


def test_a_repeated_head_is_not_a_replay(platforms: dict[str, PlatformApi]) -> None:
    api = platforms["calls"]
    path = "/api/v1/users/nobody/status"
    ts = int(time.time())
    headers = {"X-Workbench-Platform": "calls", "X-Workbench-Timestamp": str(ts),
               "X-Workbench-Signature": sign(api.secret, ts, signed_content("HEAD", path, b""))}
    first = api.client.head(path, headers=headers)
    again = api.client.head(path, headers=headers)
    assert first.status_code == 404 and again.status_code == 404


@pytest.mark.parametrize("filename", [b"a\x00b.wav", b"a\xed\xa0\x80.wav"])
def test_a_recording_filename_no_column_can_hold_is_refused(
    app: Flask, platforms: dict[str, PlatformApi], filename: bytes
) -> None:
    import io

    import numpy as np
    import soundfile

    from workbench.models import Recording

    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(1600), 16000, format="WAV")
    meta = json.dumps({"id": "rec-1", "owner_id": "u1", "kind": "call",
                       "recorded_at": NOW}).encode()
    boundary = b"b0undary"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            + meta + b"\r\n--" + boundary
            + b'\r\nContent-Disposition: form-data; name="audio"; filename="' + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + buf.getvalue()
            + b"\r\n--" + boundary + b"--\r\n")
    api = platforms["calls"]
    headers = api.headers(body)
    headers["Content-Type"] = "multipart/form-data; boundary=b0undary"
    r = api.client.post("/api/v1/recordings", data=body, headers=headers)
    assert r.status_code in (400, 422), r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Recording)).all() == []
