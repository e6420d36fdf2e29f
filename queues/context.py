"""The app context jobs run in.

A job receives ids, never ORM objects; it pushes the app context, loads what it
needs and calls one domain function. The worker hands its own app over before
forking, so a job does not build a new app (and reload models) each time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, has_app_context

P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None


def use_app(app: Flask) -> None:
    """Make ``app`` the one jobs in this process run in."""
    global _app
    _app = app


def job_app() -> Flask:
    """The app jobs run in: the one the worker handed over with ``use_app``.

    Jobs import nothing of the shell, so they cannot build an app themselves; a worker
    is started by ``workbench worker`` (or the demo), which builds it.
    """
    if _app is None:
        raise RuntimeError("no app for jobs in this process: start workers with "
                           "`workbench worker`, or call queues.context.use_app(app) first")
    return _app


def in_app_context(func: Callable[P, R]) -> Callable[P, R]:
    """Run a job function inside the app context, with a session closed afterwards."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return func(*args, **kwargs)
        with job_app().app_context():
            return func(*args, **kwargs)

    return wrapper
