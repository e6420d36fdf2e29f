"""What a person notices in the browser: strikes and muted audio on the case page, the
wellness hand-off, a reporter marked from the case, and a failed job retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from rq import Queue

from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import Case, Strike, utcnow

pytestmark = pytest.mark.e2e


def _audio_muted(console: Console) -> bool:
    return bool(console.page.eval_on_selector("audio", "a => a.muted"))


def test_strikes_show_on_the_case_and_audio_stays_muted_until_the_moderator_says(
        app: Flask, world: World, console: Console) -> None:
    with app.app_context():
        for _ in range(2):
            db.session.add(Strike(person_id=world.person_id, category="harassment",
                                  expires_at=utcnow() + timedelta(days=60)))
        db.session.commit()
    console.sign_in(STAFF["moderator"])
    console.goto(f"/admin/case/{world.case_id}")
    page = console.page
    assert page.locator(".strikes h3").inner_text() == "Strikes: 2 in force"
    assert "suspend for 7 days" in page.locator(".next-step").inner_text()
    assert _audio_muted(console)  # muted until played, by default
    console.goto("/admin/account/")
    page.uncheck('input[name="mute_audio"]')
    with page.expect_navigation():
        page.click('form[action$="/preferences"] button')
    console.goto(f"/admin/case/{world.case_id}")
    assert not _audio_muted(console)


def test_a_moderator_hands_off_distressing_cases_and_next_skips_them(
        app: Flask, world: World, console: Console) -> None:
    console.sign_in(STAFF["moderator"])
    page = console.page
    assert page.locator("#distressing-today").inner_text() == "0"
    with page.expect_navigation():
        page.click("#hand-off")
    assert "Handed off for today" in page.content()
    console.submit("n")
    claimed = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get_one(Case, claimed).primary_category == "spam_scam"
    assert claimed not in (world.case_id, world.live_case_id)


def test_a_senior_marks_a_reporter_from_the_case_and_retries_a_failed_job(
        app: Flask, world: World, console: Console) -> None:
    from workbench.current import redis_connection

    console.sign_in(STAFF["senior"])
    console.goto(f"/admin/case/{world.case_id}")
    page = console.page
    page.click("#reports-details summary")  # the reports are one line until opened
    form = page.locator("form.mark-form").first
    form.locator('input[name="reason"]').fill("reports everyone she calls")
    with page.expect_navigation():
        form.locator("button").click()
    assert page.locator(".badge", has_text="marked: reports sink").count() >= 1
    assert page.locator("form.mark-form button").first.inner_text() == "Clear mark"

    with app.app_context():
        job = Queue("maintenance", connection=redis_connection()).enqueue(
            "workbench.no_such_module.job")
    run_jobs(app)
    console.goto("/admin/operations/")
    row = page.locator("table.failed-jobs tr", has_text=job.id)
    assert "no_such_module" in row.inner_text()
    with page.expect_navigation():
        row.locator("button", has_text="Retry").click()
    assert "queued again" in page.content()
    with app.app_context():
        assert job.id in Queue("maintenance", connection=redis_connection()).job_ids
