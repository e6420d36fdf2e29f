"""The app without its web parts: settings, the database and Redis.

What the command line's commands need (``workbench.cli``): importing this module costs
none of the console, the API or the jobs they enqueue, so a command such as
``platforms add`` starts in about half the time of the whole app. ``workbench.app``
builds the whole app on top of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import MethodType
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Rule

from workbench import database
from workbench.extensions import db
from workbench.settings import SETTINGS_KEY, load_settings


class LazyBuilderRule(Rule):
    """A URL rule that compiles its URL builders on first use, not when it is added.

    werkzeug compiles each rule's matcher and two builders (generated Python, one for
    ``url_for`` with unknown arguments, one without) as the rule is added: for the
    console's rules the builders are most of what ``create_app`` costs, and a test or a
    worker builds a handful of URLs. Matching is compiled as before.

    This relies on werkzeug 3.1's ``Rule.compile()``, which takes each builder from
    ``_compile_builder(append_unknown)`` and binds it as ``_build`` or ``_build_unknown``
    (the version is pinned in setup.cfg; ``tests/workbench/test_url_rules.py`` checks it).
    """

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_on_first_use(rule: Rule, /, **values: Any) -> tuple[str, str]:
            builder = MethodType(Rule._compile_builder(rule, append_unknown), rule)
            # Threads that race here each compile an equal builder, so any one kept is
            # right; a rule compiled again meanwhile (refresh) keeps its own stand-in.
            current = getattr(rule, attribute)
            if getattr(current, "__func__", None) is build_on_first_use:
                setattr(rule, attribute, builder)
            result: tuple[str, str] = builder(**values)
            return result

        return build_on_first_use


class WorkbenchFlask(Flask):
    """Flask whose URL rules compile their builders on first use (``LazyBuilderRule``)."""

    url_rule_class = LazyBuilderRule


def create_base_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The app's settings, database and Redis, from defaults, ``WORKBENCH_*`` and ``overrides``.

    No routes: ``workbench.app.create_app`` adds the web, the API and the console.
    """
    settings = load_settings(overrides)
    app = WorkbenchFlask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder="../templates",
        static_folder="../static",
    )
    app.extensions[SETTINGS_KEY] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_audio_bytes + 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if settings.proxy_hops:
        # Client addresses (the sign-in rate limit, the audit log) from the balancer's
        # headers, trusting exactly the configured number of hops.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)
    logging.getLogger(__name__).debug("workbench base app created for %s",
                                      settings.database_url)
    return app


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Web and worker processes share the file; wait for a lock rather than fail.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
