"""The live lane refreshes itself: a call reported in progress after the queue was opened
shows up without a reload, and the row the moderator had selected stays selected."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.test_live_calls import _select
from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.current import settings
from workbench.enums import ReportSource
from workbench.extensions import db
from workbench.models import Account, Call, CallParticipant, Person, Report, utcnow

pytestmark = pytest.mark.e2e

#: The lane is asked for every 10 s; a shared machine, a real server and a real browser.
DEADLINE_MS = 45_000


def _start_reported_call(app: Flask, world: World, uid: str) -> int:
    """A platform reports a call in progress, filed as the intake job files it; its case."""
    with app.app_context():
        person = Person()
        db.session.add(person)
        account = Account(platform_id=world.platform_ids["web"], platform_user_id=uid,
                          person=person, username=f"caller_{uid}", languages=["en"])
        db.session.add(account)
        db.session.flush()
        call = Call(platform_id=world.platform_ids["web"], platform_call_id=f"call-{uid}",
                    started_at=utcnow())
        db.session.add(call)
        db.session.flush()
        db.session.add(CallParticipant(call_id=call.id, account_id=account.id,
                                       joined_at=utcnow()))
        report = Report(platform_id=world.platform_ids["web"], platform_report_id=f"r-{uid}",
                        reported_account_id=account.id, category="violent_threat",
                        call_id=call.id, call_in_progress=True,
                        description="<b>threatening</b> on a call right now",
                        source=ReportSource.USER.value, created_at=utcnow())
        db.session.add(report)
        db.session.flush()
        file_reports(db.session, [report.id], case_policy(settings()))
        db.session.commit()
        case_id = db.session.scalar(select(Report.case_id).where(Report.id == report.id))
        assert case_id is not None
        return int(case_id)


def _lane_row(page: Any, case_id: int) -> Any:
    return page.locator(f".live-lane tr[data-live-case-id='{case_id}']")


def test_a_call_started_after_the_queue_opened_appears_without_a_reload(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["senior"])
    page = console.page
    assert page.url.endswith("/admin/queue/")
    page.evaluate("window.__sameDocument = 'yes'")  # gone if the page reloads
    _select(console, world.live_case_id)
    assert page.evaluate("document.activeElement.dataset.liveCaseId") == str(world.live_case_id)
    lived: list[int] = []
    page.on("response", lambda r: lived.append(r.status) if "/admin/queue/live" in r.url
            else None)

    new_case = _start_reported_call(app, world, "w-900")
    expect(_lane_row(page, new_case)).to_be_visible(timeout=DEADLINE_MS)

    assert page.evaluate("window.__sameDocument") == "yes"
    assert lived and all(s in (200, 304) for s in lived), lived
    # The row chosen before is still the selected one, and still has the focus.
    assert page.evaluate("document.activeElement.dataset.liveCaseId") == str(world.live_case_id)
    old = _lane_row(page, world.live_case_id)
    assert old.get_attribute("aria-current") == "true"
    assert _lane_row(page, new_case).get_attribute("aria-current") is None
    # Its text from the platform is escaped, not drawn as markup.
    assert page.locator(".live-lane b").count() == 0
    # x still works on the selected row after the swap; the new call can be ended too.
    console.press("x")
    expect(page.locator("#end-call-panel")).to_be_visible(timeout=DEADLINE_MS)
    assert f"#{world.live_case_id}" in page.locator("#end-call-title").inner_text()
    console.press("Escape")
    assert _lane_row(page, new_case).locator("[data-end-call-row]").count() == 1
    console.screenshot("live-lane-refreshed")
    assert not console.errors, console.errors


def test_the_lane_does_not_take_the_focus_from_a_field(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    page = console.page
    page.focus("#filter-language")
    console.type("h")
    new_case = _start_reported_call(app, world, "w-901")
    expect(_lane_row(page, new_case)).to_be_visible(timeout=DEADLINE_MS)
    assert page.evaluate("document.activeElement.id") == "filter-language"
    assert page.locator("#filter-language").input_value() == "h"
    # A moderator may not end calls: the new row offers no x, and the help lists none.
    assert _lane_row(page, new_case).locator("[data-end-call-row]").count() == 0
    assert "x" not in page.locator("#help-overlay").get_attribute("data-keys").split()
    assert not console.errors, console.errors
