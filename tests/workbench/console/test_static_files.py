"""Static files: content-hashed URLs on every page, a year's cache for those URLs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask, url_for
from flask.testing import FlaskClient

from workbench import static_files

ASSET = re.compile(r'(?:href|src)="(/(?:admin/)?static/[^"]+)"')


def _assets(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in ASSET.findall(html)]


def test_every_static_file_of_a_console_page_is_cached_for_a_year(
        signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("moderator")
    assets = _assets(client.get("/admin/queue/").get_data(as_text=True))
    # The project's and Flask-Admin's stylesheets and scripts.
    assert len(assets) >= 10 and any(a.startswith("/admin/static/") for a in assets)
    for url in assets:
        assert re.search(r"[?&]v=[0-9a-f]{12}(&|$)", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        cache = response.headers["Cache-Control"]
        assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
        assert "Set-Cookie" not in response.headers, url


def test_a_static_url_without_its_hash_is_revalidated(app: Flask) -> None:
    client = app.test_client()
    for url in ("/static/console.css", "/static/console.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")


def test_the_hash_follows_the_content(tmp_path: Path) -> None:
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    static_files.init_app(app)
    asset = tmp_path / "site.css"
    asset.write_text("body { color: #111; }")
    with app.test_request_context():
        first = url_for("static", filename="site.css")
        asset.write_text("body { color: #222; background: #fff; }")
        second = url_for("static", filename="site.css")
        missing = url_for("static", filename="nothing.css")
    assert first != second and "v=" in first and "v=" in second
    assert missing == "/static/nothing.css"
    client = app.test_client()
    assert "immutable" in client.get(second).headers["Cache-Control"]
    assert "immutable" not in client.get(first).headers.get("Cache-Control", "")
