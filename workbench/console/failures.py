"""Failures in plain sight: every console page says when a platform's deliveries fail."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from workbench.console.access import Permission, allowed
from workbench.extensions import db
from workbench.reporting.operations import failing_platforms


def _failures() -> dict[str, Any]:
    """The failing platforms for the banner (console pages of signed-in staff only)."""
    try:
        if not request.path.startswith("/admin") or not current_user.is_authenticated:
            return {}
        failing = failing_platforms(db.session)
    except SQLAlchemyError:
        # The database went away mid-request: the page being drawn is the 503 that says
        # so, and it must not fail in turn for want of the banner.
        db.session.rollback()
        return {}
    return {"failing_platforms": failing, "can_retry_deliveries": allowed(Permission.DELIVERIES)}


def init_app(app: Flask) -> None:
    app.context_processor(_failures)
