"""Fixtures shared by every test: a real database, a real Redis, the app.

The database is PostgreSQL when ``TEST_DATABASE_URL`` is set (CI), else SQLite in a
temporary folder; Redis is the server at ``TEST_REDIS_URL``, else the embedded one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from queues.connection import EmbeddedRedis
from queues.enforce import close_sender
from tests.support.app import TEST_SECRET_KEY, reset_tables
from tests.support.platform_api import PLATFORM_SLUGS, PlatformApi
from tests.support.workers import worker_database, worker_redis, xdist_worker
from workbench import database
from workbench.app import create_app
from workbench.extensions import db
from workbench.settings import normalise_database_url

# The platforms in tests are HTTP servers on 127.0.0.1: allow such webhook URLs here and
# in every process a test starts (workers, the CLI, the console server). Tests of the
# production rule pass a strict policy or settings of their own.
os.environ.setdefault("WORKBENCH_ALLOW_PRIVATE_WEBHOOKS", "true")
os.environ.setdefault("WORKBENCH_ALLOW_HTTP_WEBHOOKS", "true")


#: The test files that take longest (``--durations``), longest first: they run first, so
#: that with several processes (pytest-xdist, ``--no-loadscope-reorder`` in the Makefile)
#: the others share out the rest meanwhile, instead of the whole run waiting for one of
#: them at the end. The rest keep their order.
LONG_FIRST = (
    "tests/soak/test_soak.py",
    "tests/workbench/test_cli.py",
    "tests/workbench/test_cli_images.py",
    "tests/classifiers/test_text_retrain.py",
    "tests/e2e/test_accessibility.py",
    "tests/queues/test_abandoned_jobs.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONG_FIRST.index(path) if path in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole run (for this worker's share of it)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = worker_database(normalise_database_url(url), xdist_worker())
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    database.upgrade(url)
    yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield worker_redis(url, xdist_worker())
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    embedded.start()
    yield embedded.url
    embedded.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """A local S3-compatible server (moto, in its own process), started on first use."""
    from tests.support.storage_server import S3Server

    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def storage_overrides() -> dict[str, Any]:
    """Blob storage settings for ``app``: the instance's directory. A test module overrides
    this fixture with ``tests.support.storage_server.blob_backend`` to run on S3 as well."""
    return {}


@pytest.fixture(scope="session")
def compiled_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of compiled templates for every test's app.

    Each app keeps compiled templates in its instance folder; a test's instance is new,
    so without a shared folder every test would parse again each template it renders.
    """
    return tmp_path_factory.mktemp("compiled-templates")


@pytest.fixture
def app(database_url: str, redis_url: str, tmp_path: Path, compiled_templates: Path,
        storage_overrides: dict[str, Any]) -> Iterator[Flask]:
    reset_tables(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "compiled-templates").symlink_to(compiled_templates, target_is_directory=True)
    app = create_app(
        {
            "instance_dir": instance,
            "database_url": database_url,
            "redis_url": redis_url,
            "secret_key": TEST_SECRET_KEY,
            # OWASP's first profile (the default), set here as every fixture user costs a
            # hash: the tests of its renewal expect this cost.
            "password_hash_time_cost": 2,
            "password_hash_memory_kib": 19 * 1024,
            "password_hash_parallelism": 1,
            # The review model's second opinion (torch) is tested where it is the subject
            # (tests/workbench/test_review.py); elsewhere cases keep the first scores.
            "review_text_model": "",
            **storage_overrides,
        }
    )
    app.config["TESTING"] = True
    yield app
    # Jobs run in this process keep a sender between them, as a worker does: its open
    # requests name this test's deliveries by id, and its connections this test's
    # platforms' ports; the next test's tables start again from id 1.
    close_sender()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's SQLAlchemy session, inside an app context."""
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def platforms(app: Flask) -> dict[str, PlatformApi]:
    """Three registered platforms, each with a signed API client."""
    from workbench.platforms import register_platform

    client = app.test_client()
    out = {}
    with app.app_context():
        for slug in PLATFORM_SLUGS:
            secret = f"secret-{slug}-0123456789"
            register_platform(db.session, TEST_SECRET_KEY, slug, secret=secret,
                              webhook_url=f"http://127.0.0.1:9/{slug}")
            out[slug] = PlatformApi(client, slug, secret)
        db.session.commit()
    return out
