"""The administrators' pages: console users and platforms."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import delete, select

from workbench.cases.wellness import preferences
from workbench.console.access import ConsoleView, Permission
from workbench.console.auth import end_sessions, start_session
from workbench.console.forms import form_work
from workbench.console.params import BadParameter, parse_int
from workbench.console.text import TIME_ZONE_KEY, time_zone_names, zone_for
from workbench.current import settings
from workbench.enums import Role
from workbench.extensions import db
from workbench.models import Moderator, Platform, SignInThrottle
from workbench.models.audit import record
from workbench.models.platform import WEBHOOK_BATCH_MAX
from workbench.platforms import PlatformError, register_platform, set_webhook_url
from workbench.staff import (
    StaffError,
    create_moderator,
    hash_password,
    password_problem,
    verify_password,
)


def _audit(verb: str, object_type: str, object_id: object, **data: Any) -> None:
    record(db.session, verb, object_type, object_id, actor_type="moderator",
           actor_id=str(current_user.id), data=data or None)


class StaffView(ConsoleView):
    """Console users: create, change role, deactivate, unlock."""

    permission = Permission.ADMINISTER

    @expose("/")
    def index(self) -> Any:
        staff = db.session.scalars(select(Moderator).order_by(Moderator.email)).all()
        return self.render("console/staff.html", staff=staff, roles=[r.value for r in Role])

    @expose("/create", methods=["POST"])
    def create(self) -> Any:
        form = request.form
        languages = [x.strip() for x in (form.get("languages") or "en").split(",") if x.strip()]
        with form_work(StaffError) as done:
            create_moderator(db.session, form.get("email", ""), form.get("password", ""),
                             form.get("role", ""), display_name=form.get("display_name"),
                             languages=languages)
        if done.ok:
            flash("User created.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:user_id>/update", methods=["POST"])
    def update(self, user_id: int) -> Any:
        user = db.session.get(Moderator, user_id)
        if user is None:
            flash("No such user.", "error")
            return redirect(url_for(".index"))
        role = request.form.get("role")
        if role and role != user.role:
            if role not in {r.value for r in Role}:
                flash("Unknown role.", "error")
                return redirect(url_for(".index"))
            if user.id == current_user.id:
                flash("Ask another administrator to change your own role.", "error")
                return redirect(url_for(".index"))
            _audit("moderator.role_changed", "moderator", user.id, old=user.role, new=role)
            user.role = role
            end_sessions(user)
        if "active" in request.form:
            active = request.form["active"] == "1"
            if active != user.active and user.id != current_user.id:
                user.active = active
                end_sessions(user)
                _audit("moderator.activated" if active else "moderator.deactivated",
                       "moderator", user.id)
        if request.form.get("unlock") == "1":
            user.locked_until = None
            user.failed_logins = 0
            db.session.execute(delete(SignInThrottle).where(
                SignInThrottle.moderator_id == user.id))
            _audit("moderator.unlocked", "moderator", user.id)
        db.session.commit()
        flash(f"{user.email} updated.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:user_id>/end-sessions", methods=["POST"])
    def sign_out_everywhere(self, user_id: int) -> Any:
        """Sign a user out everywhere (a lost laptop, a cookie that may have leaked)."""
        user = db.session.get(Moderator, user_id)
        if user is None:
            flash("No such user.", "error")
            return redirect(url_for(".index"))
        end_sessions(user)
        _audit("moderator.sessions_ended", "moderator", user.id)
        db.session.commit()
        if user.id == current_user.id:
            start_session(user)  # the administrator stays signed in on this browser
        flash(f"Every session of {user.email} has ended.", "success")
        return redirect(url_for(".index"))


class PlatformsView(ConsoleView):
    """The group's platforms: who may call the API, and where webhooks go."""

    permission = Permission.ADMINISTER

    @expose("/")
    def index(self) -> Any:
        platforms = db.session.scalars(select(Platform).order_by(Platform.slug)).all()
        return self.render("console/platforms.html", platforms=platforms,
                           batch_max=WEBHOOK_BATCH_MAX)

    @expose("/create", methods=["POST"])
    def create(self) -> Any:
        slug = (request.form.get("slug") or "").strip().lower()
        with form_work(ValueError) as done:
            credentials = register_platform(
                db.session, settings().secret_key, slug,
                webhook_url=(request.form.get("webhook_url") or "").strip() or None,
                name=(request.form.get("name") or "").strip() or None)
        if not done.ok:
            return redirect(url_for(".index"))
        platforms = db.session.scalars(select(Platform).order_by(Platform.slug)).all()
        # The secret is shown once, on this response only; it is stored encrypted.
        return self.render("console/platforms.html", platforms=platforms,
                           new_secret=credentials, batch_max=WEBHOOK_BATCH_MAX)

    @expose("/<int:platform_id>/webhook", methods=["POST"])
    def set_webhook(self, platform_id: int) -> Any:
        """Point the platform's webhooks elsewhere: checked as at registration, audited."""

        with form_work(PlatformError) as done:
            platform = set_webhook_url(db.session, platform_id,
                                       request.form.get("webhook_url"),
                                       moderator_id=current_user.id,
                                       batch=_batch(request.form.get("webhook_batch")))
        if done.ok:
            carried = ("one delivery a request" if platform.webhook_batch == 1 else
                       f"up to {platform.webhook_batch} deliveries a request")
            flash(f"Webhooks of {platform.slug} now go to {platform.webhook_url or 'nowhere'}"
                  f", {carried}.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:platform_id>/active", methods=["POST"])
    def set_active(self, platform_id: int) -> Any:
        platform = db.session.get(Platform, platform_id)
        if platform is not None:
            platform.active = request.form.get("active") == "1"
            _audit("platform.activated" if platform.active else "platform.deactivated",
                   "platform", platform.id)
            db.session.commit()
        return redirect(url_for(".index"))


