"""The lead's and the seniors' pages: operations, the audit log, the dashboard, bulk work,
reporters; and the moderator's own wellness controls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import func, select

from actions.bulk import ActionTemplate, BulkAuthorityError, BulkError, bulk_decide, undo_bulk
from actions.decisions import Decision
from actions.ladder import people_with_in_force
from actions.legal_requests import overdue
from queues.enforce import enqueue_deliveries
from workbench.cases.filing import rescore_cases
from workbench.cases.policy import case_policy
from workbench.cases.reporters import (
    ReporterAuthorityError,
    ReporterError,
    current_marks,
    mark_reporter,
    unmark_reporter,
)
from workbench.cases.wellness import Preferences, hand_off, resume, update_preferences
from workbench.console.access import ConsoleView, Permission, require
from workbench.console.acting import BY_KEY, policy_reasons
from workbench.console.forms import form_work
from workbench.console.legal_views import svg_response
from workbench.console.params import id_field, ids_field, parse_int, same_site_path
from workbench.console.validators import conditional_page, conditional_part
from workbench.current import redis_connection, settings
from workbench.enums import CaseStatus
from workbench.extensions import db
from workbench.models import Account, Case, Moderator, utcnow
from workbench.models.console import BulkOperation, BulkOperationItem
from workbench.reporting.operations import (
    AuditFilter,
    OperationsError,
    audit_log,
    delivery_overview,
    failed_jobs,
    queue_depths,
    retry_failed_jobs,
)

log = logging.getLogger(__name__)
REDIS_DOWN = ("Redis is unreachable: queue depths and failed jobs cannot be read or retried "
              "until it is back. Nothing stored is lost.")


def _redis() -> Any:
    return redis_connection()


class OperationsView(ConsoleView):
    """Queue depths, failed jobs with retry, and deliveries per platform."""

    permission = Permission.OPERATIONS

    @expose("/")
    def index(self) -> Any:
        try:
            connection = _redis()
            depths, failed = queue_depths(connection), failed_jobs(connection, limit=100)
        except RedisError as exc:
            # The deliveries below come from the database and still help; say what is down.
            log.warning("operations page: Redis unreachable: %s", exc)
            flash(REDIS_DOWN, "error")
            depths, failed = [], []
        return self.render("console/operations.html", depths=depths, failed=failed,
                           deliveries=delivery_overview(db.session))

    @expose("/retry", methods=["POST"])
    def retry(self) -> Any:
        job_id = request.form.get("job_id")
        try:
            with form_work(OperationsError) as done:
                retried = retry_failed_jobs(db.session, _redis(),
                                            moderator_id=current_user.id,
                                            role=current_user.role,
                                            job_ids=[job_id] if job_id else None)
        except RedisError:
            db.session.rollback()
            flash(REDIS_DOWN, "error")
            return redirect(url_for(".index"))
        if done.ok:
            flash(f"{len(retried)} failed job(s) queued again.", "success")
        return redirect(url_for(".index"))


def _parse_time(raw: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC) if raw else None
    except ValueError:
        return None


class AuditView(ConsoleView):
    """The audit log: read-only, filterable, newest first."""

    permission = Permission.AUDIT

    @expose("/")
    def index(self) -> Any:
        args = request.args
        filters = AuditFilter(
            actor_type=args.get("actor_type") or None, actor_id=args.get("actor_id") or None,
            verb=args.get("verb") or None, object_type=args.get("object_type") or None,
            object_id=args.get("object_id") or None, since=_parse_time(args.get("since")),
            until=_parse_time(args.get("until")))
        page = audit_log(db.session, filters,
                         before_id=id_field(args.get("before"), "before"), limit=100)
        query: dict[str, Any] = {k: v for k, v in args.items() if k != "before" and v}
        return self.render("console/audit.html", page=page, args=query,
                           older=url_for(".index", **query, before=page.next_before_id)
                           if page.next_before_id else None)


class DashboardView(ConsoleView):
    """Charts a lead reads at a glance, drawn ahead from pre-aggregated figures.

    The page and each chart carry validators: a browser that has them gets a 304. A
    chart's address names the figures' version, so a page never shows charts of two.
    """

    permission = Permission.DASHBOARD

    def _board(self) -> Any:
        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.dashboard import DEFAULT_DAYS, dashboard_board

        return dashboard_board(db.session, parse_int(request.args.get("days"), low=1,
                                                     high=366) or DEFAULT_DAYS)

    @expose("/")
    def index(self) -> Any:
        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.dashboard import OFFERED_DAYS

        board = self._board()
        return conditional_page(self.render(
            "console/dashboard.html", charts=board.charts, as_of=board.as_of,
            version=board.version, overdue_legal=overdue(db.session),
            offered=[str(d) for d in OFFERED_DAYS], days=request.args.get("days", "30")),
            board.as_of)

    @expose("/chart/<slug>.<fmt>")
    def chart(self, slug: str, fmt: str) -> Any:
        board = self._board()
        chart = next((c for c in board.charts if c.slug == slug), None)
        if chart is None or fmt not in {"svg", "csv"}:
            abort(404)
        if fmt == "svg":
            response = svg_response(chart.svg)
        else:
            response = Response(chart.csv, mimetype="text/csv", headers={
                "Content-Disposition": f"attachment; filename={slug}.csv"})
        return conditional_part(response, f"{board.version}-{slug}-{fmt}", board.as_of, 300)


class BulkView(ConsoleView):
    """One decision for many cases (a spam wave), confirmed first, undoable for a while."""

    permission = Permission.BULK

    def is_visible(self) -> bool:
        return False

    def _form(self) -> tuple[list[int], str, str, int]:
        ids = sorted(set(ids_field(request.form.getlist("case_id"), "case_id")))
        return ids, request.form.get("decision", ""), request.form.get("policy_reason", ""), \
            len(ids)

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("queue.index"))

    @expose("/preview", methods=["POST"])
    def preview(self) -> Any:
        """Show what the decision would do to each selected case, and ask to confirm."""
        ids, decision, reason, _n = self._form()
        cases = db.session.scalars(select(Case).where(Case.id.in_(ids))
                                   .order_by(Case.id)).all()
        people = {c.person_id for c in cases}
        accounts = db.session.execute(select(Account.person_id, Account.platform_id)
                                      .where(Account.person_id.in_(people))).all()
        # Cases another moderator holds are listed apart and left out of the decision.
        holders = dict(db.session.execute(
            select(Moderator.id, func.coalesce(Moderator.display_name, Moderator.email))
            .where(Moderator.id.in_({c.assignee_id for c in cases if c.assignee_id}))).all())
        held = [(c, holders.get(c.assignee_id, "another moderator")) for c in cases
                if c.status == CaseStatus.CLAIMED.value and c.assignee_id not in
                (None, current_user.id)]
        skipped = {c.id for c, _ in held}
        cases = [c for c in cases if c.id not in skipped]
        verdict = BY_KEY.get(decision)
        in_force = people_with_in_force(db.session, {c.person_id for c in cases},
                                        verdict.action) if verdict and verdict.action else set()
        return self.render("console/bulk_confirm.html", cases=cases, held=held,
                           stacking=[c for c in cases if c.person_id in in_force],
                           decision=decision,
                           reason=reason, verdict=BY_KEY.get(decision),
                           reasons=policy_reasons(settings()), accounts=len(accounts),
                           undo_minutes=settings().bulk_undo_minutes,
                           platforms=len({p for _, p in accounts}))

    @expose("/confirm", methods=["POST"])
    def confirm(self) -> Any:
        ids, decision, reason, _n = self._form()
        verdict = BY_KEY.get(decision)
        if verdict is None or verdict.target is not None:
            flash("Choose a decision that applies to whole cases.", "error")
            return redirect(url_for("queue.index"))
        template = None if verdict.action is None else ActionTemplate(
            type=verdict.action, policy_reason=reason,
            duration=timedelta(days=verdict.days) if verdict.days else None)
        with form_work(BulkError, BulkAuthorityError) as done:
            result = bulk_decide(
                db.session, ids, moderator_id=current_user.id, role=current_user.role,
                decision=Decision.DISMISSED if verdict.action is None else Decision.VIOLATION,
                action_template=template,
                strikes=settings().strike_policy,
                reason=(request.form.get("note") or f"bulk {verdict.label.lower()}")[:2000],
                stack=request.form.get("confirm_stack") == "yes")
        if not done.ok:
            return redirect(url_for("queue.index"))

        enqueue_deliveries(result.delivery_ids)
        return redirect(url_for(".done", bulk_id=result.bulk_id))

    @expose("/<int:bulk_id>")
    def done(self, bulk_id: int) -> Any:
        operation = db.session.get(BulkOperation, bulk_id)
        if operation is None:
            abort(404)
        items = db.session.scalars(select(BulkOperationItem).where(
            BulkOperationItem.bulk_id == bulk_id).order_by(BulkOperationItem.case_id)).all()
        return self.render("console/bulk_done.html", operation=operation, items=items,
                           now=utcnow())

    @expose("/<int:bulk_id>/undo", methods=["POST"])
    def undo(self, bulk_id: int) -> Any:
        policy = case_policy(settings(), db.session)
        with form_work(BulkError, BulkAuthorityError) as done:
            result = undo_bulk(db.session, bulk_id, moderator_id=current_user.id,
                               role=current_user.role,
                               window=timedelta(minutes=settings().bulk_undo_minutes),
                               rescore=lambda s, ids: rescore_cases(s, ids, policy))
        if not done.ok:
            return redirect(url_for(".done", bulk_id=bulk_id))

        enqueue_deliveries(result.delivery_ids)
        flash(f"Undone: {len(result.reopened_case_ids)} cases reopened, "
              f"{len(result.lifted_action_ids)} actions lifted everywhere.", "success")
        return redirect(url_for(".done", bulk_id=bulk_id))


class ReportersView(ConsoleView):
    """Seniors mark reporters who abuse reporting (their reports then sink), or clear them."""

    permission = Permission.REPORTERS

    @expose("/")
    def index(self) -> Any:
        return self.render("console/reporters.html", marks=current_marks(db.session))

    @expose("/<int:account_id>", methods=["POST"])
    def mark(self, account_id: int) -> Any:
        change = mark_reporter if request.form.get("mark") == "1" else unmark_reporter
        with form_work(ReporterError, ReporterAuthorityError) as done:
            change(db.session, account_id, moderator_id=current_user.id,
                   role=current_user.role, reason=request.form.get("reason", ""),
                   policy=case_policy(settings(), db.session))
        if done.ok:
            flash("Reporter marked: their reports now sink." if change is mark_reporter
                  else "Mark cleared.", "success")
        return redirect(same_site_path(request.form.get("back")) or url_for(".index"))


class WellnessView(ConsoleView):
    """A moderator's own protections: media settings and handing off distressing work."""

    permission = Permission.OWN_ACCOUNT

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("account.index"))

    @expose("/preferences", methods=["POST"])
    def preferences(self) -> Any:
        names = Preferences.__dataclass_fields__
        update_preferences(db.session, current_user.id,
                           {name: request.form.get(name) == "1" for name in names})
        db.session.commit()
        flash("Media settings saved.", "success")
        return redirect(url_for("account.index"))

    @expose("/hand-off", methods=["POST"])
    def hand_off(self) -> Any:
        require(Permission.TRIAGE)

        if request.form.get("resume") == "1":
            resume(db.session, current_user.id)
            message = "Distressing cases will be offered to you again."
        else:
            done = hand_off(db.session, current_user.id,
                            settings().wellness_policy)
            message = (f"Handed off until {done.until:%H:%M} UTC; "
                       f"{len(done.released_case_ids)} claimed cases went back to the queue.")
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("queue.index"))
