"""Bad input gets a clear 4xx naming what is wrong, and stores nothing (table-driven)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.platform_api import PlatformApi
from workbench.extensions import db
from workbench.models import Account, FraudSignal, Message, OutboxBatch, Report

NOW = "2026-11-20T10:00:00Z"

VALID: dict[str, dict[str, Any]] = {
    "messages": {"id": "m1", "conversation_id": "c1", "sender_id": "u1", "recipient_id": "u2",
                 "text": "hello there", "sent_at": NOW},
    "reports": {"id": "r1", "reporter_id": "u2", "reported_user_id": "u1",
                "category": "harassment", "created_at": NOW},
    "signals": {"id": "s1", "user_id": "u1", "kind": "chargeback", "score": 0.7},
    "accounts": {"id": "u1", "username": "asha", "phone_hash": "a" * 64,
                 "device_ids": ["d1"]},
}
DATE_FIELD = {"messages": "sent_at", "reports": "created_at", "signals": "created_at"}
TEXT_FIELD = {"messages": "text", "reports": "description", "signals": "id",
              "accounts": "username"}


def _with(endpoint: str, **changes: Any) -> dict[str, Any]:
    item = dict(VALID[endpoint], **changes)
    return {endpoint: [VALID[endpoint] | {"id": "ok-1"}, item]}


def _without(endpoint: str, field: str) -> dict[str, Any]:
    item = {k: v for k, v in VALID[endpoint].items() if k != field}
    return {endpoint: [VALID[endpoint] | {"id": "ok-1"}, item]}


# (name, endpoints it applies to, body builder, status, error code, field or None)
Case = tuple[str, tuple[str, ...], Callable[[str], bytes], int, str, str | None]
ALL = ("messages", "reports", "signals", "accounts")
CASES: list[Case] = [
    ("malformed json", ALL, lambda e: b'{"' + e.encode() + b'": [', 400, "malformed_json", None),
    ("invalid utf-8", ALL, lambda e: b'{"' + e.encode() + b'": ["\xff\xfe"]}', 400,
     "invalid_encoding", None),
    ("not an object", ALL, lambda e: b"[1, 2, 3]", 422, "invalid_body", None),
    ("list missing", ALL, lambda e: b"{}", 422, "invalid_body", None),
    ("list is a string", ALL, lambda e: json.dumps({e: "nope"}).encode(), 422, "invalid_body",
     None),
    ("empty batch", ALL, lambda e: json.dumps({e: []}).encode(), 422, "empty_batch", None),
    ("batch over 1000", ALL,
     lambda e: json.dumps({e: [VALID[e] | {"id": f"x{i}"} for i in range(1001)]}).encode(),
     413, "batch_too_large", None),
    ("item not an object", ALL, lambda e: json.dumps({e: [VALID[e], 7]}).encode(), 422,
     "invalid_item", "[1]"),
    ("id missing", ALL, lambda e: json.dumps(_without(e, "id")).encode(), 422, "invalid_item",
     "[1].id"),
    ("id wrong type", ALL, lambda e: json.dumps(_with(e, id=12345)).encode(), 422,
     "invalid_item", "[1].id"),
    ("NUL byte", ALL, lambda e: json.dumps(_with(e, **{TEXT_FIELD[e]: "a\x00b"})).encode(), 422,
     "invalid_item", None),
    ("NUL in an optional field", ("messages",),
     lambda e: json.dumps(_with(e, language="e\x00n")).encode(), 422, "invalid_item",
     "messages[1].language"),
    ("NUL in details", ("signals",),
     lambda e: json.dumps(_with(e, details={"note": "a\x00"})).encode(), 422, "invalid_item",
     "signals[1].details.note"),
    ("NUL in a phone hash", ("accounts",),
     lambda e: json.dumps(_with(e, phone_hash="abcdefgh\x00")).encode(), 422,
     "invalid_item", "accounts[1].phone_hash"),
    ("date out of range", ("messages", "reports", "signals"),
     lambda e: json.dumps(_with(e, **{DATE_FIELD[e]: "1899-01-01T00:00:00Z"})).encode(), 422,
     "invalid_item", None),
    ("date in the far future", ("messages", "reports", "signals"),
     lambda e: json.dumps(_with(e, **{DATE_FIELD[e]: "9999-01-01T00:00:00Z"})).encode(), 422,
     "invalid_item", None),
    ("date without zone", ("messages", "reports"),
     lambda e: json.dumps(_with(e, **{DATE_FIELD[e]: "2026-11-20T10:00:00"})).encode(), 422,
     "invalid_item", None),
    ("date not a date", ("messages", "reports", "signals"),
     lambda e: json.dumps(_with(e, **{DATE_FIELD[e]: "tuesday"})).encode(), 422,
     "invalid_item", None),
    ("unknown category", ("reports",),
     lambda e: json.dumps(_with(e, category="rudeness")).encode(), 422, "invalid_item",
     "reports[1].category"),
    ("unknown signal kind", ("signals",),
     lambda e: json.dumps(_with(e, kind="vibes")).encode(), 422, "invalid_item",
     "signals[1].kind"),
    ("score out of range", ("signals",),
     lambda e: json.dumps(_with(e, score=7)).encode(), 422, "invalid_item", "signals[1].score"),
    ("both recipient and room", ("messages",),
     lambda e: json.dumps(_with(e, room_id="room-1")).encode(), 422, "invalid_item", None),
    ("text too long", ("messages",),
     lambda e: json.dumps(_with(e, text="x" * 20_001)).encode(), 422, "invalid_item",
     "messages[1].text"),
    ("device ids not a list", ("accounts",),
     lambda e: json.dumps(_with(e, device_ids="d1")).encode(), 422, "invalid_item",
     "accounts[1].device_ids"),
    ("birth year impossible", ("accounts",),
     lambda e: json.dumps(_with(e, birth_year=1066)).encode(), 422, "invalid_item",
     "accounts[1].birth_year"),
]

PARAMS = [
    pytest.param(endpoint, body, status, code, field, id=f"{endpoint}: {name}")
    for name, endpoints, body, status, code, field in CASES
    for endpoint in endpoints
]


def _stored(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        return tuple(
            db.session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Message, Report, FraudSignal, Account, OutboxBatch)
        )


@pytest.mark.parametrize(("endpoint", "body", "status", "code", "field"), PARAMS)
def test_bad_input_is_refused_and_nothing_is_stored(
    app: Flask, platforms: dict[str, PlatformApi], endpoint: str,
    body: Callable[[str], bytes], status: int, code: str, field: str | None,
) -> None:
    before = _stored(app)
    r = platforms["calls"].post(f"/api/v1/{endpoint}", raw=body(endpoint))
    assert r.status_code == status, r.get_data(as_text=True)
    error = r.json["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert error["field"] == endpoint + field if field.startswith("[") else field
    if code == "invalid_item":
        assert error["index"] == 1  # the second item; the first was valid and is not stored
    assert _stored(app) == before


@pytest.mark.parametrize("endpoint", ALL)
def test_wrong_content_type_is_refused(platforms: dict[str, PlatformApi], endpoint: str) -> None:
    r = platforms["calls"].post(f"/api/v1/{endpoint}", {endpoint: [VALID[endpoint]]},
                                content_type="text/plain")
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("endpoint", ALL)
def test_a_body_over_the_size_limit_is_refused_with_413(
    database_url: str, redis_url: str, tmp_path: Any, endpoint: str
) -> None:
    from tests.support.app import TEST_SECRET_KEY, reset_tables
    from tests.support.platform_api import PlatformApi
    from workbench.app import create_app
    from workbench.platforms import register_platform

    reset_tables(database_url)
    small = create_app({"instance_dir": tmp_path, "database_url": database_url,
                        "redis_url": redis_url, "secret_key": TEST_SECRET_KEY,
                        "max_json_bytes": 2048})
    with small.app_context():
        register_platform(db.session, TEST_SECRET_KEY, "calls", secret="s" * 20)
        db.session.commit()
    api = PlatformApi(small.test_client(), "calls", "s" * 20)
    body = {endpoint: [VALID[endpoint] | {"id": f"x{i}"} for i in range(40)]}
    r = api.post(f"/api/v1/{endpoint}", body)
    assert r.status_code == 413 and r.json["error"]["code"] == "body_too_large"
    with small.app_context():
        db.session.remove()
        db.engine.dispose()
