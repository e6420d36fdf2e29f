"""The triage queue: order, pages, filters, the live lane, and claims that never collide."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.present import present
from workbench.cases import triage
from workbench.enums import CaseStatus, Role
from workbench.extensions import db
from workbench.models import Account, AuditEvent, Case, Person, Report, utcnow

LOCK = timedelta(minutes=10)


def _more_cases(app: Flask, world: World, n: int) -> list[int]:
    """n more open cases in the general queue, with distinct priorities."""
    from workbench.cases.filing import file_reports
    from workbench.cases.policy import case_policy
    from workbench.current import settings

    with app.app_context():
        ids = []
        for i in range(n):
            person = Person()
            db.session.add(person)
            account = Account(platform_id=world.platform_ids["meet"], person=person,
                              platform_user_id=f"bulk-{i}", username=f"bulk{i}")
            db.session.add(account)
            db.session.flush()
            report = Report(platform_id=world.platform_ids["meet"],
                            platform_report_id=f"bulk-{i}", reported_account_id=account.id,
                            category="harassment" if i % 2 else "spam_scam",
                            created_at=utcnow() - timedelta(minutes=i))
            db.session.add(report)
            db.session.flush()
            ids.append(report.id)
        file_reports(db.session, ids, case_policy(settings()))
        db.session.commit()
        return list(db.session.scalars(select(Report.case_id).where(Report.id.in_(ids))))


def test_the_queue_lists_by_priority_then_due_time_in_keyset_pages(app: Flask,
                                                                   world: World) -> None:
    _more_cases(app, world, 30)
    with app.app_context():
        seen = []
        cursor = None
        while True:
            page = triage.queue_page(db.session, triage.QueueFilter(), after=cursor, limit=7)
            seen += [(r.priority, r.due_at, r.id) for r in page.rows]
            if page.next_cursor is None:
                break
            cursor = triage.Cursor.decode(page.next_cursor)
        expected = sorted(db.session.execute(
            select(Case.priority, Case.due_at, Case.id)).all(),
            key=lambda r: (-r[0], r[1], r[2]))
    assert seen == [tuple(r) for r in expected]
    assert len(seen) == 35


def test_filters_narrow_the_queue(app: Flask, world: World, signed_in) -> None:
    _more_cases(app, world, 6)
    client = signed_in("moderator")
    html = client.get("/admin/queue/?category=spam_scam&platform=meet").get_data(as_text=True)
    with app.app_context():
        spam = db.session.scalars(select(Case.id).where(
            Case.primary_category == "spam_scam")).all()
        other = db.session.scalars(select(Case.id).where(
            Case.primary_category != "spam_scam")).all()
    assert all(f'data-case-id="{i}"' in html for i in spam)
    assert not any(f'data-case-id="{i}"' in html for i in other)
    assert "left" in html  # the time left is shown


def test_a_tampered_page_position_is_a_clear_400(signed_in) -> None:
    response = signed_in("moderator").get("/admin/queue/?after=not-a-cursor")
    assert response.status_code == 400
    assert b"queue position" in response.data


def test_next_case_takes_the_live_lane_first_then_by_priority(app: Flask, world: World,
                                                             signed_in) -> None:
    client = signed_in("moderator")
    first = post_form(client, "/admin/queue/next")
    assert first.headers["Location"] == f"/admin/case/{world.live_case_id}"
    with app.app_context():
        top = db.session.scalars(select(Case.id).where(Case.status == "open")
                                 .order_by(Case.priority.desc(), Case.due_at)).first()
        assert db.session.get_one(Case, world.live_case_id).assignee_id == \
            world.staff["moderator"]
    second = post_form(client, "/admin/queue/next")
    assert second.headers["Location"] == f"/admin/case/{top}"


def test_two_moderators_racing_never_hold_the_same_case(app: Flask, world: World) -> None:
    case_ids = _more_cases(app, world, 20)
    claims: dict[str, list[int]] = {"moderator": [], "moderator2": []}
    barrier = threading.Barrier(2)

    def claim_all(who: str) -> None:
        with app.app_context():
            barrier.wait()
            while True:
                case_id = triage.claim_next(
                    db.session, world.staff[who], Role.MODERATOR.value,
                    queues=["general", "live", "urgent-safety", "hindi"], claim_lock=LOCK)
                db.session.commit()
                if case_id is None:
                    return
                claims[who].append(case_id)

    threads = [threading.Thread(target=claim_all, args=(w,)) for w in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = set(claims["moderator"]), set(claims["moderator2"])
    assert not a & b, f"both held {a & b}"
    assert len(claims["moderator"]) == len(a) and len(claims["moderator2"]) == len(b)
    assert a | b >= set(case_ids)
    with app.app_context():
        holders = dict(db.session.execute(select(Case.id, Case.assignee_id)).all())
        claimed = db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.verb == "case.claimed")).all()
    assert all(holders[c] == world.staff["moderator"] for c in a)
    assert all(holders[c] == world.staff["moderator2"] for c in b)
    assert sorted(present(c) for c in claimed) == sorted(str(c) for c in a | b)


def test_a_claim_lapses_after_ten_idle_minutes(app: Flask, world: World) -> None:
    with app.app_context():
        mine = triage.claim_next(db.session, world.staff["moderator"], "moderator",
                                 queues=["live"], claim_lock=LOCK)
        db.session.commit()
        assert mine == world.live_case_id
        # Still fresh: the other moderator cannot take it.
        assert not triage.try_claim(db.session, mine, world.staff["moderator2"], "moderator",
                                    LOCK)
        db.session.execute(update(Case).where(Case.id == mine).values(
            last_activity_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
        assert triage.try_claim(db.session, mine, world.staff["moderator2"], "moderator", LOCK)
        db.session.commit()
        assert db.session.get_one(Case, mine).assignee_id == world.staff["moderator2"]


def test_activity_on_the_case_keeps_the_claim(app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    post_form(client, "/admin/queue/next")
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == world.live_case_id).values(
            last_activity_at=utcnow() - timedelta(minutes=9)))
        db.session.commit()
    client.get(f"/admin/case/{world.live_case_id}")
    with app.app_context():
        touched = db.session.get_one(Case, world.live_case_id).last_activity_at
    assert touched is not None and utcnow() - touched < timedelta(minutes=1)


def test_hindi_cases_go_to_hindi_speakers(app: Flask, world: World) -> None:
    rules: list[dict[str, Any]] = [{"queue": "hindi", "languages": ["hi", "hi-Latn"]},
                                   {"queue": "general"}]
    assert triage.eligible_queues(rules, ["en", "hi-Latn"]) == ["hindi", "general"]
    assert triage.eligible_queues(rules, ["en"]) == ["general"]
    with app.app_context():
        db.session.execute(update(Case).values(queue="hindi"))
        db.session.commit()
        assert triage.claim_next(db.session, world.staff["moderator"], "moderator",
                                 queues=triage.eligible_queues(rules, ["en"]),
                                 claim_lock=LOCK) is None
        assert triage.claim_next(db.session, world.staff["moderator"], "moderator",
                                 queues=triage.eligible_queues(rules, ["hi"]),
                                 claim_lock=LOCK) is not None


def test_escalated_cases_are_for_seniors(app: Flask, world: World, signed_in) -> None:
    client = signed_in("moderator")
    client.get(f"/admin/case/{world.case_id}")
    response = post_form(client, f"/admin/case/{world.case_id}/escalate",
                         {"reason": "possible threat to life, needs a senior"})
    assert response.status_code == 302
    with app.app_context():
        case = db.session.get_one(Case, world.case_id)
        assert case.status == CaseStatus.ESCALATED.value
        for other in [c for c in db.session.scalars(select(Case.id)) if c != world.case_id]:
            db.session.execute(update(Case).where(Case.id == other).values(status="dismissed"))
        db.session.commit()
        assert triage.claim_next(db.session, world.staff["moderator2"], "moderator",
                                 queues=["general", "urgent-safety", "live", "hindi"],
                                 claim_lock=LOCK) is None
        assert triage.claim_next(db.session, world.staff["senior"], "senior",
                                 queues=["general", "urgent-safety", "live", "hindi"],
                                 claim_lock=LOCK) == world.case_id


def test_seniors_route_categories_to_a_queue_of_their_own(app: Flask, world: World,
                                                         signed_in) -> None:
    senior = signed_in("senior")
    form = {"queue-0": "live", "live-0": "yes", "position-0": "0",
            "queue-1": "spam-wave", "categories-1": "spam_scam", "position-1": "1",
            "queue-2": "general", "position-2": "2"}
    response = post_form(senior, "/admin/queue-settings/", form, page="/admin/queue-settings/")
    assert response.status_code == 302
    with app.app_context():
        queues = dict(db.session.execute(select(Case.id, Case.queue)).all())
    assert {queues[c] for c in world.other_case_ids} == {"spam-wave"}
    assert queues[world.case_id] == "general"  # urgent-safety is no longer a rule
    page = signed_in("moderator").get("/admin/queue/").get_data(as_text=True)
    assert "spam-wave" in page
    bad = post_form(senior, "/admin/queue-settings/", {"queue-0": "x", "categories-0": "nope"},
                    page="/admin/queue-settings/")
    assert bad.status_code == 302
    with app.app_context():
        from workbench.models import RoutingRule

        assert len(db.session.scalars(select(RoutingRule)).all()) == 3  # unchanged
