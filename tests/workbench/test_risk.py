"""Fraud features read from what the platforms sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.support.platform_api import PlatformApi
from workbench.cases.risk import account_features
from workbench.extensions import db
from workbench.models import Account, FraudSignal, Person, Platform, utcnow


def test_coins_spent_come_from_recent_gift_signals_and_odd_values_count_nothing(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    with app.app_context():
        now = utcnow()
        platform_id = db.session.scalars(select(Platform.id).where(Platform.slug == "calls")).one()
        person = Person(created_at=now)
        db.session.add(person)
        db.session.flush()
        account = Account(platform_id=platform_id, platform_user_id="u1", person_id=person.id,
                          created_at=now - timedelta(days=400), updated_at=now)
        db.session.add(account)
        db.session.flush()
        sent: list[tuple[str, Any, timedelta]] = [
            ("gift_velocity", 500, timedelta(hours=2)),
            ("gift_velocity", 250.5, timedelta(hours=20)),
            ("gift_velocity", 9000, timedelta(days=2)),  # older than a day
            ("gift_velocity", "lots", timedelta(hours=1)),
            ("gift_velocity", True, timedelta(hours=1)),
            ("gift_velocity", -40, timedelta(hours=1)),
            ("gift_velocity", 10**15, timedelta(hours=1)),
            ("chargeback", 3000, timedelta(hours=1)),  # bought coins, not spent
        ]
        for n, (kind, coins, age) in enumerate(sent):
            db.session.add(FraudSignal(platform_id=platform_id, platform_signal_id=f"s{n}",
                                       account_id=account.id, kind=kind, score=0.5,
                                       details={"count": 3, "coins": coins},
                                       created_at=now - age, received_at=now - age))
        db.session.flush()
        features = account_features(db.session, [account.id])[account.id]
        assert features.coins_spent_24h == 750.5
        assert features.gifts_sent_24h == 3 * 6 and features.chargebacks_90d == 3
