"""Signed requests to the intake API as one platform, through the Flask test client."""

from __future__ import annotations

import json
from collections.abc import Mapping

from actions.signing import signed_content, signed_headers

PLATFORM_SLUGS = ("calls", "web", "meet")


class PlatformApi:
    """Signed requests to the intake API as one platform, through the Flask test client."""

    def __init__(self, client, slug: str, secret: str) -> None:
        self.client = client
        self.slug = slug
        self.secret = secret

    def headers(self, body: bytes, **overrides: str) -> dict[str, str]:
        return {**signed_headers(self.slug, self.secret, body), **overrides}

    def post(self, path: str, payload: object = None, *, raw: bytes | None = None,
             content_type: str = "application/json",
             header_overrides: Mapping[str, str] | None = None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = self.headers(body, **(header_overrides or {}))
        headers["Content-Type"] = content_type
        return self.client.post(path, data=body, headers=headers)

    def get(self, path: str):
        return self.client.get(path, headers=self.headers(signed_content("GET", path, b"")))
