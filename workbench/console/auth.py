"""Signing in and out of the console: Argon2id passwords, lockout, idle expiry, audit."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from workbench.console.access import desk_url
from workbench.console.params import same_site_path
from workbench.console.security import limiter
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Moderator, SignInThrottle, utcnow
from workbench.models.audit import record
from workbench.settings import Settings
from workbench.staff import (
    dummy_hash,
    hash_password,
    needs_rehash,
    set_hash_cost,
    verify_password,
)

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to use the console."
# Flask-Login's "strong" mode does nothing for a permanent session (it only marks it not
# fresh), and its identifier includes the client address, which changes on mobile
# networks. So the binding to the browser is checked here instead: see ``load_user``.
login_manager.session_protection = None

#: The one answer to every refused sign-in, so it never tells whether an email exists or
#: whether an account is locked.
SIGN_IN_REFUSED = ("Wrong email or password, or too many attempts: check both, or wait "
                   "a few minutes and try again.")
#: Session keys: the user's session epoch at sign-in, and the browser it was signed in from.
SESSION_EPOCH_KEY = "_epoch"
SESSION_BROWSER_KEY = "_browser"

def browser_fingerprint() -> str:
    """A short digest of this request's User-Agent: a session is bound to it at sign-in."""
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha256(agent.encode("utf-8", "replace")).hexdigest()[:32]


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in console user, as Flask-Login needs it (read fresh on every request)."""

    id: int
    email: str
    role: str
    display_name: str
    languages: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    session_epoch: int = 0
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
                   settings=dict(moderator.settings or {}),
                   session_epoch=moderator.session_epoch or 0)


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    """The session's user, unless that session was ended or was signed in elsewhere.

    Deactivating a user, changing their role or password, signing out, or an administrator
    ending their sessions raises ``session_epoch``: every session holding the old value,
    copies of the cookie included, is refused from the next request. A cookie sent by a
    browser other than the one that signed in (another User-Agent) is refused too.
    """
    try:
        moderator = db.session.get(Moderator, int(user_id))
    except (ValueError, OverflowError):
        return None
    if moderator is None or not moderator.active:
        return None
    if session.get(SESSION_EPOCH_KEY) != (moderator.session_epoch or 0):
        return None
    if session.get(SESSION_BROWSER_KEY) != browser_fingerprint():
        log.warning("session of moderator %s refused: used from another browser", moderator.id)
        return None
    # The session's identity map holds rows only while something refers to them: kept for
    # the request, the page's own reads of this row (wellness, the account) need no query.
    g.signed_in_moderator = moderator
    return ConsoleUser.of(moderator)


def start_session(moderator: Moderator) -> None:
    """Sign ``moderator`` in on this browser, in a fresh session bound to it."""
    session.clear()
    session.permanent = True
    login_user(ConsoleUser.of(moderator))
    session[SESSION_EPOCH_KEY] = moderator.session_epoch or 0
    session[SESSION_BROWSER_KEY] = browser_fingerprint()


def end_sessions(moderator: Moderator) -> None:
    """End every session of ``moderator`` (the caller commits and audits why)."""
    moderator.session_epoch = (moderator.session_epoch or 0) + 1


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None, role: str | None = None) -> str:
    """Only a path on this site: an open redirect would help a phishing page.

    Without one, straight to the role's desk: not through ``/admin/``, which would only
    redirect again (a round trip more before the first page).
    """
    return same_site_path(target) or (desk_url(role) if role else None) \
        or url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: settings().login_rate_limit, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next"), current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = attempt_login(form.email.data or "", form.password.data or "")
        if isinstance(outcome, Moderator):
            start_session(outcome)
            return redirect(_safe_next(request.args.get("next"), outcome.role))
        flash(outcome, "error")
        return render_template("console/login.html", form=form), 401
    if request.method == "POST":
        return render_template("console/login.html", form=form), 400
    return render_template("console/login.html", form=form)


def attempt_login(email: str, password: str) -> Moderator | str:
    """The moderator if the password is right and nothing is locked; else ``SIGN_IN_REFUSED``.

    Every refusal reads the same and costs one password check, so neither the answer nor
    its timing tells whether the email exists or the account is locked. Failures lock
    the address they came from out of that account (``login_max_failures``); only many
    failures from all addresses together (``login_account_max_failures``) lock the
    account, for a fixed time that attempts made meanwhile do not extend.
    """
    email = email.strip().lower()
    address = (request.remote_addr or "unknown")[:64]
    # The account and this address's failures on it in one query (one round trip less).
    found = db.session.execute(
        select(Moderator, SignInThrottle)
        .outerjoin(SignInThrottle, and_(SignInThrottle.moderator_id == Moderator.id,
                                        SignInThrottle.address == address))
        .where(func.lower(Moderator.email) == email)).first()
    moderator, throttle = (found[0], found[1]) if found is not None else (None, None)
    password_ok = verify_password(
        moderator.password_hash if moderator is not None else dummy_hash(), password)
    if moderator is None or not moderator.active:
        record(db.session, "login.failed", "moderator", None, actor_type="anonymous",
               actor_id=address, data={"email": email[:320]})
        db.session.commit()
        return SIGN_IN_REFUSED
    now = utcnow()
    if throttle is not None and _expired(throttle, now):
        throttle.failures, throttle.locked_until = 0, None
    if throttle is not None and throttle.locked_until is not None:
        return _refuse(moderator, "login.refused_locked", address, scope="address")
    if moderator.locked_until is not None and moderator.locked_until > now:
        return _refuse(moderator, "login.refused_locked", address, scope="account")
    if not password_ok:
        return _count_failure(moderator, throttle, address, now)
    moderator.failed_logins = 0
    moderator.locked_until = None
    moderator.last_login_at = now
    if needs_rehash(moderator.password_hash):  # the hash cost setting changed since
        moderator.password_hash = hash_password(password)
    if throttle is not None:
        db.session.delete(throttle)
    record(db.session, "login.succeeded", "moderator", moderator.id, actor_type="moderator",
           actor_id=str(moderator.id), data={"address": address})
    db.session.commit()
    return moderator


def _expired(throttle: SignInThrottle, now: datetime) -> bool:
    """Whether this address's lock, or its last failure, is older than the lockout time."""
    if throttle.locked_until is not None:
        return throttle.locked_until <= now
    lockout = timedelta(minutes=settings().login_lockout_minutes)
    return throttle.last_failed_at is None or throttle.last_failed_at <= now - lockout


