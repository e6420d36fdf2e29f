"""The Flask application factory: the base app (``workbench.app_base``) and its web parts."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from workbench import api, console, static_files, web
from workbench.api import metrics
from workbench.app_base import create_base_app
from workbench.settings import SETTINGS_KEY


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the workbench app from defaults, ``WORKBENCH_*`` variables and ``overrides``."""
    app = create_base_app(overrides)
    settings = app.extensions[SETTINGS_KEY]
    web.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    console.init_app(app, settings)
    static_files.init_app(app)
    logging.getLogger(__name__).debug("workbench app created for %s", settings.database_url)
    return app
