"""Error pages: the console gets styled pages with a way back; the API keeps JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.support.app import TEST_SECRET_KEY
from tests.support.console_forms import csrf_token, post_form
from tests.support.console_world import World
from workbench.app import create_app
from workbench.extensions import db


def test_console_404_is_a_styled_page_with_a_way_back(
        signed_in: Callable[[str], FlaskClient]) -> None:
    response = signed_in("moderator").get("/admin/case/999999999")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert '<html lang="en">' in html and "workbench.css" in html
    assert "<h1>Not found</h1>" in html
    assert 'href="/admin/queue/" data-way-back' in html
    assert "Werkzeug" not in html


def test_console_403_names_the_reason_and_a_way_back(
        signed_in: Callable[[str], FlaskClient]) -> None:
    response = signed_in("moderator").get("/admin/legal/")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<h1>Not yours to see</h1>" in html and "data-way-back" in html


def test_signed_out_visitor_is_offered_sign_in(app: Flask) -> None:
    response = app.test_client().get("/no-such-page")
    assert response.status_code == 404
    assert 'href="/login" data-way-back' in response.get_data(as_text=True)


def test_console_405_keeps_the_allow_header(signed_in: Callable[[str], FlaskClient]) -> None:
    response = signed_in("moderator").delete("/admin/queue/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "data-way-back" in response.get_data(as_text=True)


def test_api_404_stays_json(app: Flask) -> None:
    response = app.test_client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json is not None and response.json["error"]["code"] == "not_found"


def test_console_500_is_styled_and_api_500_is_json(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/admin/broken-for-test", "broken_console", broken)
    app.add_url_rule("/api/v1/broken-for-test", "broken_api", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    page = client.get("/admin/broken-for-test")
    assert page.status_code == 500
    assert "<h1>Something broke</h1>" in page.get_data(as_text=True)
    assert "boom" not in page.get_data(as_text=True)
    api = client.get("/api/v1/broken-for-test")
    assert api.status_code == 500 and api.json is not None
    assert api.json["error"]["code"] == "internal_server_error"


def test_a_database_outage_is_a_styled_503_in_the_console(tmp_path: Path) -> None:
    app = create_app({"instance_dir": tmp_path / "instance", "secret_key": TEST_SECRET_KEY,
                      "database_url": f"sqlite:///{tmp_path}/no-such-dir/workbench.db"})

    def query() -> str:
        db.session.execute(text("SELECT 1"))
        return "reached"

    app.add_url_rule("/admin/query-for-test", "query_for_test", query)
    client = app.test_client()
    page = client.get("/admin/query-for-test")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "<h1>Try again shortly</h1>" in page.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json is not None
    assert health.json["error"]["code"] == "database_unavailable"


def test_a_409_refusal_is_styled_with_a_way_back_to_the_case(
        world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    # Releasing a case nobody holds: the console explains, on its own page.
    response = post_form(signed_in("moderator"), f"/admin/case/{world.case_id}/release")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "<h1>Not done</h1>" in html
    assert f'href="/admin/case/{world.case_id}" data-way-back' in html


def test_a_signed_in_user_gets_the_503_page_not_a_500_when_the_database_is_gone(
        tmp_path: Path, signed_in: Callable[[str], FlaskClient]) -> None:
    """Found by the soak: during a PostgreSQL outage `POST /admin/queue/next` answered 500,
    because drawing the 503 page asked the database who was signed in."""
    moderator = signed_in("moderator")
    token = csrf_token(moderator, "/admin/queue/")
    cookie = moderator.get_cookie("workbench_session")
    assert cookie is not None
    gone = create_app({"instance_dir": tmp_path / "gone", "secret_key": TEST_SECRET_KEY,
                       "database_url": f"sqlite:///{tmp_path}/no-such-dir/workbench.db"})
    client = gone.test_client()
    client.set_cookie("workbench_session", cookie.value)
    for response in (client.get("/admin/queue/"),
                     client.post("/admin/queue/next", data={"csrf_token": token})):
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert "<h1>Try again shortly</h1>" in response.get_data(as_text=True)
    # Any other error page drawn meanwhile is its own status too, not a 500.
    assert client.post("/admin/queue/next").status_code == 400  # no CSRF token
