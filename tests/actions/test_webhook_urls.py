"""Webhook URLs: HTTPS to public addresses only, checked at registration and at connection.

And a platform's failure is kept as its status and a short class, never its words.
"""

from __future__ import annotations

import pytest
import urllib3
from flask import Flask
from sqlalchemy import select

from actions.delivery import (
    BlockedAddressError,
    DeliveryPolicy,
    HttpSender,
    Outgoing,
    deliver,
)
from tests.support.app import TEST_SECRET_KEY
from tests.support.enforcement import act, drain
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Platform
from workbench.platforms import PlatformError, platform_secret, register_platform
from workbench.rules.webhooks import WebhookPolicy, WebhookUrlError, check_webhook_url
from workbench.settings import load_settings

STRICT = WebhookPolicy()
LOCAL = WebhookPolicy(allow_http=True, allow_private=True)


@pytest.mark.parametrize(("url", "why"), [
    ("http://platform.example.com/hook", "must start with https://"),
    ("https://user:password@platform.example.com/hook", "user name or password"),
    ("https://platform.example.com/hook\nX-Injected: 1", "control characters"),
    ("https://platform.example.com/ho ok", "control characters"),
    ("https://127.0.0.1/hook", "not a public address"),
    ("https://127.1/hook", "not a public address"),
    ("https://2130706433/hook", "not a public address"),
    ("https://0x7f.0.0.1/hook", "not a public address"),
    ("https://169.254.169.254/latest/meta-data/", "not a public address"),
    ("https://[::1]/hook", "not a public address"),
    ("https://[::ffff:127.0.0.1]/hook", "not a public address"),
    ("https://[fe80::1]/hook", "not a public address"),
    ("https://[64:ff9b::a9fe:a9fe]/hook", "not a public address"),
    ("https://[2002:7f00:1::]/hook", "not a public address"),
    ("https://10.1.2.3/hook", "not a public address"),
    ("https://172.16.0.9/hook", "not a public address"),
    ("https://192.168.1.1/hook", "not a public address"),
    ("https://100.64.0.1/hook", "not a public address"),
    ("https://0.0.0.0/hook", "not a public address"),
    ("https://localhost/hook", "this machine"),
    ("https://api.localhost/hook", "this machine"),
    ("https://platform.example.com:99999/hook", "port"),
    ("https:///hook", "no host"),
    ("ftp://platform.example.com/hook", "must start with https://"),
])
def test_the_production_rule_refuses_each_dangerous_url(url: str, why: str) -> None:
    with pytest.raises(WebhookUrlError, match=why):
        check_webhook_url(url, STRICT)


def test_the_production_rule_accepts_https_to_a_public_host() -> None:
    for url in ("https://platform.example.com/webhooks/harmoni",
                "https://8.8.8.8:8443/hook", "https://[2606:4700::1111]/hook"):
        assert check_webhook_url(url, STRICT) == url


def test_the_demo_and_test_rule_lets_local_http_through_but_never_credentials() -> None:
    assert check_webhook_url("http://127.0.0.1:5000/demo/webhook", LOCAL)
    assert check_webhook_url("http://[::1]:5000/hook", LOCAL)
    with pytest.raises(WebhookUrlError, match="user name or password"):
        check_webhook_url("http://a:b@127.0.0.1/hook", LOCAL)
    with pytest.raises(WebhookUrlError, match="control characters"):
        check_webhook_url("http://127.0.0.1/hook\r\n", LOCAL)


def test_settings_default_to_the_production_rule_and_read_the_environment() -> None:
    assert load_settings(environ={}).webhook_policy == STRICT
    assert load_settings(environ={"WORKBENCH_ALLOW_PRIVATE_WEBHOOKS": "true",
                                  "WORKBENCH_ALLOW_HTTP_WEBHOOKS": "true"}
                         ).webhook_policy == LOCAL


