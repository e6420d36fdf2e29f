"""Console fixtures: the small world, and test clients signed in as each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.console_forms import sign_in
from tests.support.console_world import STAFF, World, build_world, stop


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    built = build_world(app)
    yield built
    stop(built)


@pytest.fixture
def signed_in(app: Flask, world: World) -> Callable[[str], FlaskClient]:
    """A test client signed in as one of the staff (``moderator``, ``senior`` ...)."""

    def make(who: str) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, STAFF[who])
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make
