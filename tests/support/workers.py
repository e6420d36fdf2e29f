"""Where each pytest-xdist worker keeps its state on the shared test servers.

``make test`` runs the suite in several processes (pytest-xdist). Each test empties the
database and Redis it uses, so two processes must never share either: worker ``gwN``
uses the database ``<name>_gwN`` beside the one ``TEST_DATABASE_URL`` names (created on
first use; ``gw0`` uses that one itself) and the Redis database N below the one
``TEST_REDIS_URL`` names (CI's ``/15`` gives 15, 14, ...). Without xdist nothing changes.
SQLite files and the embedded Redis are per process already (each worker has its own
temporary folder).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from sqlalchemy.engine import make_url


def xdist_worker() -> int:
    """This process's worker number under pytest-xdist (``gw3`` -> 3), else 0."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw"))


def worker_database(url: str, worker: int) -> str:
    """The database ``url`` names for worker 0; ``<name>_gw<N>`` beside it for worker N,
    created if missing (PostgreSQL; a SQLite URL is returned as it is)."""
    parsed = make_url(url)
    if worker == 0 or not parsed.drivername.startswith("postgresql"):
        return url
    name = f"{parsed.database}_gw{worker}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def worker_redis(url: str, worker: int) -> str:
    """The Redis database ``url`` names for worker 0; N below it for worker N."""
    parsed = urlsplit(url)
    base = int(parsed.path.strip("/") or 0)
    number = base - worker
    if number < 0:
        raise RuntimeError(
            f"TEST_REDIS_URL names Redis database {base}: too low for pytest-xdist worker "
            f"{worker}, which would use {number}; name a higher one (CI uses /15)")
    return urlunsplit(parsed._replace(path=f"/{number}"))
