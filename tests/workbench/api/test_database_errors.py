"""What a caller gets when the database fails under a request (found by the soak).

- The database ends a connection after the answer was decided (an outage beginning):
  the answer stands, where closing the request's session used to raise past every error
  handler and turn it into a 500 (HTML, at that).
- The database rolls a request's transaction back to break a deadlock: a 503 that says
  so (``transaction_conflict``, retry at once), not "the database is unavailable".
"""

from __future__ import annotations

import psycopg
from flask import Flask, jsonify
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.support.present import present
from workbench.extensions import db


def test_a_connection_lost_before_the_request_ends_leaves_the_answer_alone(app: Flask) -> None:
    @app.get("/api/v1/test-connection-lost")
    def connection_lost():
        db.session.execute(text("SELECT 1"))  # the request's transaction is open...
        # ... and its connection goes (as when the database ends it) before the request
        # ends, so closing the session at the end fails.
        present(db.session.connection().connection.dbapi_connection).close()
        return jsonify(answered=True)

    r = app.test_client().get("/api/v1/test-connection-lost")
    assert (r.status_code, r.json) == (200, {"answered": True})
    with app.app_context():  # and the next request gets a working connection
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_a_transaction_rolled_back_on_a_deadlock_is_answered_retry_now(app: Flask) -> None:
    @app.get("/api/v1/test-deadlock")
    def deadlock():
        raise OperationalError("UPDATE case ...", {}, psycopg.errors.DeadlockDetected(
            "deadlock detected"))

    r = app.test_client().get("/api/v1/test-deadlock")
    assert r.status_code == 503
    assert r.json is not None
    assert r.json["error"]["code"] == "transaction_conflict"
    assert r.headers["Retry-After"] == "1"
