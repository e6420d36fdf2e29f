"""Signing in and out of the console: Argon2id passwords, lockout, idle expiry, audit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from workbench.app import settings
from workbench.console.params import same_site_path
from workbench.console.security import limiter
from workbench.extensions import db
from workbench.models import Moderator, utcnow
from workbench.models.audit import record
from workbench.staff import hash_password, verify_password

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to use the console."
# A session cookie replayed from another browser is refused (Flask-Login's strong mode).
login_manager.session_protection = "strong"

# Checked when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-0")


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in console user, as Flask-Login needs it (read fresh on every request)."""

    id: int
    email: str
    role: str
    display_name: str
    languages: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def of(cls, moderator: Moderator) -> ConsoleUser:
        return cls(id=moderator.id, email=moderator.email, role=moderator.role,
                   display_name=moderator.display_name or moderator.email,
                   languages=list(moderator.languages or []),
                   settings=dict(moderator.settings or {}))


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    # Deactivating a user, or changing their role, takes effect on their next request.
    try:
        moderator = db.session.get(Moderator, int(user_id))
    except ValueError:
        return None
    if moderator is None or not moderator.active:
        return None
    return ConsoleUser.of(moderator)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help a phishing page."""
    return same_site_path(target) or url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: settings().login_rate_limit, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = attempt_login(form.email.data or "", form.password.data or "")
        if isinstance(outcome, Moderator):
            session.clear()
            session.permanent = True
            login_user(ConsoleUser.of(outcome))
            return redirect(_safe_next(request.args.get("next")))
        flash(outcome, "error")
        return render_template("console/login.html", form=form), 401
    if request.method == "POST":
        return render_template("console/login.html", form=form), 400
    return render_template("console/login.html", form=form)


def attempt_login(email: str, password: str) -> Moderator | str:
    """The moderator if the password is right and the account not locked; else why not."""
    s = settings()
    email = email.strip().lower()
    moderator = db.session.scalars(
        select(Moderator).where(func.lower(Moderator.email) == email)).first()
    now = utcnow()
    if moderator is None or not moderator.active:
        verify_password(_DUMMY_HASH, password)
        record(db.session, "login.failed", "moderator", None, actor_type="anonymous",
               actor_id=request.remote_addr, data={"email": email[:320]})
        db.session.commit()
        return "Wrong email or password."
    if moderator.locked_until is not None and moderator.locked_until > now:
        record(db.session, "login.refused_locked", "moderator", moderator.id,
               actor_type="anonymous", actor_id=request.remote_addr)
        db.session.commit()
        minutes = max(1, int((moderator.locked_until - now).total_seconds() // 60) + 1)
        return f"Too many failed attempts: this account is locked for {minutes} more minutes."
    if not verify_password(moderator.password_hash, password):
        moderator.failed_logins = (moderator.failed_logins or 0) + 1
        verb = "login.failed"
        if moderator.failed_logins >= s.login_max_failures:
            moderator.locked_until = now + timedelta(minutes=s.login_lockout_minutes)
            moderator.failed_logins = 0
            verb = "login.locked"
        record(db.session, verb, "moderator", moderator.id, actor_type="anonymous",
               actor_id=request.remote_addr)
        db.session.commit()
        if verb == "login.locked":
            return (f"Too many failed attempts: this account is locked for "
                    f"{s.login_lockout_minutes} minutes.")
        return "Wrong email or password."
    moderator.failed_logins = 0
    moderator.locked_until = None
    moderator.last_login_at = now
    record(db.session, "login.succeeded", "moderator", moderator.id, actor_type="moderator",
           actor_id=str(moderator.id), data={"address": request.remote_addr})
    db.session.commit()
    return moderator


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        record(db.session, "logout", "moderator", current_user.id, actor_type="moderator",
               actor_id=str(current_user.id))
        db.session.commit()
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
