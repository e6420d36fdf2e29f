"""Pages outside the console and the API: the landing page and health checks."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, jsonify, render_template, request
from sqlalchemy import select, text

from actions import signing
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Platform
from workbench.platforms import platform_secret

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Liveness and database reachability, for load balancers."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.post("/demo/platforms/<slug>/webhook")
def demo_webhook(slug: str):  # type: ignore[no-untyped-def]
    """In demo mode only: accept a platform's webhook (checking its signature), as it would."""


    if not settings().demo_mode:
        abort(404)
    platform = db.session.scalars(select(Platform).where(Platform.slug == slug)).first()
    if platform is None:
        abort(404)
    try:
        signing.verify(platform_secret(platform, settings().secret_key),
                       request.headers.get(signing.TIMESTAMP_HEADER),
                       request.headers.get(signing.SIGNATURE_HEADER), request.get_data())
    except signing.SignatureError as exc:
        return jsonify(error=exc.message), 401
    return jsonify(status="applied"), 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
