"""Static files under content-hashed URLs, cached by browsers for a year.

``url_for("static", filename=...)`` (and Flask-Admin's own ``admin.static``) gets
``?v=<first 12 hex of the file's SHA-256>``. A request carrying the file's current hash
is answered ``Cache-Control: public, max-age=31536000, immutable``, so pages stop
revalidating every stylesheet and script; a changed file has a new hash and so a new
URL. A request without the hash (or with an old one) keeps Flask's revalidating answer.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SessionInterface
from werkzeug.security import safe_join

#: Endpoints that serve files from a static folder: the app's and Flask-Admin's.
STATIC_ENDPOINTS = ("static", "admin.static")
#: The query argument that carries the hash.
VERSION_ARG = "v"
#: A year, the longest lifetime caches honour.
ONE_YEAR_S = 31_536_000
_HASH_CHARS = 12


class StaticVersions:
    """Each static file's content hash, recomputed only when the file changes."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._known: dict[tuple[str, int, int], str] = {}

    def _folder(self, endpoint: str) -> str | None:
        if endpoint == "static":
            return self._app.static_folder
        blueprint = self._app.blueprints.get(endpoint.rsplit(".", 1)[0])
        return blueprint.static_folder if blueprint else None

    def version(self, endpoint: str, filename: str) -> str | None:
        """The hash for ``filename`` under ``endpoint``'s folder, None if no such file."""
        folder = self._folder(endpoint)
        path = safe_join(folder, filename) if folder else None
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._known:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            self._known[key] = digest[:_HASH_CHARS]
        return self._known[key]


def _no_cookie_on_static(interface: SessionInterface) -> SessionInterface:
    """The same session interface, setting no cookie on a static file's answer.

    The console refreshes its session cookie on every request; a ``public`` answer that
    carried one could hand a signed-in session to whoever a shared cache serves next.
    """

    class StaticWithoutCookie(type(interface)):  # type: ignore[misc]
        def should_set_cookie(self, app: Flask, session: Any) -> bool:
            if request.endpoint in STATIC_ENDPOINTS:
                return False
            return bool(super().should_set_cookie(app, session))

    wrapped: SessionInterface = StaticWithoutCookie.__new__(StaticWithoutCookie)
    wrapped.__dict__.update(interface.__dict__)
    return wrapped


def init_app(app: Flask) -> None:
    """Hash static URLs as they are built; answer hashed requests with a year's cache.

    Call after every extension that sets the session interface.
    """
    versions = StaticVersions(app)
    app.session_interface = _no_cookie_on_static(app.session_interface)

    @app.url_defaults
    def _hashed_static_url(endpoint: str, values: dict[str, object]) -> None:
        filename = values.get("filename")
        if endpoint in STATIC_ENDPOINTS and isinstance(filename, str):
            version = versions.version(endpoint, filename)
            if version is not None:
                # Replaces Flask-Admin's library version numbers too: the content decides.
                values[VERSION_ARG] = version

    @app.after_request
    def _cache_hashed_static(response: Response) -> Response:
        if request.endpoint not in STATIC_ENDPOINTS or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename")
        asked = request.args.get(VERSION_ARG)
        if (asked and isinstance(filename, str)
                and asked == versions.version(request.endpoint, filename)):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR_S
            response.cache_control.immutable = True
        return response
