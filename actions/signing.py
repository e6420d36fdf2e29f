"""Request signatures, shared by the intake API (checking) and webhooks (signing).

A signature is ``sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<raw body>"`` with
the platform's secret; the timestamp is unix seconds, sent in its own header.

A request without a body (``GET``) signs ``"<timestamp>.GET <path and query>"`` instead,
the path and query exactly as sent (percent-encoding kept), so a signature cannot be
replayed against another path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from enum import StrEnum

PLATFORM_HEADER = "X-Workbench-Platform"
TIMESTAMP_HEADER = "X-Workbench-Timestamp"
SIGNATURE_HEADER = "X-Workbench-Signature"
SCHEME = "sha256="

#: How far a request's timestamp may be from our clock, either way.
DEFAULT_TOLERANCE_S = 300

# Header values arrive as latin-1 text: only these shapes are let near int() and
# compare_digest (a 400-digit timestamp overflows a float; non-ASCII makes a TypeError).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(re.escape(SCHEME) + r"[0-9a-fA-F]{64}")


class SignatureProblem(StrEnum):
    MISSING = "missing_signature"
    MALFORMED = "malformed_signature"
    BAD_TIMESTAMP = "bad_timestamp"
    EXPIRED = "stale_timestamp"
    MISMATCH = "bad_signature"


@dataclass(frozen=True)
class SignatureError(Exception):
    problem: SignatureProblem
    message: str


def signed_content(method: str, path: str, body: bytes) -> bytes:
    """What a request signs: its body, or for a body-less request its method and path."""
    if method.upper() in {"GET", "HEAD", "DELETE"} and not body:
        return f"{method.upper()} {path}".encode()
    return body


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(slug: str, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three headers a signed request carries."""
    timestamp = int(time.time() if now is None else now)
    return {
        PLATFORM_HEADER: slug,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Check a signed request.

    Raises:
        SignatureError: what is wrong, in words a platform's developer can act on.
    """
    if not timestamp_header or not signature_header:
        raise SignatureError(
            SignatureProblem.MISSING,
            f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} with every request",
        )
    if not _SIGNATURE.fullmatch(signature_header):
        raise SignatureError(
            SignatureProblem.MALFORMED, f"{SIGNATURE_HEADER} must be 'sha256=<64 hex digits>'"
        )
    if not _TIMESTAMP.fullmatch(timestamp_header):
        raise SignatureError(
            SignatureProblem.BAD_TIMESTAMP, f"{TIMESTAMP_HEADER} must be unix seconds"
        )
    timestamp = int(timestamp_header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            SignatureProblem.EXPIRED,
            f"{TIMESTAMP_HEADER} is more than {tolerance_s} s from the server's clock",
        )
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature_header):
        raise SignatureError(SignatureProblem.MISMATCH, "signature does not match the body")
