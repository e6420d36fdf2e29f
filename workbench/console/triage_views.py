"""The moderators' day: the console home, the triage queue and the case page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_admin import AdminIndexView, expose
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.http import parse_range_header

from actions.bulk import BULK_ACTIONS
from actions.decisions import DecisionError, escalate_case
from actions.enforcement import ActionError, AuthorityError, reach
from actions.ladder import ladder_outlook
from actions.strikes import strike_summary
from queues.enforce import enqueue_deliveries
from workbench.cases import triage
from workbench.cases.learning import LearningPick, learning_pick, model_threshold
from workbench.cases.live_calls import call_states, live_calls_of_cases, lock_call
from workbench.cases.policy import CasePolicy, case_policy
from workbench.cases.reporters import accuracy, marked_reporters
from workbench.cases.view import in_force, load_case
from workbench.cases.wellness import excluded_categories, overview, preferences
from workbench.console import image_views
from workbench.console.access import (
    ConsoleView,
    Permission,
    allowed,
    desk_url,
    listened_lately,
    may_hear,
    require,
)
from workbench.console.acting import (
    BY_KEY,
    VerdictError,
    VerdictForm,
    carry_out,
    case_keys,
    default_reason,
    may_end_calls,
    offered,
    policy_reasons,
    queue_keys,
    welfare_policy,
)
from workbench.console.image_views import banks_offered
from workbench.console.params import id_field, parse_id, same_site_path
from workbench.console.validators import conditional_page
from workbench.current import settings
from workbench.enums import OPEN_CASE_STATUSES, ActionType, CaseStatus, Category, Role
from workbench.extensions import db
from workbench.models import Case, CaseNote, Moderator, Platform, Recording, utcnow
from workbench.models.audit import committed_id, record
from workbench.reporting import drawn
from workbench.storage import BlobStore, blob_store

#: Cases remembered for the "previous case" key.
HISTORY = 20


class HomeView(AdminIndexView):
    """Where the console opens: each role lands on its own desk."""

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        desk = desk_url(current_user.role)
        if desk is not None:
            return redirect(desk)
        return self.render("console/home.html")


def _filters() -> triage.QueueFilter:
    args = request.args
    platform_id = None
    if args.get("platform"):
        platform_id = db.session.scalar(select(Platform.id).where(
            Platform.slug == args["platform"]))
    assignee = args.get("assignee") or ""
    return triage.QueueFilter(
        queue=args.get("queue") or None,
        category=args.get("category") or None,
        platform_id=platform_id,
        language=args.get("language") or None,
        status=args.get("status") if args.get("status") in OPEN_CASE_STATUSES else None,
        assignee_id=current_user.id if assignee == "me" else (
            id_field(assignee, "assignee") if assignee != "none" else None),
        unassigned=assignee == "none",
    )


#: How old the queue chips' counts may be, in seconds. Counting the open cases took 45-65
#: ms of each queue page at 2,000,000 cases (300,000 open); every process shares one count.
QUEUE_DEPTHS_MAX_AGE_S = 10


def _queue_depths() -> dict[str, int]:
    """Open cases in each queue, counted at most ``QUEUE_DEPTHS_MAX_AGE_S`` ago."""
    def count() -> dict[str, int]:
        return {str(queue): int(n) for queue, n in db.session.execute(
            select(Case.queue, func.count(Case.id))
            .where(Case.status.in_(OPEN_CASE_STATUSES)).group_by(Case.queue)).all()}

    return dict(drawn.fetch("queue-depths", count, QUEUE_DEPTHS_MAX_AGE_S).body)


def _my_queues(policy: CasePolicy | None = None) -> list[str]:
    policy = policy or case_policy(settings(), db.session)
    return triage.eligible_queues(policy.routing_rules, current_user.languages)


class QueueView(ConsoleView):
    """Open cases by priority and due time, the live lane on top."""

    permission = Permission.TRIAGE

    @expose("/")
    def index(self) -> Any:
        after = None
        if request.args.get("after"):
            try:
                after = triage.Cursor.decode(request.args["after"])
            except ValueError:
                abort(400, "that queue position is not valid; start again from the top")
        filters = _filters()
        # Read once for the page, the live lane and the filters (a round trip each).
        slugs, policy = triage.platform_slugs(db.session), case_policy(settings(), db.session)
        page = triage.queue_page(db.session, filters, after=after,
                                 claim_lock=_claim_lock(), slugs=slugs)
        depths = _queue_depths()
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "after" and v}

        return self.render(
            "console/queue.html", page=page, depths=depths,
            **_live_lane([r for r in page.rows if r.live], slugs),
            queues=policy.queues, my_queues=_my_queues(policy),
            categories=[c.value for c in Category], statuses=OPEN_CASE_STATUSES,
            platforms=sorted(slugs.values()),
            args=args, next_url=url_for(".index", **args, after=page.next_cursor)
            if page.next_cursor else None,
            wellness=overview(db.session, current_user.id,
                              settings().wellness_policy),
            can_bulk=allowed(Permission.BULK), verdicts=offered(current_user.role),
            bulk_actions=BULK_ACTIONS, undo_minutes=settings().bulk_undo_minutes)

    @expose("/live")
    def live(self) -> Any:
        """The live lane alone, which the queue page polls (304 while it is unchanged)."""
        return conditional_page(render_template("console/_live_lane.html", **_live_lane([])))

    @expose("/next", methods=["POST"])
    def next(self) -> Any:
        """Claim the most urgent free case in my queues and open it."""
        queue = request.form.get("queue") or None
        limit, releases = settings().claims_per_moderator, settings().claim_next_releases
        if not releases:
            try:
                triage.room_for_claim(db.session, current_user.id, limit)
            except triage.ClaimError as exc:
                return _refused_claim(str(exc))
        case_id = triage.claim_next(
            db.session, current_user.id, current_user.role, queues=_my_queues(),
            claim_lock=_claim_lock(), queue=queue,
            exclude_categories=_excluded_categories(), learning=_learning_pick())
        released = triage.release_beyond(db.session, current_user.id, case_id, limit) \
            if case_id is not None else []
        db.session.commit()
        _flash_released(released)
        if case_id is None:
            flash("Nothing left to claim in your queues.", "info")
            return redirect(url_for(".index"))
        return redirect(url_for("case.view", case_id=case_id))


def _live_lane(table_rows: list[Any], slugs: dict[int, str] | None = None) -> dict[str, Any]:
    """What the live lane draws (calls in progress and just ended, at most ten), the
    calls of ``table_rows`` too, and the queue's keys as they stand with those calls."""

    live = triage.queue_page(db.session, triage.QueueFilter(queue="live"), limit=10,
                             claim_lock=_claim_lock(), slugs=slugs).rows
    reasons = policy_reasons(settings())
    calls = live_calls_of_cases(db.session, [r.id for r in live + table_rows if r.live])
    can_end = may_end_calls(current_user.role)
    return {"live": live, "live_calls": calls, "can_end_calls": can_end, "reasons": reasons,
            "end_reasons": {r.id: default_reason(r.primary_category, reasons)
                            for r in live + table_rows if r.id in calls},
            "keys": queue_keys(can_end_calls=can_end
                               and any(c.can_end for c in calls.values()))}