def _batch(field: str | None) -> int | None:
    """The form's deliveries a request (None when the form does not ask)."""
    if field is None or not field.strip():
        return None
    # Any 64-bit whole number, so that check_batch says the range it wants.
    value = parse_int(field, low=-(2**63), high=2**63 - 1)
    if value is None:
        raise PlatformError(f"deliveries a webhook request: {field[:20]!r} is not a whole "
                            "number")
    return value


class OwnAccountView(ConsoleView):
    """Every user's own page: who they are, their settings, their password."""

    permission = Permission.OWN_ACCOUNT

    @expose("/")
    def index(self) -> Any:
        me = db.session.get_one(Moderator, current_user.id)
        return self.render("console/account.html", me=me,
                           prefs=preferences(db.session, me.id),
                           zones=time_zone_names(), zone=str(zone_for(me.settings)))

    @expose("/time-zone", methods=["POST"])
    def time_zone(self) -> Any:
        """The zone the console shows times in, for this moderator only (stored UTC)."""
        zone = request.form.get("time_zone", "")
        if zone not in time_zone_names():
            raise BadParameter("time_zone", "choose a time zone from the list")
        me = db.session.get_one(Moderator, current_user.id)
        old = str(zone_for(me.settings))
        # A new dict, so the JSON column sees the change.
        me.settings = {**(me.settings or {}), TIME_ZONE_KEY: zone}
        _audit("moderator.time_zone_changed", "moderator", me.id, old=old, new=zone)
        db.session.commit()
        flash(f"Times are now shown in {zone}.", "success")
        return redirect(url_for(".index"))

    @expose("/password", methods=["POST"])
    def password(self) -> Any:
        me = db.session.get_one(Moderator, current_user.id)
        new = request.form.get("new_password", "")
        if not verify_password(me.password_hash, request.form.get("current_password", "")):
            flash("The current password is wrong.", "error")
        elif new != request.form.get("repeat_password"):
            flash("The new password was not typed the same twice.", "error")
        elif (problem := password_problem(new, me.role, me.email)) is not None:
            flash(problem, "error")
        else:
            me.password_hash = hash_password(new)
            # Every other session, and any copy of this one's cookie, ends here; this
            # browser gets a fresh session.
            end_sessions(me)
            _audit("moderator.password_changed", "moderator", me.id)
            db.session.commit()
            start_session(me)
            flash("Password changed. You were signed out everywhere else.", "success")
        return redirect(url_for(".index"))
