"""Accounts are linked to one person by shared phone hash or device id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from actions.identity import link_account, root_person_id
from tests.support.app import TEST_SECRET_KEY
from workbench.enums import CaseStatus
from workbench.models import Account, AccountDevice, Case, Person, Platform, Report
from workbench.platforms import register_platform


def _platforms(session: Session) -> list[int]:
    for slug in ("calls", "web", "meet"):
        register_platform(session, TEST_SECRET_KEY, slug)
    session.flush()
    return [p.id for p in session.query(Platform).order_by(Platform.id)]


def _new(session: Session, platform_id: int, uid: str, phone: str | None = None,
         devices: tuple[str, ...] = ()) -> Account:
    account = Account(platform_id=platform_id, platform_user_id=uid, phone_hash=phone)
    account.devices = [AccountDevice(device_id=d) for d in devices]
    session.add(account)
    # person_id is set by linking; flush only after it
    result = link_account(session, account)
    session.flush()
    assert account.person_id == result.person_id
    return account


def test_unlinked_accounts_get_their_own_people(session: Session) -> None:
    calls, web, _ = _platforms(session)
    a = _new(session, calls, "a", phone="p1", devices=("d1",))
    b = _new(session, web, "b", phone="p2", devices=("d2",))
    assert a.person_id != b.person_id


def test_shared_phone_links_accounts_across_platforms(session: Session) -> None:
    calls, web, _ = _platforms(session)
    a = _new(session, calls, "a", phone="p1")
    b = _new(session, web, "b", phone="p1")
    assert a.person_id == b.person_id


def test_shared_device_links_and_records_evidence(session: Session) -> None:
    calls, web, _ = _platforms(session)
    a = _new(session, calls, "a", devices=("d1", "d9"))
    b = Account(platform_id=web, platform_user_id="b")
    b.devices = [AccountDevice(device_id="d9")]
    session.add(b)
    result = link_account(session, b)
    assert result.person_id == a.person_id
    assert result.evidence == [("device_id", "d9", a.id)]


def test_an_account_bridging_two_people_merges_them_into_the_older(session: Session) -> None:
    calls, web, meet = _platforms(session)
    a = _new(session, calls, "a", phone="p1")
    b = _new(session, web, "b", devices=("d2",))
    assert a.person_id != b.person_id
    older, newer = sorted((a.person_id, b.person_id))
    bridge = Account(platform_id=meet, platform_user_id="c", phone_hash="p1")
    bridge.devices = [AccountDevice(device_id="d2")]
    session.add(bridge)
    result = link_account(session, bridge)
    session.flush()
    session.refresh(a)
    session.refresh(b)
    assert result.person_id == older
    assert result.merged_person_ids == [newer]
    assert {a.person_id, b.person_id, bridge.person_id} == {older}
    assert root_person_id(session, newer) == older
    assert session.get_one(Person, newer).merged_into_id == older


def test_merging_people_with_open_cases_combines_the_cases(session: Session) -> None:
    calls, web, meet = _platforms(session)
    a = _new(session, calls, "a", phone="p1")
    b = _new(session, web, "b", phone="p2")
    due = datetime.now(UTC) + timedelta(days=1)
    cases = []
    for acc in (a, b):
        case = Case(person_id=acc.person_id, due_at=due, primary_category="hate")
        session.add(case)
        session.flush()
        session.add(Report(platform_id=acc.platform_id, platform_report_id=f"r-{acc.id}",
                           reported_account_id=acc.id, category="hate",
                           created_at=due, case_id=case.id))
        cases.append(case)
    session.flush()
    # The new account shares a's phone and b's device: it bridges the two people.
    b_device = AccountDevice(account_id=b.id, device_id="shared")
    session.add(b_device)
    session.flush()
    bridge = Account(platform_id=meet, platform_user_id="c", phone_hash="p1")
    bridge.devices = [AccountDevice(device_id="shared")]
    session.add(bridge)
    result = link_account(session, bridge)
    session.flush()
    assert result.merged_person_ids, result
    open_cases = session.query(Case).filter(
        Case.status.in_(("open", "claimed", "escalated"))
    ).all()
    assert len(open_cases) == 1
    assert {r.case_id for r in session.query(Report)} == {open_cases[0].id}
    merged = [c for c in cases if c.status == CaseStatus.DISMISSED.value]
    assert len(merged) == 1 and merged[0].decision == "merged"
