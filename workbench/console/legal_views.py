"""The legal team's desk: requests by time left, holds, evidence bundles, erasure, transparency.

Every view of these pages is an audit event; every export, download, hold and request
is recorded by the domain code it calls.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

from actions.erasure import (
    ErasureError,
    blocking_reasons,
    export_personal_data,
    file_erasure_request,
)
from actions.evidence.custody import EvidenceError, custody_log, record_download, request_export
from actions.evidence.scope import ScopeError, parse_account_ref
from actions.holds import HoldError, place_hold, release_hold
from actions.legal_requests import (
    LegalRequestIn,
    by_time_left,
    close_legal_request,
    record_legal_request,
)
from queues.legal import enqueue_export
from workbench.cases.names import NameLookupError, account_names, find_person, person_names
from workbench.console.access import ConsoleView, Permission
from workbench.console.forms import form_work
from workbench.console.params import parse_id
from workbench.console.text import viewer_zone
from workbench.console.validators import conditional_page, conditional_part
from workbench.current import settings
from workbench.extensions import db
from workbench.models import (
    Account,
    ErasureRequest,
    EvidenceExport,
    LegalHold,
    LegalRequest,
    utcnow,
)
from workbench.models.audit import record
from workbench.models.legal import AuthorityType, LegalAsk, LegalRequestStatus
from workbench.rules.legal_deadlines import LegalRequestError
from workbench.storage import blob_store

PAGE = 50
_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(*parts: object, suffix: str) -> str:
    """A download's name from its parts: letters, digits, dot, dash and underscore only
    (a request reference such as "FIR 12/2026" becomes "FIR-12-2026")."""
    joined = "-".join(_UNSAFE_IN_FILE_NAMES.sub("-", str(p)).strip("-.") for p in parts)
    return (joined[:150] or "download") + suffix


def _audit_view(what: str, object_id: object = None) -> None:
    record(db.session, f"legal.viewed.{what}", "legal_page", object_id, actor_type="moderator",
           actor_id=str(current_user.id))
    db.session.commit()


def _subject(kind: str, ref: str) -> dict[str, Any]:
    """A hold's or request's subject from the form: a person, a case, or SLUG:USER_ID."""
    ref = ref.strip()
    if not kind or not ref:
        return {}
    if kind == "account":
        try:
            return {"account_id": parse_account_ref(db.session, ref)}
        except ScopeError as exc:
            raise HoldError(str(exc)) from None
    if kind == "person":
        try:
            return {"person_id": find_person(db.session, ref)}
        except NameLookupError as exc:
            raise HoldError(str(exc)) from None
    subject_id = parse_id(ref)
    if kind != "case" or subject_id is None:
        raise HoldError("name a case by number, a person by number or username, or an "
                        "account as SLUG:USER_ID")
    return {"case_id": subject_id}


def _names(*rows: Any) -> dict[str, dict[int, str]]:
    """Names for the people and accounts the desk's tables mention (their ``person_id``
    and ``account_id``, and an evidence bundle's person or account scope)."""
    people: set[int] = set()
    accounts: set[int] = set()
    for table in rows:
        for row in table:
            people.add(getattr(row, "person_id", None) or 0)
            accounts.add(getattr(row, "account_id", None) or 0)
            scope = getattr(row, "scope", None)
            if scope == "person":
                people.add(row.scope_id)
            elif scope == "account":
                accounts.add(row.scope_id)
    return {"person": person_names(db.session, people - {0}),
            "account": account_names(db.session, accounts - {0})}


