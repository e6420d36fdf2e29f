"""The console's defences: headers and CSP, CSRF on every form, session cookies, sign-in limits.

Everything a platform sent is hostile; the Content-Security-Policy allows no inline
script at all, so even text that slipped past escaping could not run.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from workbench.settings import Settings

#: No inline script anywhere, no framing, nothing loaded from elsewhere.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

csrf = CSRFProtect()
talisman = Talisman()
# Counters live in Redis so every web process shares them (memory:// only without Redis).
# While Redis is unreachable each process counts in its own memory rather than letting
# every attempt through; flask-limiter logs the switch ("falling back to in-memory
# storage") and its recovery on the "flask-limiter" logger.
limiter = Limiter(key_func=get_remote_address, default_limits=[], swallow_errors=True,
                  headers_enabled=True, in_memory_fallback_enabled=True)


def _limiter_storage(redis_url: str) -> str:
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        # Each request re-signs the cookie: the session ends after the idle time, not before.
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_NAME="workbench_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        RATELIMIT_STORAGE_URI=_limiter_storage(settings.redis_url),
        RATELIMIT_KEY_PREFIX="workbench-limits",
    )
    csrf.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the load balancer; see docs/deploy.md
        strict_transport_security=settings.secure_cookies,
        frame_options="DENY",
        referrer_policy="same-origin",
        content_security_policy=CONTENT_SECURITY_POLICY,
        session_cookie_secure=settings.secure_cookies,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )
