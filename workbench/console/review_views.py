"""The automation review queue: what a model's rules did alone, oldest first, for a senior.

Each row shows the content acted on, the rule and the model's score; ``c`` confirms and
``o`` overturns the selected row (``static/console.js``). The server checks the role and
the action's state again (``actions.automation.review_automated``), and audits both.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_admin import expose
from flask_login import current_user

from actions.automation import ReviewError, pending_count, pending_review, review_automated
from queues.enforce import enqueue_deliveries
from workbench.cases.acted_on import acted_on
from workbench.cases.names import person_names
from workbench.console.access import ROLE_PERMISSIONS, ConsoleView, Permission
from workbench.current import settings
from workbench.enums import Role
from workbench.extensions import db
from workbench.models import Action

PAGE = 50
OUTCOMES = {"confirm": True, "overturn": False}
#: The page's keys, for the help overlay (``static/console.js`` handles them).
REVIEW_KEYS: tuple[tuple[str, str], ...] = (
    ("c", "Confirm the selected automated action"),
    ("o", "Overturn it: reverse it on every platform"),
    ("j", "Select the next row"),
    ("k", "Select the previous row"),
    ("?", "Show or hide this help"),
)


class AutomationReviewView(ConsoleView):
    """Automated actions waiting for review; confirm or overturn each, one key."""

    permission = Permission.REVIEW_AUTOMATION

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role in reviewers()

    @expose("/")
    def index(self) -> Any:
        actions = pending_review(db.session, PAGE)
        return self.render("console/automation.html", actions=actions,
                           content=acted_on(db.session, actions),
                           names=person_names(db.session, {a.person_id for a in actions}),
                           waiting=pending_count(db.session), keys=REVIEW_KEYS)

    @expose("/<int:action_id>/review", methods=["POST"])
    def review(self, action_id: int) -> Any:
        if db.session.get(Action, action_id) is None:
            return _refused(f"no action {action_id}", "action_id", 404)
        outcome = request.form.get("outcome", "")
        if outcome not in OUTCOMES:
            return _refused("say confirm or overturn", "outcome", 422)
        note = (request.form.get("note") or "").strip()[:2000] or None
        try:
            done = review_automated(db.session, action_id, moderator_id=current_user.id,
                                    role=current_user.role, confirm=OUTCOMES[outcome],
                                    note=note, reviewers=reviewers())
        except ReviewError as exc:
            db.session.rollback()
            return _refused(str(exc), exc.field, 409 if exc.field else 403)
        db.session.commit()

        enqueue_deliveries(done.delivery_ids)
        if _wants_json():
            return jsonify(action_id=action_id, state=done.state.value,
                           deliveries=len(done.delivery_ids))
        flash(f"Action {action_id} {done.state.value}"
              + (": reversed on every platform." if done.delivery_ids else "."), "success")
        return redirect(url_for(".index"))


def reviewers() -> frozenset[str]:
    """The roles reviewing automated actions: the permission's, and moderators if set."""
    roles = ROLE_PERMISSIONS[Permission.REVIEW_AUTOMATION]
    if settings().moderators_review_automation:
        roles = roles | {Role.MODERATOR.value}
    return frozenset(roles)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _refused(message: str, field: str | None, status: int) -> Any:
    if _wants_json():
        return jsonify(error={"code": "refused", "message": message, "field": field}), status
    return render_template("console/refused.html", message=message,
                           back=url_for("automation.index")), status