def _count_failure(moderator: Moderator, throttle: SignInThrottle | None, address: str,
                   now: datetime) -> str:
    s = settings()
    lockout = timedelta(minutes=s.login_lockout_minutes)
    if throttle is None:
        throttle = SignInThrottle(moderator_id=moderator.id, address=address, failures=0)
        db.session.add(throttle)
    throttle.failures = (throttle.failures or 0) + 1
    throttle.last_failed_at = now
    moderator.failed_logins = (moderator.failed_logins or 0) + 1
    verb, scope = "login.failed", None
    if throttle.failures >= s.login_max_failures:
        throttle.locked_until = now + lockout
        verb, scope = "login.locked", "address"
    if moderator.failed_logins >= s.login_account_max_failures:
        moderator.locked_until = now + lockout
        moderator.failed_logins = 0
        verb, scope = "login.locked", "account"
    return _refuse(moderator, verb, address, scope=scope)


def _refuse(moderator: Moderator, verb: str, address: str, *, scope: str | None) -> str:
    data: dict[str, Any] = {"address": address}
    if scope:
        data["scope"] = scope
    record(db.session, verb, "moderator", moderator.id, actor_type="anonymous",
           actor_id=address, data=data)
    try:
        db.session.commit()
    except IntegrityError:
        # Two failures from one address at once both added its row: one counts.
        db.session.rollback()
    return SIGN_IN_REFUSED


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        # Signing out ends every session of this user, so a copied cookie dies with it.
        end_sessions(db.session.get_one(Moderator, current_user.id))
        record(db.session, "logout", "moderator", current_user.id, actor_type="moderator",
               actor_id=str(current_user.id))
        db.session.commit()
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask, config: Settings) -> None:
    set_hash_cost(config.password_hash_time_cost, config.password_hash_memory_kib,
                  config.password_hash_parallelism)
    login_manager.init_app(app)
    app.register_blueprint(bp)
