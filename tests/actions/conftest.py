"""Platform servers and a person with an account on each, for enforcement tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.app import TEST_SECRET_KEY
from tests.support.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.extensions import db
from workbench.models import Account, Platform
from workbench.platforms import register_platform
from workbench.staff import create_moderator


@pytest.fixture
def servers(app: Flask) -> Iterator[dict[str, PlatformServer]]:
    out = {}
    with app.app_context():
        for slug in ("calls", "web", "meet"):
            server = PlatformServer(slug, f"secret-{slug}-0123456789")
            server.start()
            register_platform(db.session, TEST_SECRET_KEY, slug, secret=server.secret,
                              webhook_url=server.url)
            out[slug] = server
        db.session.commit()
    yield out
    for server in out.values():
        server.stop()


@pytest.fixture
def person(app: Flask, servers: dict[str, PlatformServer]) -> int:
    """One person with an account on each platform, linked by a shared phone."""
    with app.app_context():
        for slug in servers:
            platform_id = db.session.scalars(select(Platform.id).where(Platform.slug == slug)).one()
            upsert_accounts(db.session, platform_id, [AccountIn(
                id=f"{slug}-user", username=f"{slug} user", phone_hash="f" * 64)])
        create_moderator(db.session, "mod@example.org", "lantern-kiwi-9", "moderator")
        create_moderator(db.session, "senior@example.org", "lantern-kiwi-9", "senior")
        db.session.commit()
        person_ids = set(db.session.scalars(select(Account.person_id)))
        assert len(person_ids) == 1
        return person_ids.pop()