def _learning_pick() -> LearningPick | None:
    """Whether this claim goes to the least certain case (``settings.learning_share``)."""
    config = settings()
    if config.learning_share <= 0:
        return None
    return learning_pick(config.learning_share,
                         model_threshold(config.model_dir, config.text_model))


def _flash_released(released: list[int]) -> None:
    if released:
        flash("Given back to the queue first: " + ", ".join(f"case {i}" for i in released)
              + " (one case at a time).", "info")


def _refused_claim(message: str) -> Any:
    return render_template("console/refused.html", title="Finish your case first",
                           message=message, back=url_for("queue.index")), 409


def _holder_text(case: Case) -> str:
    """Who holds a case and since when, for a page that says why nothing happened."""
    holder = db.session.get(Moderator, case.assignee_id) if case.assignee_id else None
    if holder is None or case.status != CaseStatus.CLAIMED.value:
        return f"Case {case.id} is {case.status}; nothing was changed."
    since = f" since {case.claimed_at:%H:%M} UTC" if case.claimed_at else ""
    return (f"Case {case.id} is held by {holder.display_name or holder.email}{since}; "
            "nothing was changed. It can be decided once they release it or their claim "
            "lapses.")


def _claim_lock() -> Any:
    return timedelta(minutes=settings().claim_lock_minutes)


