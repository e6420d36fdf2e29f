"""Platform servers and a person with an account on each, for enforcement tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.enforcement import ActionRequest, apply_action
from queues.enforce import deliver_due, enqueue_deliveries
from tests.conftest import TEST_SECRET_KEY, run_jobs
from tests.platform_server import PlatformServer
from workbench.api.schemas import AccountIn
from workbench.api.store import upsert_accounts
from workbench.enums import ActionType, DeliveryState
from workbench.extensions import db
from workbench.models import Account, EnforcementDelivery, Platform, utcnow
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


def _moderator(email: str) -> int:
    from workbench.models import Moderator

    return db.session.scalars(select(Moderator.id).where(Moderator.email == email)).one()


def act(app: Flask, person_id: int, kind: ActionType, **kw: object) -> int:
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=kind, person_id=person_id, policy_reason="harassment",
            decided_by_id=_moderator("senior@example.org"), **kw))  # type: ignore[arg-type]
        ids = [d.id for d in action.deliveries]
        db.session.commit()
        enqueue_deliveries(ids)
        return action.id


def time_passes(app: Flask) -> None:
    """Make every pending delivery due now (as if its backoff had elapsed)."""
    with app.app_context():
        db.session.execute(update(EnforcementDelivery)
                           .where(EnforcementDelivery.state == DeliveryState.PENDING.value)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()


def drain(app: Flask) -> None:
    run_jobs(app)
    with app.app_context():
        deliver_due()


def states(app: Flask) -> dict[str, int]:
    with app.app_context():
        out: dict[str, int] = {}
        for (state,) in db.session.execute(select(EnforcementDelivery.state)).all():
            out[state] = out.get(state, 0) + 1
        return out


