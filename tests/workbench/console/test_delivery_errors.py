"""A platform's failed answer is shown as its status and a short class, never its body."""

from __future__ import annotations

from flask import Flask

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs

SECRET = "sk_live_TOKEN123"


def test_pages_show_a_failed_delivery_as_status_and_class_not_the_platform_body(
        app: Flask, world: World, signed_in) -> None:
    web = world.servers["web"]
    web.fail_next, web.fail_status = 100, 503
    web.fail_body = f"upstream said: Authorization: Bearer {SECRET}".encode()
    senior = signed_in("senior")
    post_form(senior, f"/admin/case/{world.case_id}/claim")
    post_form(senior, f"/admin/case/{world.case_id}/act",
              {"decision": "ban", "policy_reason": "violent_threat"})
    run_jobs(app)
    case_page = senior.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    listing = senior.get("/admin/deliveries/?state=pending").get_data(as_text=True)
    for page in (case_page, listing):
        assert "503" in page and "5xx" in page
        assert SECRET not in page and "upstream said" not in page
