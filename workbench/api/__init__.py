"""The signed platform API, under ``/api/v1``."""

from __future__ import annotations

from flask import Flask

from workbench.api import (
    errors,
    images,  # noqa: F401  (adds POST /images to the blueprint)
)
from workbench.api.openapi import bp as openapi_bp
from workbench.api.parsing import check_uri
from workbench.api.routes import bp


def init_app(app: Flask) -> None:
    errors.init_app(app)
    # Before routing's own errors are raised, so an over-long path is a JSON 414 too.
    app.before_request(check_uri)
    app.register_blueprint(bp)
    app.register_blueprint(openapi_bp)