def test_registration_refuses_a_metadata_address_and_stores_nothing(app: Flask) -> None:
    with app.app_context():
        for url in ("https://169.254.169.254/latest/meta-data/", "https://[::1]/x",
                    "https://u:p@platform.example.com/", "https://example.com/\nX: y"):
            with pytest.raises(PlatformError, match="webhook URL"):
                register_platform(db.session, TEST_SECRET_KEY, "calls", webhook_url=url,
                                  webhook_policy=STRICT)
        assert db.session.scalars(select(Platform)).all() == []
        register_platform(db.session, TEST_SECRET_KEY, "calls",
                          webhook_url="https://calls.example.com/hook", webhook_policy=STRICT)


def test_registration_follows_the_app_settings(tmp_path, database_url: str,
                                               redis_url: str) -> None:
    from workbench.app import create_app

    strict = create_app({"instance_dir": tmp_path / "instance", "database_url": database_url,
                         "redis_url": redis_url, "secret_key": TEST_SECRET_KEY,
                         "allow_private_webhooks": False, "allow_http_webhooks": False})
    with strict.app_context():
        with pytest.raises(PlatformError, match="not a public address"):
            register_platform(db.session, TEST_SECRET_KEY, "calls",
                              webhook_url="https://127.0.0.1/hook")
        db.session.rollback()
        db.session.remove()


def test_a_name_that_resolves_to_a_private_address_is_refused_when_connecting() -> None:
    # "localhost" resolves to loopback through the system's resolver: the connection is
    # refused after resolution, before any byte is sent.
    server = PlatformServer("calls", "secret-calls-0123456789")
    server.start()
    sender = HttpSender(2.0, 1, WebhookPolicy(allow_http=True))
    try:
        with pytest.raises(BlockedAddressError, match="not a public address"):
            sender.pool.request("POST", f"http://localhost:{server.port}/webhook", body=b"{}")
        with pytest.raises(BlockedAddressError):  # HTTPS too, before any TLS
            sender.pool.request("POST", f"https://localhost:{server.port}/webhook", body=b"{}")
        attempt = sender.post(Outgoing((1,), f"http://127.0.0.1:{server.port}/webhook", b"{}",
                                       {}))
        assert (attempt.status, attempt.error) == (None, "blocked")
        assert server.received == [] and server.bad_signatures == 0
        # The same request with private addresses allowed reaches the server.
        local = HttpSender(2.0, 1, LOCAL)
        answer = local.pool.request("POST", f"http://localhost:{server.port}/webhook",
                                    body=b"{}")
        assert answer.status == 401  # unsigned, but it got there
        local.close()
    finally:
        sender.close()
        server.stop()


def test_a_platform_error_is_kept_as_its_status_and_class_never_its_body(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    servers["web"].fail_next = 1
    servers["web"].fail_status = 503
    servers["web"].fail_body = b"upstream said: Authorization: Bearer sk_live_TOKEN123"
    servers["meet"].stop()
    act(app, person, ActionType.WARN)
    drain(app)
    with app.app_context():
        rows = {slug: (d.last_status_code, d.last_error) for d, slug in db.session.execute(
            select(EnforcementDelivery, Platform.slug)
            .join(Platform, Platform.id == EnforcementDelivery.platform_id))}
    assert rows["web"] == (503, "5xx")
    assert rows["meet"] == (None, "refused")
    assert rows["calls"] == (200, None)


def test_a_webhook_left_on_a_private_address_is_not_sent_to(
        app: Flask, servers: dict[str, PlatformServer], person: int) -> None:
    # Registered before the rule (or with it relaxed): the sender still refuses.
    act(app, person, ActionType.WARN)
    with app.app_context():
        def secret(p: Platform) -> str:
            return platform_secret(p, TEST_SECRET_KEY)
        sender = HttpSender(2.0, 2, WebhookPolicy(allow_http=True))
        try:
            deliver(db.session, sender, secret, DeliveryPolicy(timeout_s=2))
        finally:
            sender.close()
        errors = set(db.session.scalars(select(EnforcementDelivery.last_error)))
    assert errors == {"blocked"}
    assert all(not s.received for s in servers.values())


def test_urllib3_connection_errors_are_classified() -> None:
    from actions.delivery import exception_class

    assert exception_class(urllib3.exceptions.ReadTimeoutError(
        urllib3.HTTPConnectionPool("127.0.0.1"), "/", "t")).value == \
        "timeout"
    assert exception_class(urllib3.exceptions.SSLError("bad cert")).value == "tls"
