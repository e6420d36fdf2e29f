"""Generated bad input, signed and sent to the real app: never a 5xx, always a JSON error.

Hypothesis builds the classes of input the hardening issue found answered 500: lone
surrogates and NUL anywhere, integers of thousands of digits, NaN and Infinity, nesting
hundreds deep, odd header values, odd bytes in paths. Each test prints how many inputs
it tried (``pytest -s`` shows them); ``GENERATED`` keeps the counts for the summary.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.signing import signed_content
from tests.support.platform_api import PlatformApi

NOW = "2026-11-20T10:00:00Z"
ITEMS: dict[str, dict[str, Any]] = {
    "messages": {"id": "m1", "conversation_id": "c1", "sender_id": "u1", "recipient_id": "u2",
                 "text": "hello", "sent_at": NOW, "language": "en"},
    "reports": {"id": "r1", "reporter_id": "u2", "reported_user_id": "u1",
                "category": "harassment", "description": "rude", "created_at": NOW},
    "signals": {"id": "s1", "user_id": "u1", "kind": "chargeback", "score": 0.5,
                "details": {"note": "x"}, "created_at": NOW},
    "accounts": {"id": "u1", "username": "asha", "phone_hash": "a" * 64, "gender": "f",
                 "birth_year": 1990, "languages": ["en"], "device_ids": ["d1"]},
    "appeals": {"id": "a1", "user_id": "u1", "action_id": 1, "text": "not me",
                "created_at": NOW},
}
FIELDS = [(endpoint, field) for endpoint, item in ITEMS.items() for field in [*item, "extra"]]
#: Inputs tried per test, for the closing note.
GENERATED: Counter[str] = Counter()
#: Examples per test; FUZZ_EXAMPLES=1000 for a longer run before a release.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

HOSTILE_CHARS = st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "\ufeff", "\U0010ffff",
                                 '"', "\\", "\n"])
hostile_text = st.text(alphabet=st.one_of(st.characters(), HOSTILE_CHARS), max_size=40)


def _nested(depth: int, open_: str, close: str, core: str = "1") -> str:
    return open_ * depth + core + close * depth


# JSON text for one value: what json.dumps would write, and what it never would.
hostile_json = st.one_of(
    hostile_text.map(json.dumps),
    st.integers().map(str),
    st.integers(min_value=19, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=19, max_value=6000).map(lambda n: "-" + "9" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "0.1e999999",
                     "null", "true", "[]", "{}", '""', "1.5", str(2**63), str(-(2**63) - 1)]),
    st.integers(min_value=1, max_value=3000).map(lambda d: _nested(d, "[", "]")),
    st.integers(min_value=1, max_value=3000).map(lambda d: _nested(d, '{"a": ', "}")),
    st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | hostile_text,
                 lambda kids: st.lists(kids, max_size=3)
                 | st.dictionaries(hostile_text, kids, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v, allow_nan=True)),
)


def _batch_with(endpoint: str, field: str, value_json: str) -> bytes:
    good = json.dumps(ITEMS[endpoint])
    rest = {k: v for k, v in ITEMS[endpoint].items() if k != field} | {"id": "two"}
    inner = json.dumps(rest)[1:-1]
    if field == "id":
        inner = json.dumps({k: v for k, v in rest.items() if k != "id"})[1:-1]
    second = "{" + inner + (", " if inner else "") + json.dumps(field) + ": " + value_json + "}"
    return f'{{"{endpoint}": [{good}, {second}]}}'.encode()


def _assert_json_4xx_or_ok(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        error = response.json["error"]
        assert error["code"] and error["message"]


def _tried(name: str) -> None:
    GENERATED[name] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    total = sum(GENERATED.values())
    print(f"\ngenerated bad inputs tried: {total} ({dict(GENERATED)}), none answered 5xx")


@SETTINGS
@given(where=st.sampled_from(FIELDS), value=hostile_json)
def test_a_hostile_value_in_any_field_is_never_a_5xx(
    platforms: dict[str, PlatformApi], where: tuple[str, str], value: str
) -> None:
    endpoint, field = where
    _tried("field values")
    r = platforms["calls"].post(f"/api/v1/{endpoint}", raw=_batch_with(endpoint, field, value))
    _assert_json_4xx_or_ok(r)


@SETTINGS
@given(endpoint=st.sampled_from(sorted(ITEMS)), body=st.one_of(
    st.binary(max_size=200), hostile_json.map(str.encode),
    hostile_json.map(lambda v: ('{"messages": ' + v + "}").encode())))
def test_any_body_is_never_a_5xx(
    platforms: dict[str, PlatformApi], endpoint: str, body: bytes
) -> None:
    _tried("bodies")
    _assert_json_4xx_or_ok(platforms["calls"].post(f"/api/v1/{endpoint}", raw=body))


# HTTP cannot carry CR or LF in a header value: every other latin-1 character can.
latin1 = st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"),
                 max_size=500)


@SETTINGS
@given(header=st.sampled_from(["X-Workbench-Platform", "X-Workbench-Timestamp",
                               "X-Workbench-Signature"]),
       value=st.one_of(latin1, st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
                       latin1.map(lambda s: "sha256=" + (s * 64)[:64])))
def test_any_signature_header_is_never_a_5xx(
    platforms: dict[str, PlatformApi], header: str, value: str
) -> None:
    _tried("headers")
    r = platforms["calls"].post("/api/v1/signals", {"signals": [ITEMS["signals"]]},
                                header_overrides={header: value})
    _assert_json_4xx_or_ok(r)
    assert r.status_code != 202 or value in ("calls",)


@SETTINGS
@given(raw=st.binary(max_size=300), method=st.sampled_from(["GET", "HEAD"]))
def test_any_user_id_in_the_status_path_is_never_a_5xx(
    platforms: dict[str, PlatformApi], raw: bytes, method: str
) -> None:
    _tried("paths")
    api = platforms["calls"]
    path = "/api/v1/users/" + quote_from_bytes(raw, safe="/") + "/status"
    r = api.client.open(path, method=method,
                        headers=api.headers(signed_content(method, path, b"")))
    assert r.status_code < 500
    if method == "GET" and r.status_code >= 400:
        assert r.json["error"]["code"]
