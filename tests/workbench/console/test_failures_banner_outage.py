"""The failing-deliveries banner never turns the console's 503 page into a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_login import login_user
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from workbench.console.auth import ConsoleUser
from workbench.console.failures import _failures
from workbench.extensions import db
from workbench.models import Moderator
from workbench.staff import create_moderator


def test_the_banner_gives_way_when_the_database_connection_is_gone(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("ending this session's own connection needs PostgreSQL")
        create_moderator(db.session, "mod@example.org", "a-long-password-123", "moderator")
        db.session.commit()
    with app.test_request_context("/admin/queue/"):
        moderator = db.session.scalars(select(Moderator)).one()
        login_user(ConsoleUser.of(moderator))
        # A real outage of this request's connection: the server ends it.
        with pytest.raises(DBAPIError):
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert _failures() == {}
