"""Pages outside the console: the landing page, health, and the demo's webhook sink."""

from __future__ import annotations

import json
from dataclasses import replace

from flask import Flask

from actions.signing import signed_headers
from tests.support.platform_api import PlatformApi


def test_landing_page_and_health(client) -> None:
    assert b"HARMONI" in client.get("/").data
    assert client.get("/healthz").json == {"status": "ok"}


def test_the_demo_webhook_sink_exists_only_in_demo_mode(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    body = json.dumps({"event": "action", "type": "ban"}).encode()
    headers = {**signed_headers("calls", platforms["calls"].secret, body),
               "Content-Type": "application/json"}
    client = app.test_client()
    assert client.post("/demo/platforms/calls/webhook", data=body,
                       headers=headers).status_code == 404
    app.extensions["workbench.settings"] = replace(app.extensions["workbench.settings"],
                                                   demo_mode=True)
    assert client.post("/demo/platforms/calls/webhook", data=body,
                       headers=headers).status_code == 200
    bad = {**headers, "X-Workbench-Signature": "sha256=" + "0" * 64}
    assert client.post("/demo/platforms/calls/webhook", data=body,
                       headers=bad).status_code == 401