def _when(raw: str | None) -> datetime | None:
    """A ``datetime-local`` field, read in the moderator's time zone (the one the console
    shows them every time in), stored in UTC."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise HoldError(f"{raw!r} is not a date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=viewer_zone())
    return value.astimezone(UTC)


class LegalView(ConsoleView):
    """Requests from police, courts and government; holds; evidence; erasure."""

    permission = Permission.LEGAL

    @expose("/")
    def index(self) -> Any:
        _audit_view("desk")
        erasures = db.session.scalars(select(ErasureRequest).order_by(ErasureRequest.due_at)
                                      .limit(PAGE)).all()
        # What a request still waiting would be blocked by now, before its next attempt.
        waits = {e.id: e.blocked_reason or "; ".join(blocking_reasons(db.session, e))
                 for e in erasures if e.status in ("pending", "blocked")}
        requests = by_time_left(db.session)
        holds = db.session.scalars(select(LegalHold).where(LegalHold.released_at.is_(None))
                                   .order_by(LegalHold.created_at.desc()).limit(PAGE)).all()
        exports = db.session.scalars(select(EvidenceExport)
                                     .order_by(EvidenceExport.id.desc()).limit(PAGE)).all()
        return self.render(
            "console/legal.html", requests=requests, erasure_waits=waits, holds=holds,
            exports=exports, erasures=erasures,
            names=_names([item.request for item in requests], holds, exports, erasures),
            authority_types=[a.value for a in AuthorityType], asks=[a.value for a in LegalAsk],
            deadlines=settings().deadline_table,
            closing=[s.value for s in LegalRequestStatus if s != LegalRequestStatus.OPEN],
            now=utcnow())

    @expose("/requests", methods=["POST"])
    def new_request(self) -> Any:
        form = request.form
        with form_work(LegalRequestError, HoldError) as done:
            subject = _subject(form.get("subject_kind", ""), form.get("subject_ref", ""))
            received = _when(form.get("received_at")) or utcnow()
            item = LegalRequestIn(
                authority_type=form.get("authority_type", ""),
                authority=form.get("authority", ""), reference=form.get("reference", ""),
                received_at=received, asks=form.getlist("asks"),
                details=(form.get("details") or "").strip()[:5000] or None, **subject)
            legal = record_legal_request(db.session, item, recorded_by_id=current_user.id,
                                         table=settings().deadline_table)
        if done.ok:
            flash(f"Request {legal.reference} recorded; due {legal.due_at:%Y-%m-%d %H:%M} UTC"
                  + (" and a hold placed." if legal.hold_id else "."), "success")
        return redirect(url_for(".index"))

    @expose("/requests/<int:request_id>/close", methods=["POST"])
    def close_request(self, request_id: int) -> Any:
        with form_work(ValueError, LegalRequestError) as done:
            close_legal_request(db.session, request_id,
                                outcome=LegalRequestStatus(request.form.get("outcome", "")),
                                closed_by_id=current_user.id,
                                note=(request.form.get("note") or "").strip()[:5000])
        if done.ok:
            flash("Request closed.", "success")
        return redirect(url_for(".index"))

    @expose("/holds", methods=["POST"])
    def new_hold(self) -> Any:
        form = request.form
        with form_work(HoldError) as done:
            subject = _subject(form.get("subject_kind", ""), form.get("subject_ref", ""))
            if not subject:
                raise HoldError("name what the hold covers")
            place_hold(db.session, reason=form.get("reason", ""),
                       reference=form.get("reference", ""), placed_by_id=current_user.id,
                       until=_when(form.get("until")), **subject)
        if done.ok:
            flash("Hold placed: nothing it covers will be deleted.", "success")
        return redirect(url_for(".index"))

    @expose("/holds/<int:hold_id>/release", methods=["POST"])
    def end_hold(self, hold_id: int) -> Any:
        with form_work(HoldError) as done:
            if request.form.get("confirm") != "yes":
                raise HoldError("confirm that the hold may end: what it covers can then "
                                "be deleted")
            release_hold(db.session, hold_id, released_by_id=current_user.id,
                         note=(request.form.get("note") or "")[:2000])
        if done.ok:
            flash("Hold released.", "success")
        return redirect(url_for(".index"))

    @expose("/exports", methods=["POST"])
    def new_export(self) -> Any:
        form = request.form
        scope = form.get("scope", "")
        ref = (form.get("scope_ref") or "").strip()
        with form_work(EvidenceError) as done:
            number = parse_id(ref)
            if scope == "person" and number is None:
                try:
                    number = find_person(db.session, ref)
                except NameLookupError as exc:
                    raise EvidenceError(str(exc)) from None
            if number is None and ":" not in ref:
                raise EvidenceError(f"{ref[:40]!r}: give a case by number, a person by number "
                                    "or username, or an account as SLUG:USER_ID")
            legal = _legal_request(form.get("legal_request_id", ""))
            request_ref = form.get("request_ref", "").strip() or (legal.reference if legal
                                                                   else "")
            export = request_export(db.session, scope, ref if number is None else number,
                                    form.get("reason", ""), request_ref, current_user.id,
                                    legal_request_id=legal.id if legal else None)
        if not done.ok:
            return redirect(url_for(".index"))

        enqueue_export(export.id)
        return redirect(url_for(".export", export_id=export.id))

    @expose("/exports/<int:export_id>")
    def export(self, export_id: int) -> Any:
        export = db.session.get(EvidenceExport, export_id)
        if export is None:
            abort(404)
        _audit_view("export", export_id)
        return self.render("console/legal_export.html", export=export,
                           custody=custody_log(db.session, export_id))

    @expose("/exports/<int:export_id>/progress")
    def progress(self, export_id: int) -> Any:
        export = db.session.get(EvidenceExport, export_id)
        if export is None:
            abort(404)
        return jsonify(status=export.status, progress=export.progress, error=export.error,
                       sha256=export.archive_sha256)

    @expose("/exports/<int:export_id>/download", methods=["POST"])
    def download(self, export_id: int) -> Any:
        """Hand the bundle over; the download is logged in its chain of custody first."""
        how = (request.form.get("how") or "console download").strip()[:2000]
        with form_work(EvidenceError) as done:
            record_download(db.session, export_id, current_user.id, how)
        if not done.ok:
            return redirect(url_for(".export", export_id=export_id))
        export = db.session.get_one(EvidenceExport, export_id)

        stream = blob_store(settings()).open(export.archive_sha256 or "")
        return send_file(stream, mimetype="application/zip", as_attachment=True,
                         download_name=file_name("evidence", export_id, export.request_ref,
                                                 suffix=".zip"),
                         etag=export.archive_sha256 or False, max_age=0)

    @expose("/exports/<int:export_id>/certificate", methods=["POST"])
    def certificate(self, export_id: int) -> Any:
        """The draft certificate kept beside the bundle, to be completed and signed."""
        export = db.session.get(EvidenceExport, export_id)
        if export is None or not export.certificate_sha256:
            abort(404)
        record(db.session, "evidence.certificate_downloaded", "evidence_export", export_id,
               actor_type="moderator", actor_id=str(current_user.id),
               data={"certificate_sha256": export.certificate_sha256})
        db.session.commit()

        stream = blob_store(settings()).open(export.certificate_sha256)
        return send_file(stream, mimetype="text/plain", as_attachment=True,
                         download_name=file_name("certificate", export_id, export.request_ref,
                                                 suffix=".txt"),
                         etag=export.certificate_sha256, max_age=0)

    @expose("/erasures", methods=["POST"])
    def new_erasure(self) -> Any:
        form = request.form
        with form_work(ErasureError, HoldError) as done:
            subject = _subject(form.get("subject_kind", ""), form.get("subject_ref", ""))
            subject.pop("case_id", None)
            file_erasure_request(db.session, reference=(form.get("reference") or None),
                                 recorded_by_id=current_user.id, **subject)
        if done.ok:
            flash("Erasure request recorded; it runs when nothing blocks it.", "success")
        return redirect(url_for(".index"))

    @expose("/access/<int:person_id>", methods=["POST"])
    def data_access(self, person_id: int) -> Any:
        """A person's own data, for a data access request."""
        with form_work(ErasureError) as done:
            data = export_personal_data(db.session, person_id, requested_by_id=current_user.id)
        if not done.ok:
            return redirect(url_for(".index"))
        return Response(data, mimetype="application/zip", headers={
            "Content-Disposition": "attachment; filename="
                                   + file_name("person", person_id, "data", suffix=".zip")})

    @expose("/access", methods=["POST"])
    def data_access_by_ref(self) -> Any:
        """The desk's data-access form: a person by number or username, or an account as
        SLUG:USER_ID."""
        with form_work(HoldError) as done:
            subject = _subject(request.form.get("subject_kind", ""),
                               request.form.get("subject_ref", ""))
            person_id = subject.get("person_id")
            if "account_id" in subject:
                person_id = db.session.get_one(Account, subject["account_id"]).person_id
            if person_id is None:
                raise HoldError("name a person by number or username, or an account as "
                                "SLUG:USER_ID")
        if not done.ok:
            return redirect(url_for(".index"))
        return self.data_access(person_id)


