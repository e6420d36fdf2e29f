"""The seniors' desk: appeals, deliveries that did not arrive, and statements of reasons."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from actions.appeals import AppealError, decide_appeal
from actions.delivery import retry_pending_now, send_now
from queues.enforce import enqueue_deliveries
from workbench.cases.acted_on import acted_on
from workbench.console.access import ConsoleView, Permission
from workbench.console.forms import form_work
from workbench.enums import AppealStatus, DeliveryState
from workbench.extensions import db
from workbench.models import (
    Account,
    Action,
    Appeal,
    EnforcementDelivery,
    Moderator,
    Platform,
    StatementOfReasons,
)
from workbench.models.audit import record

PAGE = 50


class AppealsView(ConsoleView):
    """Open appeals, oldest first; decided by a senior other than the one who acted."""

    permission = Permission.APPEALS

    @expose("/")
    def index(self) -> Any:
        status = request.args.get("status", AppealStatus.OPEN.value)
        if status not in {s.value for s in AppealStatus}:
            status = AppealStatus.OPEN.value
        rows = db.session.execute(
            select(Appeal, Action, Account.platform_user_id, Account.username, Platform.slug,
                   Moderator.display_name)
            .join(Action, Action.id == Appeal.action_id)
            .outerjoin(Account, Account.id == Appeal.account_id)
            .join(Platform, Platform.id == Appeal.platform_id)
            .outerjoin(Moderator, Moderator.id == Action.decided_by_id)
            .where(Appeal.status == status)
            .order_by(Appeal.created_at, Appeal.id).limit(PAGE)).all()
        # The content acted on, inline: an automated action often has no case to open.
        content = acted_on(db.session, [r.Action for r in rows])
        return self.render("console/appeals.html", rows=rows, status=status,
                           statuses=[s.value for s in AppealStatus], content=content)

    @expose("/<int:appeal_id>/decide", methods=["POST"])
    def decide(self, appeal_id: int) -> Any:
        overturn = request.form.get("outcome") == "overturn"
        note = (request.form.get("note") or "").strip()[:2000]
        if not note:
            flash("Say why: the user is told the outcome.", "error")
            return redirect(url_for(".index"))
        try:
            outcome = decide_appeal(db.session, appeal_id, moderator_id=current_user.id,
                                    role=current_user.role, overturn=overturn, note=note)
        except AppealError as exc:
            db.session.rollback()
            return render_template("console/refused.html", message=str(exc),
                                   back=url_for(".index")), 403
        db.session.commit()

        enqueue_deliveries(outcome.delivery_ids)
        flash(f"Appeal {'overturned: the action is reversed everywhere' if overturn else 'upheld'}"
              ".", "success")
        return redirect(url_for(".index"))


class DeliveriesView(ConsoleView):
    """Enforcement deliveries per platform and state; dead-lettered and waiting ones can be
    sent again now."""

    permission = Permission.DELIVERIES

    @expose("/")
    def index(self) -> Any:
        state = request.args.get("state", DeliveryState.DEAD.value)
        if state not in {s.value for s in DeliveryState}:
            state = DeliveryState.DEAD.value
        counts = db.session.execute(
            select(Platform.slug, EnforcementDelivery.state, func.count(EnforcementDelivery.id))
            .join(Platform, Platform.id == EnforcementDelivery.platform_id)
            .group_by(Platform.slug, EnforcementDelivery.state)
            .order_by(Platform.slug)).all()
        table: dict[str, dict[str, int]] = {}
        for slug, st, n in counts:
            table.setdefault(slug, {})[st] = n
        rows = db.session.execute(
            select(EnforcementDelivery, Platform.slug)
            .join(Platform, Platform.id == EnforcementDelivery.platform_id)
            .where(EnforcementDelivery.state == state)
            .order_by(EnforcementDelivery.id.desc()).limit(PAGE)).all()
        return self.render("console/deliveries.html", table=table, rows=rows, state=state,
                           states=[s.value for s in DeliveryState])

    @expose("/<int:delivery_id>/retry", methods=["POST"])
    def retry(self, delivery_id: int) -> Any:
        if db.session.get(EnforcementDelivery, delivery_id) is None:
            abort(404)
        with form_work(ValueError) as done:
            send_now(db.session, delivery_id, current_user.id)
        if not done.ok:
            return redirect(url_for(".index"))

        enqueue_deliveries([delivery_id])
        flash(f"Delivery {delivery_id} is being sent again.", "success")
        return redirect(url_for(".index"))


    @expose("/platform/<int:platform_id>/retry-now", methods=["POST"])
    def retry_pending(self, platform_id: int) -> Any:
        """Send a failing platform's waiting deliveries now (after fixing its webhook)."""

        if db.session.get(Platform, platform_id) is None:
            abort(404)
        ids = retry_pending_now(db.session, platform_id, current_user.id)
        db.session.commit()
        enqueue_deliveries(ids)
        flash(f"{len(ids)} waiting deliveries are being sent now.", "success")
        back = request.form.get("back") or ""
        # Only a path on this console: never a redirect elsewhere.
        return redirect(back if back.startswith("/admin/") and "//" not in back
                        else url_for(".index"))


class StatementView(ConsoleView):
    """A statement of reasons, as the user receives it (DSA transparency database fields)."""

    permission = Permission.READ_CASES

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("queue.index"))

    @expose("/<int:action_id>")
    def view(self, action_id: int) -> Any:
        statement = db.session.scalar(select(StatementOfReasons).where(
            StatementOfReasons.action_id == action_id))
        if statement is None:
            abort(404)
        action = db.session.get_one(Action, action_id)
        record(db.session, "statement.viewed", "action", action_id, actor_type="moderator",
               actor_id=str(current_user.id))
        db.session.commit()
        return self.render("console/statement.html", statement=statement, action=action)
