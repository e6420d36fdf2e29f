"""The OpenAPI document matches the implementation: schemathesis fuzzes every JSON endpoint."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from actions.signing import sign
from tests.support.platform_api import PlatformApi
from workbench.api.openapi import document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
STATUSES: list[int] = []

# The API accepts timestamps from 2000 to now; generate those, so fuzzing reaches storage.
schemathesis.openapi.format(
    "date-time",
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2026, 1, 1),
                 timezones=st.just(UTC)).map(lambda d: d.isoformat()),
)
JSON_ENDPOINTS = ["/api/v1/messages", "/api/v1/reports", "/api/v1/signals", "/api/v1/accounts"]


def test_the_document_is_openapi_3_1_and_lists_every_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {*JSON_ENDPOINTS, "/api/v1/recordings", "/api/v1/images",
                                 "/api/v1/appeals",
                                 "/api/v1/users/{user_id}/status"}
    # Every $ref resolves inside the document.
    text = json.dumps(doc)
    for name in doc["components"]["schemas"]:
        assert f'"#/components/schemas/{name}"' in text or name
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in doc["components"]["schemas"], ref


@pytest.mark.slow
@pytest.mark.parametrize(("path", "mode"), [
    *((p, m) for p in JSON_ENDPOINTS for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)),
    # Appeals name actions that do not exist here, so only the refusals are fuzzed.
    ("/api/v1/appeals", GenerationMode.NEGATIVE),
])
def test_fuzzed_requests_never_get_a_5xx_or_break_the_schema(
    app: Flask, platforms: dict[str, PlatformApi], path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(document())
    operation = schema[path]["POST"]
    api = platforms["calls"]
    offsets = itertools.count()

    # No shrinking: each example is a real request, and a failure is reported as found.
    @settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode))
    def check(case) -> None:
        raw = isinstance(case.body, bytes | bytearray)
        body = bytes(case.body) if raw else json.dumps(case.body).encode()
        # Each request signs a different moment, or identical bodies would be replays (409).
        ts = int(time.time()) - next(offsets) % 250
        signed = {"X-Workbench-Timestamp": str(ts),
                  "X-Workbench-Signature": sign(api.secret, ts, body)}
        response = api.post(path, raw=body, content_type=case.media_type or "application/json",
                            header_overrides=signed)
        STATUSES.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    STATUSES.clear()
    check()
    if mode is GenerationMode.POSITIVE:
        # The fuzzing reached the storing path, not only the refusals.
        assert STATUSES.count(202) >= len(STATUSES) // 4, STATUSES
    else:
        # Some mutations stay acceptable (extra fields are ignored by design); the point
        # is that the refusals were exercised, and none of them was a 5xx.
        assert any(400 <= s < 500 for s in STATUSES), STATUSES


@pytest.mark.slow
def test_fuzzed_status_lookups_never_get_a_5xx(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    schema = schemathesis.openapi.from_dict(document())
    operation = schema["/api/v1/users/{user_id}/status"]["GET"]
    api = platforms["calls"]

    @settings(max_examples=40, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        from urllib.parse import quote

        response = api.get(f"/api/v1/users/{quote(case.path_parameters['user_id'], safe='')}"
                           "/status")
        case.validate_response(response, checks=CHECKS)

    check()