def _legal_request(raw: str) -> LegalRequest | None:
    """The legal request an export answers, from the form (none chosen: ``None``)."""
    if not raw:
        return None
    number = parse_id(raw)
    legal = db.session.get(LegalRequest, number) if number is not None else None
    if legal is None:
        raise EvidenceError("that legal request does not exist")
    return legal


def _month() -> tuple[int, int]:
    raw = request.args.get("month", "")
    now = utcnow()
    try:
        year, month = (int(x) for x in raw.split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return now.year, now.month


class TransparencyView(ConsoleView):
    """The monthly transparency and compliance report, with its charts and downloads.

    The report is drawn by the periodic job (or by the first view of a month nobody
    drew) and kept for every process (``workbench.reporting.transparency.published_report``), so a
    view reads it; the page says how old it is.
    """

    permission = Permission.LEGAL

    def _report(self) -> tuple[Any, str]:
        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.transparency import published_report

        year, month = _month()
        return published_report(db.session, year, month,
                                deadline_hours=None), f"{year:04d}-{month:02d}"

    @expose("/")
    def index(self) -> Any:
        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.transparency import CHART_NAMES, REPORT_MAX_AGE_S, REPORT_REFRESH_S

        drawn, month = self._report()
        _audit_view("transparency", month)
        return conditional_page(self.render(
            "console/transparency.html", report=drawn.body["report"], month=month,
            charts=CHART_NAMES, version=drawn.etag, as_of=drawn.as_of,
            refresh_minutes=REPORT_REFRESH_S // 60, max_age_minutes=REPORT_MAX_AGE_S // 60),
            drawn.as_of)

    @expose("/report.<fmt>")
    def download(self, fmt: str) -> Any:
        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.transparency import report_csv, report_json

        drawn, month = self._report()
        if fmt not in {"csv", "json"}:
            abort(404)
        report = drawn.body["report"]
        body = report_csv(report) if fmt == "csv" else report_json(report)
        response = Response(body, mimetype="text/csv" if fmt == "csv" else "application/json",
                            headers={"Content-Disposition":
                                     f"attachment; filename=transparency-{month}.{fmt}"})
        return conditional_part(response, f"{drawn.etag}-{fmt}", drawn.as_of, 60)

    # Not "name": Flask-Admin's view handler takes that argument itself.
    @expose("/chart/<chart_name>.svg")
    def chart(self, chart_name: str) -> Any:
        drawn, _month_key = self._report()
        svg = drawn.body["charts"].get(chart_name)
        if svg is None:
            abort(404)
        # The page names the report's version in the chart's address: kept five minutes.
        return conditional_part(svg_response(svg), f"{drawn.etag}-{chart_name}",
                                drawn.as_of, 300)

    @expose("/statements.jsonl")
    def statements(self) -> Any:
        """Statements of reasons in the DSA transparency database's fields, no personal data."""

        # Heavy: imported on first use, not when the module loads.
        from workbench.reporting.transparency import dsa_statements

        def lines() -> Any:
            for statement in dsa_statements(db.session):
                yield json.dumps(statement, sort_keys=True) + "\n"

        _audit_view("statements_export")
        return Response(stream_with_context(lines()), mimetype="application/x-ndjson", headers={
            "Content-Disposition": "attachment; filename=statements-of-reasons.jsonl"})


def svg_response(svg: str) -> Response:
    """A chart drawn on the server, served as an image (its own styles, no script)."""
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