def _excluded_categories() -> frozenset[str]:
    """Categories this moderator has handed off for today (wellness), if that exists."""
    return frozenset(excluded_categories(db.session, current_user.id))


def _remember(case_id: int) -> None:
    seen = [c for c in session.get("recent_cases", []) if c != case_id]
    session["recent_cases"] = ([case_id] + seen)[:HISTORY]


class CaseView(ConsoleView):
    """One case: the context, the person across the group, and the decision."""

    permission = Permission.READ_CASES

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("queue.index"))

    @expose("/<int:case_id>")
    def view(self, case_id: int) -> Any:
        me = current_user.id
        row = db.session.execute(select(Case.assignee_id, Case.status)
                                 .where(Case.id == case_id)).first()
        if row is None:
            abort(404)
        holding = row.assignee_id == me and row.status == CaseStatus.CLAIMED.value
        if holding:
            triage.touch(db.session, case_id, me)
        # The page's images are revealed within this viewing (audited once each).
        viewed = record(db.session, "case.viewed", "case", case_id, actor_type="moderator",
                        actor_id=str(me))
        # Committed before reading the case: a commit expires every loaded row, and the
        # page would then reload each one as the template touches it.
        db.session.commit()
        viewing = committed_id(viewed)
        ctx = load_case(db.session, case_id,
                        severity=case_policy(settings(), db.session).severity_of)
        if ctx is None:
            abort(404)
        _remember(case_id)
        reasons = policy_reasons(settings())
        person_reach = reach(db.session, ctx.person.id)
        assignee = db.session.get(Moderator, ctx.case.assignee_id) \
            if ctx.case.assignee_id else None

        reporter_ids = {r.Report.reporter_account_id for r in ctx.reports
                        if r.Report.reporter_account_id}
        held_elsewhere = (ctx.case.status == CaseStatus.CLAIMED.value and not holding
                          and ctx.case.assignee_id is not None
                          and (ctx.case.last_activity_at or ctx.case.claimed_at or utcnow())
                          >= utcnow() - _claim_lock())
        welfare = welfare_policy(settings())
        welfare_case = welfare.applies(set(ctx.case.categories or {}) | {ctx.lead_category})
        verdicts = [v for v in offered(current_user.role)
                    if v.action is not ActionType.WELFARE_CHECK or welfare_case]
        is_open = ctx.case.status in OPEN_CASE_STATUSES and not held_elsewhere
        can_end_call = may_end_calls(current_user.role) and ctx.live_call_id is not None
        images_shown = image_views.images_shown(db.session, current_user.role, case_id)
        return self.render(
            "console/case.html", ctx=ctx, holding=holding, assignee=assignee,
            strikes=strike_summary(db.session, ctx.person.id,
                                   settings().strike_policy),
            ladder=ladder_outlook(db.session, ctx.person.id,
                                  settings().strike_policy),
            reporters=accuracy(db.session, reporter_ids),
            marked=marked_reporters(db.session, reporter_ids),
            can_mark=allowed(Permission.REPORTERS),
            prefs=preferences(db.session, me),
            can_act=allowed(Permission.TRIAGE), verdicts=verdicts,
            welfare_case=welfare_case, helplines=welfare.helplines,
            reasons=reasons, default_reason="" if welfare_case
            else default_reason(ctx.lead_category, reasons),
            person_reach=person_reach.describe(), reach_accounts=person_reach.accounts,
            in_force=in_force(ctx.actions),
            previous=_previous(case_id),
            keys=case_keys(verdicts, can_triage=allowed(Permission.TRIAGE),
                           can_act=allowed(Permission.TRIAGE) and is_open,
                           live_call=can_end_call,
                           images=images_shown and bool(ctx.images.reported
                                                        or ctx.images.frames)),
            can_end_call=can_end_call, is_open=is_open, held_elsewhere=held_elsewhere,
            viewing=viewing, images_shown=images_shown,
            banks=banks_offered(db.session) if allowed(Permission.BANK_IMAGES) else [])

    @expose("/<int:case_id>/act", methods=["POST"])
    def act(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        case = db.session.get(Case, case_id)
        if case is None:
            abort(404)
        target_id = id_field(request.form.get("target_id"), "target_id")
        if not triage.try_claim(db.session, case_id, current_user.id, current_user.role,
                                _claim_lock()):
            db.session.rollback()
            return _refused(case_id, _holder_text(case), 409, title="Held by someone else")
        form = VerdictForm(
            key=request.form.get("decision", ""),
            policy_reason=request.form.get("policy_reason", ""),
            note_to_user=(request.form.get("note_to_user") or "").strip()[:2000] or None,
            facts=(request.form.get("facts") or "").strip()[:5000] or None,
            target_kind=request.form.get("target_kind") or None,
            target_id=target_id,
            why_not_welfare=(request.form.get("why_not_welfare") or "").strip()[:2000] or None,
            confirm_stack=request.form.get("confirm_stack") == "yes")
        if form.key == "end_call" and not _call_to_end(form):
            db.session.rollback()
            return _refused(case_id, "That call is already being ended (someone decided to "
                            "end it), or it is over. Nothing was sent again.", 409,
                            title="Call already ending")
        try:
            outcome = carry_out(db.session, case_id, case.person_id, form,
                                moderator_id=current_user.id, role=current_user.role,
                                reasons=policy_reasons(settings()),
                                category=case.primary_category,
                                strikes=settings().strike_policy,
                                welfare=welfare_policy(settings()))
        except AuthorityError as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 403)
        except (VerdictError, DecisionError, ActionError) as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 422)
        db.session.commit()

        enqueue_deliveries(outcome.delivery_ids)
        flash(_done_message(form.key, outcome.delivery_ids), "success")
        if outcome.strike_step is not None:
            flash(f"Strikes: {outcome.strike_step.active_strikes} in force, so "
                  f"{outcome.strike_step.describe()}.", "info")
        if outcome.proposal_case_id is not None:
            flash(f"Case {outcome.proposal_case_id} puts the proposed step to a senior.", "info")
        # Ending a call from the queue goes back to the queue, where the call shows "ending".
        return redirect(same_site_path(request.form.get("back"))
                        or url_for(".view", case_id=case_id))

    @expose("/<int:case_id>/escalate", methods=["POST"])
    def escalate(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        reason = (request.form.get("reason") or "").strip()[:2000]
        if current_user.role != Role.SENIOR.value and not triage.try_claim(
                db.session, case_id, current_user.id, current_user.role, _claim_lock()):
            db.session.rollback()
            return _refused(case_id, "Another moderator holds this case, or it is no longer "
                            "open; only the one holding it, or a senior, may escalate it. "
                            "Nothing was changed.", 409)
        try:
            escalate_case(db.session, case_id, moderator_id=current_user.id,
                          role=current_user.role, reason=reason)
        except AuthorityError as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 403)
        except DecisionError as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 422)
        db.session.commit()
        flash("Escalated to the seniors.", "success")
        return redirect(url_for("queue.index"))

    @expose("/<int:case_id>/note", methods=["POST"])
    def note(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        text = (request.form.get("text") or "").strip()[:5000]
        if not text or db.session.get(Case, case_id) is None:
            return _refused(case_id, "a note needs some text", 422)
        db.session.add(CaseNote(case_id=case_id, moderator_id=current_user.id, text=text))
        triage.touch(db.session, case_id, current_user.id)
        record(db.session, "case.noted", "case", case_id, actor_type="moderator",
               actor_id=str(current_user.id))
        db.session.commit()
        return redirect(url_for(".view", case_id=case_id) + "#notes")

    @expose("/<int:case_id>/claim", methods=["POST"])
    def claim(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        limit, releases = settings().claims_per_moderator, settings().claim_next_releases
        if not releases and case_id not in triage.held_by(db.session, current_user.id):
            try:
                triage.room_for_claim(db.session, current_user.id, limit)
            except triage.ClaimError as exc:
                return _refused_claim(str(exc))
        ok = triage.try_claim(db.session, case_id, current_user.id, current_user.role,
                              _claim_lock())
        released = triage.release_beyond(db.session, current_user.id, case_id, limit) \
            if ok else []
        db.session.commit()
        _flash_released(released)
        if not ok:
            case = db.session.get(Case, case_id)
            flash(_holder_text(case) if case else "No such case.", "error")
        return redirect(url_for(".view", case_id=case_id))

    @expose("/<int:case_id>/release", methods=["POST"])
    def release(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        try:
            triage.release(db.session, case_id, current_user.id)
        except triage.ClaimError as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 409)
        db.session.commit()
        flash(f"Case {case_id} is back in its queue.", "info")
        return redirect(url_for("queue.index"))

    @expose("/<int:case_id>/reassign", methods=["POST"])
    def reassign(self, case_id: int) -> Any:
        require(Permission.TRIAGE)
        to = request.form.get("to", "")
        try:
            triage.reassign(db.session, case_id, from_id=current_user.id,
                            to_id=parse_id(to) or 0,
                            reason=(request.form.get("reason") or "")[:2000])
        except triage.ClaimError as exc:
            db.session.rollback()
            return _refused(case_id, str(exc), 422)
        db.session.commit()
        flash("Case handed over.", "success")
        return redirect(url_for("queue.index"))

    @expose("/<int:case_id>/colleagues")
    def colleagues(self, case_id: int) -> Any:
        """Who the case can be handed to, for the reassign panel (asked for when it is
        opened: with hundreds of moderators the list was most of the case page); those
        who read the case's language first, then by name."""
        require(Permission.TRIAGE)
        case = db.session.execute(select(Case.language).where(Case.id == case_id)).first()
        if case is None:
            abort(404)
        language = case.language
        rows = db.session.execute(select(
            Moderator.id, Moderator.display_name, Moderator.email, Moderator.role,
            Moderator.languages).where(
            Moderator.active, Moderator.role.in_((Role.MODERATOR.value, Role.SENIOR.value)),
            Moderator.id != current_user.id).order_by(Moderator.display_name, Moderator.id))
        ranked = sorted(rows, key=lambda r: language not in (r.languages or []))
        return jsonify({"language": language, "colleagues": [
            {"id": r.id, "label": f"{r.display_name or r.email} ({r.role}; "
                                  f"{', '.join(r.languages or [])})"} for r in ranked]})

    @expose("/<int:case_id>/touch", methods=["POST"])
    def heartbeat(self, case_id: int) -> Any:
        """The page is in use: keep the claim from lapsing."""
        require(Permission.TRIAGE)
        held = triage.touch(db.session, case_id, current_user.id)
        db.session.commit()
        return jsonify(holding=held)

    @expose("/previous/<int:case_id>")
    def previous(self, case_id: int) -> Any:
        target = _previous(case_id)
        if target is None:
            flash("No earlier case in this session.", "info")
            return redirect(url_for(".view", case_id=case_id))
        return redirect(url_for(".view", case_id=target))

    @expose("/<int:case_id>/image/<int:image_id>")
    def image(self, case_id: int, image_id: int) -> Any:
        """An image of this case, unblurred: the moderator chose to look (audited)."""
        return image_views.serve_image(case_id, image_id)

    @expose("/<int:case_id>/image/<int:image_id>/blurred")
    def image_blurred(self, case_id: int, image_id: int) -> Any:
        return image_views.serve_blurred(case_id, image_id)

    @expose("/<int:case_id>/image/<int:image_id>/bank", methods=["POST"])
    def bank_image(self, case_id: int, image_id: int) -> Any:
        require(Permission.BANK_IMAGES)
        return image_views.bank_image(case_id, image_id)

    @expose("/recording/<int:recording_id>/audio")
    def audio(self, recording_id: int) -> Any:
        """The original recording, streamed for the page's audio player."""
        recording = db.session.get(Recording, recording_id)
        if recording is None or not may_hear(db.session, current_user.role, recording_id):
            abort(404)  # as if there were none: ids are sequential, so do not confirm one
        # Audited before any byte is sent, whatever range is asked: once per listening
        # session, so the player's seeking (more ranges) is the same listen.
        if not listened_lately(db.session, current_user.id, recording_id):
            record(db.session, "recording.played", "recording", recording_id,
                   actor_type="moderator", actor_id=str(current_user.id),
                   data={"range": request.headers.get("Range", "")[:100] or None})
        db.session.commit()
        mimetype = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}.get(
            recording.format, "application/octet-stream")
        return _audio_response(blob_store(settings()), recording.blob_sha256,
                               recording.size_bytes, mimetype)


def _audio_response(store: BlobStore, sha256: str, size: int, mimetype: str) -> Any:
    """The blob, whole or the one byte range asked for, so the player can seek.

    A blob is named by its hash and never changes, so its hash is its ETag and an
    ``If-Range`` with any other tag gets the whole blob.
    """

    wanted = parse_range_header(request.headers.get("Range"))
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip('"') != sha256:
        wanted = None
    span = wanted.range_for_length(size) if wanted is not None else None
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{sha256}"',
               "Cache-Control": "private, no-store"}
    if wanted is not None and span is None:
        return Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, stop = span if span is not None else (0, size)
    stream = store.open_range(sha256, start, stop) if span else store.open(sha256)

    def chunks() -> Any:
        left = stop - start
        with stream:
            while left > 0:
                block = stream.read(min(1024 * 1024, left))
                if not block:
                    return
                left -= len(block)
                yield block

    response = Response(chunks(), status=206 if span else 200, mimetype=mimetype,
                        headers=headers, direct_passthrough=True)
    response.content_length = stop - start
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return response


def _call_to_end(form: VerdictForm) -> bool:
    """Whether the call named in an end-call form is in progress and not decided yet; the
    call stays locked until this request commits its decision or rolls back."""

    if form.target_kind != "call" or form.target_id is None:
        return True  # carry_out says what is missing
    lock_call(db.session, form.target_id)
    state = call_states(db.session, [form.target_id]).get(form.target_id)
    return state is None or state.can_end


def _previous(case_id: int) -> int | None:
    recent = session.get("recent_cases", [])
    later = recent[recent.index(case_id) + 1:] if case_id in recent else recent
    return later[0] if later else None


def _refused(case_id: int, message: str, status: int, title: str | None = None) -> Any:
    """Say why nothing was done, with the status a script can check."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error={"code": "refused", "message": message}), status

    return render_template("console/refused.html", message=message, title=title,
                           back=url_for("case.view", case_id=case_id)), status


def _done_message(key: str, deliveries: list[int]) -> str:
    label = BY_KEY[key].label
    if not deliveries:
        return f"Done: {label.lower()}."
    return f"Done: {label.lower()}. {len(deliveries)} deliveries queued to the platforms."
