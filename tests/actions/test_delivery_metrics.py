"""Delivery lag and failures at ``/metrics``, per platform, as the platforms answered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.support.enforcement import act, drain, states, time_passes
from tests.support.metrics_scrape import moved, scrape
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Platform, utcnow


def _delivery(app: Flask, slug: str) -> EnforcementDelivery:
    with app.app_context():
        found = db.session.scalars(select(EnforcementDelivery).join(Platform)
                                   .where(Platform.slug == slug)).one()
        db.session.expunge(found)
        return found


def test_lag_is_counted_once_per_delivery_and_each_failed_attempt_as_a_failure(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    before = scrape(app)
    servers["web"].fail_next = 2
    act(app, person, ActionType.BAN)
    drain(app)
    first = scrape(app)
    for slug in ("calls", "meet"):
        assert moved(before, first, "workbench_delivery_lag_seconds_count", platform=slug) == 1
    assert moved(before, first, "workbench_delivery_lag_seconds_count", platform="web") == 0
    assert moved(before, first, "workbench_delivery_failures_total", platform="web",
                 error="5xx", outcome="retry") == 1
    for _ in range(2):
        time_passes(app)
        drain(app)
    assert states(app) == {"delivered": 3}
    after = scrape(app)
    assert moved(before, after, "workbench_delivery_failures_total", platform="web",
                 error="5xx", outcome="retry") == 2
    assert moved(before, after, "workbench_delivery_failures_total") == 2
    assert moved(before, after, "workbench_delivery_lag_seconds_count", platform="web") == 1
    # The lag is the delivery's own: from its creation to the acknowledgement recorded.
    web = _delivery(app, "web")
    assert web.delivered_at is not None
    assert moved(before, after, "workbench_delivery_lag_seconds_sum", platform="web") == \
        pytest.approx((web.delivered_at - web.created_at).total_seconds(), abs=1e-3)


def test_a_delivery_past_its_retry_window_is_counted_dead(
    app: Flask, servers: dict[str, PlatformServer], person: int
) -> None:
    before = scrape(app)
    servers["meet"].stop()
    act(app, person, ActionType.BAN)
    drain(app)
    with app.app_context():
        meet = db.session.scalars(select(EnforcementDelivery.id).join(Platform)
                                  .where(Platform.slug == "meet")).one()
        db.session.execute(update(EnforcementDelivery).where(EnforcementDelivery.id == meet)
                           .values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    time_passes(app)
    drain(app)
    assert states(app) == {"delivered": 2, "dead": 1}
    after = scrape(app)
    assert moved(before, after, "workbench_delivery_failures_total", platform="meet",
                 error="refused", outcome="retry") == 1
    assert moved(before, after, "workbench_delivery_failures_total", platform="meet",
                 outcome="dead") == 1
    assert moved(before, after, "workbench_delivery_lag_seconds_count", platform="meet") == 0
