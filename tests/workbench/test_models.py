"""Constraints the schema itself guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.support.app import TEST_SECRET_KEY
from workbench.enums import CaseStatus
from workbench.models import Account, Case, LegalHold, Person, Report
from workbench.platforms import register_platform

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _account(session: Session, platform_id: int, user_id: str) -> Account:
    person = Person()
    session.add(person)
    session.flush()
    account = Account(platform_id=platform_id, platform_user_id=user_id, person_id=person.id)
    session.add(account)
    session.flush()
    return account


@pytest.fixture
def platform_id(session: Session) -> int:
    register_platform(session, TEST_SECRET_KEY, "calls")
    session.commit()
    from workbench.models import Platform

    return session.query(Platform).filter_by(slug="calls").one().id


def _report(platform_id: int, report_id: str, reported: Account) -> Report:
    return Report(
        platform_id=platform_id,
        platform_report_id=report_id,
        reported_account_id=reported.id,
        category="harassment",
        created_at=NOW,
    )


def test_second_report_with_same_platform_report_id_is_refused(
    session: Session, platform_id: int
) -> None:
    reported = _account(session, platform_id, "u1")
    session.add(_report(platform_id, "r-1", reported))
    session.commit()
    session.add(_report(platform_id, "r-1", reported))
    with pytest.raises(IntegrityError):
        session.commit()


def test_same_report_id_on_another_platform_is_a_different_report(
    session: Session, platform_id: int
) -> None:
    register_platform(session, TEST_SECRET_KEY, "web")
    session.commit()
    from workbench.models import Platform

    web = session.query(Platform).filter_by(slug="web").one()
    a = _account(session, platform_id, "u1")
    b = _account(session, web.id, "u1")
    session.add_all([_report(platform_id, "r-1", a), _report(web.id, "r-1", b)])
    session.commit()
    assert session.query(Report).count() == 2


def test_account_user_id_is_unique_per_platform(session: Session, platform_id: int) -> None:
    _account(session, platform_id, "u1")
    session.commit()
    with pytest.raises(IntegrityError):
        _account(session, platform_id, "u1")
        session.commit()


def test_report_must_point_at_an_existing_account(session: Session, platform_id: int) -> None:
    session.add(
        Report(platform_id=platform_id, platform_report_id="r-x", reported_account_id=999_999,
               category="hate", created_at=NOW)
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_a_person_has_at_most_one_open_case(session: Session, platform_id: int) -> None:
    a = _account(session, platform_id, "u1")
    due = NOW + timedelta(days=1)
    session.add(Case(person_id=a.person_id, due_at=due, primary_category="hate"))
    session.commit()
    session.add(Case(person_id=a.person_id, due_at=due, primary_category="spam_scam"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    # A decided case does not count: a new open one may follow it.
    first = session.query(Case).one()
    first.status = CaseStatus.DISMISSED.value
    session.add(Case(person_id=a.person_id, due_at=due, primary_category="spam_scam"))
    session.commit()
    assert session.query(Case).count() == 2


def test_legal_hold_names_exactly_one_subject(session: Session, platform_id: int) -> None:
    a = _account(session, platform_id, "u1")
    session.add(LegalHold(person_id=a.person_id, account_id=a.id, reason="x", reference="y"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_timestamps_come_back_in_utc(session: Session, platform_id: int) -> None:
    reported = _account(session, platform_id, "u1")
    ist = datetime(2026, 11, 1, 10, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Kolkata")
    )
    session.add(Report(platform_id=platform_id, platform_report_id="r-t",
                       reported_account_id=reported.id, category="hate", created_at=ist))
    session.commit()
    session.expire_all()
    stored = session.query(Report).one().created_at
    assert stored == ist and stored.utcoffset() == timedelta(0)
