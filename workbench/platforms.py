"""Registering the group's platforms and reading their secrets."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from workbench.crypto import decrypt_secret, encrypt_secret
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Platform, SeenSignature, utcnow
from workbench.models.audit import record
from workbench.models.platform import WEBHOOK_BATCH_MAX
from workbench.rules.webhooks import WebhookPolicy, WebhookUrlError, check_webhook_url

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


class PlatformError(ValueError):
    """A platform cannot be registered as asked."""


@dataclass(frozen=True)
class PlatformCredentials:
    """What a platform is told once, at registration: it is never shown again."""

    slug: str
    key_id: str
    secret: str


def register_platform(
    session: Session,
    secret_key: str,
    slug: str,
    *,
    name: str | None = None,
    webhook_url: str | None = None,
    secret: str | None = None,
    webhook_policy: WebhookPolicy | None = None,
    webhook_batch: int = 1,
) -> PlatformCredentials:
    """Create a platform with a new API key id and secret (or the given secret).

    The webhook URL is checked against ``webhook_policy`` (by default the running app's
    settings): HTTPS, no credentials, no private or loopback address. ``webhook_batch``
    is how many deliveries one webhook request may carry (1: one a request).
    """
    if not SLUG_PATTERN.match(slug):
        raise PlatformError(
            f"slug {slug!r}: use 2 to 63 lower-case letters, digits, '-' or '_'"
        )
    if webhook_url:
        check_url(webhook_url, webhook_policy)
    check_batch(webhook_batch)
    if session.execute(select(Platform.id).where(Platform.slug == slug)).first():
        raise PlatformError(f"platform {slug!r} already exists")
    secret = secret or secrets.token_urlsafe(32)
    key_id = "pk_" + secrets.token_hex(8)
    platform = Platform(
        slug=slug,
        name=name or slug,
        webhook_url=webhook_url,
        webhook_batch=webhook_batch,
        api_key_id=key_id,
        secret_encrypted=encrypt_secret(secret_key, secret),
        active=True,
    )
    session.add(platform)
    session.flush()
    record(session, "platform.created", "platform", platform.id, data={"slug": slug})
    return PlatformCredentials(slug=slug, key_id=key_id, secret=secret)


def set_webhook_url(session: Session, platform_id: int, url: str | None, *,
                    moderator_id: int, batch: int | None = None) -> Platform:
    """Point a platform's webhooks somewhere else, and (``batch``, when given) set how
    many deliveries a request may carry; audited, old and new; the caller commits.
    Deliveries still waiting go to the new address, in the new batches, at their next
    try."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise PlatformError(f"no platform {platform_id}")
    url = (url or "").strip() or None
    if url is not None:
        check_url(url)
    if batch is not None:
        check_batch(batch)
    if url != platform.webhook_url:
        old, platform.webhook_url = platform.webhook_url, url
        record(session, "platform.webhook_changed", "platform", platform.id,
               actor_type="moderator", actor_id=str(moderator_id),
               data={"from": old, "to": url})
    if batch is not None and batch != platform.webhook_batch:
        was, platform.webhook_batch = platform.webhook_batch, batch
        record(session, "platform.webhook_batch_changed", "platform", platform.id,
               actor_type="moderator", actor_id=str(moderator_id),
               data={"from": was, "to": batch})
    return platform


def check_batch(batch: int) -> None:
    """Refuse a number of deliveries a request outside 1 to ``WEBHOOK_BATCH_MAX``."""
    if not 1 <= batch <= WEBHOOK_BATCH_MAX:
        raise PlatformError(f"deliveries a webhook request: {batch}; use 1 (one a request)"
                            f" to {WEBHOOK_BATCH_MAX}")


def check_url(url: str, policy: WebhookPolicy | None = None) -> None:
    """Refuse a webhook URL the policy (by default the app's settings) does not allow."""
    if policy is None:
        policy = settings().webhook_policy
    try:
        check_webhook_url(url, policy)
    except WebhookUrlError as exc:
        # repr: the URL may hold a line break or other characters meant to mislead.
        raise PlatformError(f"webhook URL {url[:200]!r}: {exc}") from None


def platform_secret(platform: Platform, secret_key: str) -> str:
    """The platform's HMAC secret in clear, for signing and checking signatures."""
    return decrypt_secret(secret_key, platform.secret_encrypted)


def forget_old_signatures(tolerance_s: int) -> int:
    """Delete signatures older than the timestamp window: a replay of them fails anyway."""
    cutoff = utcnow() - timedelta(seconds=2 * tolerance_s)
    # A DELETE's result is a cursor's, which has the rowcount.
    result = cast("CursorResult[Any]", db.session.execute(
        delete(SeenSignature).where(SeenSignature.seen_at < cutoff)))
    return int(result.rowcount or 0)
