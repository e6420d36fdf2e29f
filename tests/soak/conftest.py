"""Where the short soak runs: a PostgreSQL database of its own on the test server."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy.engine import make_url

#: The soak's own database is the suite's database name with this suffix (``test_soak``
#: beside ``test``): never the one the rest of the suite uses, and two runs of the suite
#: against different databases on one server do not share it.
SOAK_SUFFIX = "_soak"


@pytest.fixture(scope="session")
def soak_database_url() -> str:
    """``<database>_soak`` on the server ``TEST_DATABASE_URL`` names (else ``test_soak`` on
    the local one).

    The soak needs PostgreSQL itself (it ends the database's connections as a fault), so
    without a reachable server it is skipped rather than run on SQLite.
    """
    base = make_url(os.environ.get("TEST_DATABASE_URL",
                                   "postgresql://postgres@127.0.0.1:5432/test"))
    url = base.set(drivername="postgresql", database=f"{base.database}{SOAK_SUFFIX}")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"the soak needs a PostgreSQL server: {exc}")
    return url.render_as_string(hide_password=False)
