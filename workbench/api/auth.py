"""Who is calling: the platform named by the request, proven by its signature."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from actions import signing
from workbench.api.errors import ApiError
from workbench.api.parsing import raw_uri
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Platform, SeenSignature, utcnow
from workbench.platforms import platform_secret
from workbench.upserts import insert_new

#: Methods that only read: their signatures are not remembered, so a repeat is no replay.
SAFE_METHODS = frozenset({"GET", "HEAD"})
# A slug is short printable ASCII (the column is 64): anything else cannot be registered.
_SLUG = re.compile(r"[!-~]{1,64}")


@dataclass(frozen=True)
class Caller:
    platform_id: int
    slug: str


def authenticate(body: bytes) -> Caller:
    """Check the platform, its signature and freshness; remember the signature.

    The signature of a write is recorded in the request's transaction, so its replay is
    refused (409) even when it races the original, and forgotten if nothing is stored.
    """
    slug = request.headers.get(signing.PLATFORM_HEADER)
    if not slug:
        raise ApiError(401, "missing_platform", f"send the {signing.PLATFORM_HEADER} header")
    if not _SLUG.fullmatch(slug):
        raise ApiError(401, "unknown_platform", "no such platform is registered")
    platform = db.session.scalars(select(Platform).where(Platform.slug == slug)).first()
    if platform is None:
        raise ApiError(401, "unknown_platform", f"no platform {slug!r} is registered")
    s = settings()
    try:
        signing.verify(
            platform_secret(platform, s.secret_key),
            request.headers.get(signing.TIMESTAMP_HEADER),
            request.headers.get(signing.SIGNATURE_HEADER),
            signing.signed_content(request.method, raw_uri(), body),
            tolerance_s=s.signature_tolerance_s,
        )
    except signing.SignatureError as exc:
        raise ApiError(401, exc.problem.value, exc.message) from None
    if not platform.active:
        raise ApiError(403, "platform_inactive", f"platform {slug!r} is deactivated")
    g.caller = caller = Caller(platform.id, platform.slug)
    if request.method in SAFE_METHODS:
        # A read changes nothing, and its signature covers its path: repeating it within
        # the timestamp window reads the same thing again, so it is not refused.
        return caller
    signature = request.headers[signing.SIGNATURE_HEADER]
    # One INSERT ... ON CONFLICT DO NOTHING: a signature already there (or being written
    # by a request racing this one, which the insert waits for) inserts nothing.
    if not insert_new(db.session, SeenSignature,
                      [{"platform_id": platform.id, "signature": signature,
                        "seen_at": utcnow()}],
                      ["platform_id", "signature"], [SeenSignature.id]):
        raise ApiError(409, "replayed_request",
                       "this signature was already used; sign each request afresh")
    g.caller = caller
    return caller
