"""Wellness: media preferences, today's count of distressing cases, and the hand-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from workbench.cases.wellness import (
    Preferences,
    distressing_decided_today,
    excluded_categories,
    hand_off,
    preferences,
    resume,
    update_preferences,
)
from workbench.extensions import db
from workbench.models import AuditEvent, Case, Moderator, Person
from workbench.rules.wellness import DEFAULT_DISTRESSING, WellnessError, WellnessPolicy
from workbench.settings import SettingsError, load_settings
from workbench.staff import create_moderator

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def moderator(app: Flask) -> int:
    with app.app_context():
        mod = create_moderator(db.session, "mod@example.org", "lantern-kiwi-9", "moderator")
        mod.settings = {"queue": "hindi"}  # what other features keep there stays put
        db.session.commit()
        return mod.id


def _case(category: str, *, decided_by: int | None = None, decided_at: datetime | None = None,
          assignee: int | None = None, status: str = "open",
          categories: dict[str, int] | None = None) -> int:
    person = Person()
    db.session.add(person)
    db.session.flush()
    case = Case(person_id=person.id, due_at=NOW, primary_category=category,
                categories=categories or {category: 1}, status=status, assignee_id=assignee,
                decided_by_id=decided_by, decided_at=decided_at,
                claimed_at=NOW if assignee else None)
    db.session.add(case)
    db.session.flush()
    return case.id


def test_every_protection_is_on_until_the_moderator_turns_it_off(
    app: Flask, moderator: int
) -> None:
    with app.app_context():
        assert preferences(db.session, moderator) == Preferences(True, True, True)
        updated = update_preferences(db.session, moderator, {"greyscale": False})
        db.session.commit()
        assert updated == Preferences(blur_media=True, greyscale=False, mute_audio=True)
        assert preferences(db.session, moderator) == updated
        kept = db.session.get_one(Moderator, moderator).settings
        assert kept is not None and kept["queue"] == "hindi"
        for changes, field in (({"sepia": True}, "sepia"), ({"blur_media": "no"}, "blur_media")):
            with pytest.raises(WellnessError) as err:
                update_preferences(db.session, moderator, changes)
            assert err.value.field == field
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "moderator.wellness_changed")).one()
        assert event.data == {"greyscale": False}


def test_the_count_is_of_distressing_cases_decided_today(app: Flask, moderator: int) -> None:
    with app.app_context():
        other = create_moderator(db.session, "other@example.org", "lantern-kiwi-9",
                                 "moderator").id
        _case("child_safety", decided_by=moderator, decided_at=NOW - timedelta(hours=2))
        _case("harassment", decided_by=moderator, decided_at=NOW - timedelta(hours=1),
              categories={"harassment": 2, "sexual_content": 1})
        _case("spam_scam", decided_by=moderator, decided_at=NOW - timedelta(hours=1))
        _case("self_harm", decided_by=moderator,  # 23:30 the evening before
              decided_at=NOW - timedelta(hours=15, minutes=30))
        _case("ncii", decided_by=other, decided_at=NOW - timedelta(hours=1))
        db.session.commit()
        assert distressing_decided_today(db.session, moderator, now=NOW) == 2
        # A day that starts at 23:00 UTC holds the self-harm case decided at 23:30.
        late = WellnessPolicy(day_start=timedelta(hours=23))
        assert distressing_decided_today(db.session, moderator, late, now=NOW) == 3
        # At 01:00 with a 06:00 start it is still yesterday: only the 23:30 case counts.
        early = WellnessPolicy(day_start=timedelta(hours=6))
        assert distressing_decided_today(db.session, moderator, early,
                                         now=NOW - timedelta(hours=14)) == 1
        only_self_harm = WellnessPolicy(frozenset({"self_harm"}), timedelta(hours=23))
        assert distressing_decided_today(db.session, moderator, only_self_harm, now=NOW) == 1


def test_handing_off_returns_claimed_distressing_cases_and_skips_them_until_the_day_ends(
    app: Flask, moderator: int
) -> None:
    with app.app_context():
        threat = _case("violent_threat", assignee=moderator, status="claimed")
        spam = _case("spam_scam", assignee=moderator, status="claimed")
        mixed = _case("harassment", assignee=moderator, status="claimed",
                      categories={"harassment": 1, "ncii": 1})
        db.session.commit()
        assert excluded_categories(db.session, moderator, now=NOW) == set()
        result = hand_off(db.session, moderator, now=NOW)
        db.session.commit()
        assert sorted(result.released_case_ids) == sorted([threat, mixed])
        assert result.until == datetime(2026, 3, 11, tzinfo=UTC)
        for case_id in (threat, mixed):
            case = db.session.get_one(Case, case_id)
            assert (case.status, case.assignee_id, case.claimed_at) == ("open", None, None)
        assert db.session.get_one(Case, spam).assignee_id == moderator
        assert excluded_categories(db.session, moderator, now=NOW) == set(DEFAULT_DISTRESSING)
        assert excluded_categories(db.session, moderator,
                                   now=datetime(2026, 3, 11, 0, 0, 1, tzinfo=UTC)) == set()
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "moderator.handed_off")).one()
        assert event.data is not None
        assert sorted(event.data["released_case_ids"]) == sorted([threat, mixed])
        resume(db.session, moderator)
        db.session.commit()
        assert excluded_categories(db.session, moderator, now=NOW) == set()


def test_a_hand_off_can_be_narrowed_to_some_distressing_categories(
    app: Flask, moderator: int
) -> None:
    with app.app_context():
        threat = _case("violent_threat", assignee=moderator, status="claimed")
        child = _case("child_safety", assignee=moderator, status="claimed")
        db.session.commit()
        result = hand_off(db.session, moderator, categories=["child_safety"], now=NOW)
        db.session.commit()
        assert result.released_case_ids == [child]
        assert db.session.get_one(Case, threat).assignee_id == moderator
        assert excluded_categories(db.session, moderator, now=NOW) == {"child_safety"}
        with pytest.raises(WellnessError) as err:
            hand_off(db.session, moderator, categories=["spam_scam"], now=NOW)
        assert err.value.field == "categories"


def test_distressing_categories_and_the_day_start_come_from_settings(tmp_path: Path) -> None:
    environ = {"WORKBENCH_INSTANCE_DIR": str(tmp_path),
               "WORKBENCH_DISTRESSING_CATEGORIES": '["self_harm", "hate"]',
               "WORKBENCH_WELLNESS_DAY_START": "05:30"}
    policy = WellnessPolicy.from_settings(load_settings(environ=environ))
    assert policy.categories == {"self_harm", "hate"}
    assert policy.day(NOW.replace(hour=5))[0] == datetime(2026, 3, 9, 5, 30, tzinfo=UTC)
    for name, value in (("WORKBENCH_DISTRESSING_CATEGORIES", '["gore"]'),
                        ("WORKBENCH_WELLNESS_DAY_START", "7am")):
        with pytest.raises(SettingsError) as err:
            load_settings(environ={**environ, name: value})
        assert str(err.value).startswith(name)
