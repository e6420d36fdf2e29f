"""Bursts of malformed and oversized requests: each must get a 4xx, never a 5xx.

Every kind of bad input a hostile or broken platform could send: broken JSON and UTF-8,
wrong types, NUL characters, impossible dates, bad and stale signatures, a replayed
signature, bodies and batches over the limit, the wrong content type, broken multipart
bodies and broken audio, and a console sign-in without its CSRF token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import requests

from actions.signing import signed_headers
from bench.soak_harness.client import REQUEST_TIMEOUT_S, Answer, ApiClient
from bench.soak_harness.world import World, multipart, now_iso

#: Bytes over the JSON limit (5 MB by default) that the oversized body carries.
JSON_LIMIT = 5 * 1024 * 1024
AUDIO_LIMIT = 50 * 1024 * 1024


def _message(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {"id": "bad-1", "sender_id": "x", "recipient_id": "y",
                               "conversation_id": "c", "text": "hello", "sent_at": now_iso()}
    item.update(changes)
    return item


def _json_cases(slug: str, world: World) -> Iterator[tuple[str, str, bytes, str]]:
    """(label, path, body, content type) of bad JSON requests (signed correctly)."""
    j = "application/json"
    yield "broken_json", "/api/v1/messages", b'{"messages": [{"id": ', j
    yield "not_an_object", "/api/v1/messages", b"[1, 2, 3]", j
    yield "list_is_a_string", "/api/v1/reports", b'{"reports": "everything"}', j
    yield "empty_batch", "/api/v1/signals", b'{"signals": []}', j
    yield "invalid_utf8", "/api/v1/messages", b'{"messages": "\xff\xfe"}', j
    yield "nested_deep", "/api/v1/messages", b"[" * 50_000 + b"]" * 50_000, j
    yield "wrong_type", "/api/v1/messages", json.dumps(
        {"messages": [_message(text=12345)]}).encode(), j
    yield "nul_char", "/api/v1/messages", json.dumps(
        {"messages": [_message(text="a\u0000b")]}).encode(), j
    yield "date_1990", "/api/v1/messages", json.dumps(
        {"messages": [_message(sent_at="1990-01-01T00:00:00Z")]}).encode(), j
    yield "naive_date", "/api/v1/messages", json.dumps(
        {"messages": [_message(sent_at="2026-01-01T00:00:00")]}).encode(), j
    yield "text_too_long", "/api/v1/messages", json.dumps(
        {"messages": [_message(text="x" * 20_001)]}).encode(), j
    yield "unknown_category", "/api/v1/reports", json.dumps({"reports": [
        {"id": "bad-r", "reported_user_id": "x", "category": "rudeness",
         "created_at": now_iso()}]}).encode(), j
    yield "score_is_text", "/api/v1/signals", json.dumps({"signals": [
        {"id": "bad-s", "user_id": "x", "kind": "chargeback", "score": "high"}]}).encode(), j
    yield "huge_number", "/api/v1/accounts", json.dumps({"accounts": [
        {"id": "bad-a", "username": "u", "birth_year": 10 ** 30}]}).encode(), j
    yield "appeal_no_action", "/api/v1/appeals", json.dumps({"appeals": [
        {"id": "bad-ap", "user_id": world.by_platform[slug][0].user_id,
         "action_id": 999_999_999, "text": "please"}]}).encode(), j
    yield "batch_over_1000", "/api/v1/messages", json.dumps(
        {"messages": [_message(id=f"b{i}") for i in range(1001)]}).encode(), j
    yield "body_over_limit", "/api/v1/messages", b'{"messages": ["' + b"x" * JSON_LIMIT \
        + b'"]}', j
    yield "wrong_content_type", "/api/v1/messages", json.dumps(
        {"messages": [_message()]}).encode(), "text/plain"


def _audio_cases(world: World) -> Iterator[tuple[str, bytes, str]]:
    """(label, body, content type) of bad recording uploads (signed correctly)."""
    meta = json.dumps({"id": "bad-rec", "owner_id": "x", "kind": "voice_intro",
                       "recorded_at": now_iso()})
    wav = world.sample_wav
    yield ("garbage_audio", *multipart({"metadata": meta},
                                       {"audio": ("a.wav", b"RIFF\x00garbage" * 100, "audio/wav")}))
    yield ("truncated_wav", *multipart({"metadata": meta}, {"audio": ("a.wav", wav[:300],
                                                                       "audio/wav")}))
    yield ("empty_audio", *multipart({"metadata": meta}, {"audio": ("a.wav", b"", "audio/wav")}))
    yield ("metadata_not_json", *multipart({"metadata": "{nope"},
                                           {"audio": ("a.wav", wav, "audio/wav")}))
    yield ("metadata_missing", *multipart({}, {"audio": ("a.wav", wav, "audio/wav")}))
    yield ("audio_missing", *multipart({"metadata": meta}, {}))
    body, ctype = multipart({"metadata": meta}, {"audio": ("a.wav", wav, "audio/wav")})
    yield "broken_boundary", body[: len(body) // 2], ctype
    yield "not_multipart", b'{"metadata": {}}', "application/json"


def burst(client: ApiClient, world: World, slug: str, *, oversized_audio: bool) -> int:
    """Send one burst of bad requests as ``slug``; returns how many were sent."""
    sent = 0
    for label, path, body, ctype in _json_cases(slug, world):
        client.raw(f"bad:{label}", slug, path, body, ctype, good=False)
        sent += 1
    for label, body, ctype in _audio_cases(world):
        client.raw(f"bad:{label}", slug, "/api/v1/recordings", body, ctype, good=False)
        sent += 1
    if oversized_audio:
        meta = json.dumps({"id": "bad-big", "owner_id": "x", "kind": "voice_intro",
                           "recorded_at": now_iso()})
        body, ctype = multipart({"metadata": meta},
                                {"audio": ("big.wav", b"\x00" * (AUDIO_LIMIT + 1024 * 1024),
                                           "audio/wav")})
        client.raw("bad:audio_over_limit", slug, "/api/v1/recordings", body, ctype, good=False)
        sent += 1
    return sent + _signature_cases(client, world, slug) + _console_cases(client)


def _signature_cases(client: ApiClient, world: World, slug: str) -> int:
    account = world.by_platform[slug][0]
    body = json.dumps({"accounts": [World.account_item(account)]}).encode()
    j = "application/json"
    path = "/api/v1/accounts"
    cases: list[tuple[str, dict[str, str]]] = [
        ("wrong_secret", signed_headers(slug, "not-the-secret-0123456789", body)),
        ("stale_timestamp", signed_headers(slug, client.secrets[slug], body,
                                           now=time.time() - 3600)),
        ("missing_signature", {"X-Workbench-Platform": slug}),
        ("malformed_signature", {"X-Workbench-Platform": slug,
                                 "X-Workbench-Timestamp": str(int(time.time())),
                                 "X-Workbench-Signature": "sha256=zz"}),
        ("unknown_platform", signed_headers("nobody", "whatever-0123456789", body)),
    ]
    for label, headers in cases:
        client.raw(f"bad:{label}", slug, path, body, j, good=False, headers=headers,
                   sign=False)
    # A replayed request: the same signature twice. The first is a good request (an
    # account update); the second must be refused, 409.
    headers = signed_headers(slug, client.secrets[slug], body)
    client.raw("accounts", slug, path, body, j, good=True, headers=headers, sign=False)
    client.raw("bad:replayed_signature", slug, path, body, j, good=False, headers=headers,
               sign=False)
    client.raw("bad:status_unsigned", slug, f"/api/v1/users/{account.user_id}/status", b"",
               j, good=False, method="GET", sign=False)
    client.raw("bad:method_not_allowed", slug, "/api/v1/messages", b"", j, good=False,
               method="PUT")
    return len(cases) + 4


def _console_cases(client: ApiClient) -> int:
    """A sign-in without its CSRF token, and an action without a session."""
    checks: list[tuple[str, Callable[[requests.Session], requests.Response]]] = [
        ("login_without_csrf", lambda s: s.post(client.base_url + "/login", data={
            "email": "nobody@soak.example", "password": "x"}, timeout=REQUEST_TIMEOUT_S,
            allow_redirects=False)),
        ("act_without_session", lambda s: s.post(client.base_url + "/admin/case/1/act", data={
            "decision": "ban"}, timeout=REQUEST_TIMEOUT_S, allow_redirects=False)),
    ]
    for label, call in checks:
        t0 = time.time()
        try:
            r = call(requests.Session())
            client.log.add(Answer(t0, time.time(), f"bad:{label}", False, r.status_code,
                                  retry_after="Retry-After" in r.headers))
        except requests.RequestException as exc:
            client.log.add(Answer(t0, time.time(), f"bad:{label}", False, None,
                                  error=str(exc)[:300]))
    return len(checks)

