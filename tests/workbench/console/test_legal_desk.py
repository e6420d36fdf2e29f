"""The legal desk in the console: requests with deadlines, holds, evidence with custody."""

from __future__ import annotations

import io
import zipfile

from flask import Flask
from sqlalchemy import select

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.jobs import run_jobs
from workbench.extensions import db
from workbench.models import AuditEvent, EvidenceExport, LegalHold, LegalRequest

DESK = "/admin/legal/"


def test_a_preservation_request_gets_its_deadline_and_a_hold(app: Flask, world: World,
                                                             signed_in) -> None:
    legal = signed_in("legal")
    response = post_form(legal, "/admin/legal/requests", {
        "authority_type": "police", "authority": "Cyber Crime PS <b>Pune</b>",
        "reference": "FIR 77/2026", "asks": "preserve", "subject_kind": "person",
        "subject_ref": str(world.person_id)}, page=DESK)
    assert response.status_code == 302
    with app.app_context():
        request = db.session.scalars(select(LegalRequest)).one()
        hold = db.session.scalars(select(LegalHold)).one()
    assert request.hold_id == hold.id and hold.person_id == world.person_id
    assert request.due_at > request.received_at
    page = legal.get(DESK).get_data(as_text=True)
    assert "FIR 77/2026" in page and "left" in page
    assert "&lt;b&gt;Pune&lt;/b&gt;" in page  # what the form was given is shown as text


def test_an_evidence_bundle_is_built_and_each_download_logged(app: Flask, world: World,
                                                              signed_in) -> None:
    legal = signed_in("legal")
    response = post_form(legal, "/admin/legal/exports", {
        "scope": "case", "scope_ref": str(world.case_id), "reason": "s.94 BNSS notice",
        "request_ref": "FIR 77/2026"}, page=DESK)
    assert response.status_code == 302
    export_page = response.headers["Location"]
    run_jobs(app)
    with app.app_context():
        export = db.session.scalars(select(EvidenceExport)).one()
        assert export.status == "done" and export.progress == 100
    progress = legal.get(f"{export_page}/progress").get_json()
    assert progress["status"] == "done" and progress["sha256"] == export.archive_sha256
    assert export.archive_sha256 in legal.get(export_page).get_data(as_text=True)
    download = post_form(legal, f"{export_page}/download", {"how": "console download"},
                         page=export_page)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert any(n.endswith("manifest-sha256.txt") for n in names)
    import hashlib

    assert hashlib.sha256(download.data).hexdigest() == export.archive_sha256
    with app.app_context():
        verbs = db.session.scalars(select(AuditEvent.verb).where(
            AuditEvent.object_type == "evidence_export")).all()
    assert "evidence.downloaded" in verbs
    assert "console download" in legal.get(export_page).get_data(as_text=True)


def test_the_transparency_report_renders_with_charts_and_downloads(
        app: Flask, world: World, signed_in) -> None:
    legal = signed_in("legal")
    page = legal.get("/admin/transparency/").get_data(as_text=True)
    assert "reports received" in page and "grievances" in page
    chart = legal.get("/admin/transparency/chart/reports_by_category.svg")
    assert chart.mimetype == "image/svg+xml" and b"<svg" in chart.data
    csv = legal.get("/admin/transparency/report.csv")
    assert csv.mimetype == "text/csv" and b"reports_received" in csv.data


def test_a_refused_form_says_why_and_stores_nothing(app: Flask, world: World,
                                                    signed_in) -> None:
    from workbench.models import ErasureRequest

    legal = signed_in("legal")
    refusals = [
        ("/admin/legal/holds", {"reason": "preserve", "reference": "R-1"},
         "name what the hold covers"),
        ("/admin/legal/erasures", {"subject_kind": "", "subject_ref": ""},
         "an erasure request names a person or an account"),
        ("/admin/legal/requests", {"authority_type": "police", "authority": "PS",
                                   "reference": "FIR 1", "asks": "summon"},
         "asks must name preserve, disclose and/or takedown"),
    ]
    for path, data, why in refusals:
        response = post_form(legal, path, data, page=DESK)
        assert response.status_code == 302 and response.headers["Location"].endswith(DESK)
        assert why in legal.get(DESK).get_data(as_text=True), path
    with app.app_context():
        for model in (LegalHold, ErasureRequest, LegalRequest):
            assert db.session.scalars(select(model)).all() == [], model


def test_releasing_a_hold_needs_a_reason_and_a_confirmation(app: Flask, world: World,
                                                           signed_in) -> None:
    legal = signed_in("legal")
    post_form(legal, "/admin/legal/holds", {"reason": "preserve", "reference": "FIR 5/2026",
                                            "subject_kind": "person",
                                            "subject_ref": str(world.person_id)}, page=DESK)
    with app.app_context():
        hold_id = db.session.scalars(select(LegalHold.id)).one()
    release = f"/admin/legal/holds/{hold_id}/release"
    post_form(legal, release, {"note": "request answered"}, page=DESK)  # not confirmed
    assert "confirm that the hold may end" in legal.get(DESK).get_data(as_text=True)
    post_form(legal, release, {"confirm": "yes", "note": " "}, page=DESK)  # no reason
    assert "give the reason the hold can end" in legal.get(DESK).get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(LegalHold, hold_id).released_at is None
    post_form(legal, release, {"confirm": "yes", "note": "request answered"}, page=DESK)
    with app.app_context():
        assert db.session.get_one(LegalHold, hold_id).released_at is not None
        note = db.session.scalars(select(AuditEvent.data).where(
            AuditEvent.verb == "hold.released")).one()
    assert note["note"] == "request answered"


def test_an_export_for_a_request_is_linked_and_its_files_safely_named(
        app: Flask, world: World, signed_in) -> None:
    legal = signed_in("legal")
    post_form(legal, "/admin/legal/requests", {
        "authority_type": "police", "authority": "Cyber Crime PS", "reference": "FIR 12/2026",
        "asks": "disclose", "subject_kind": "case", "subject_ref": str(world.case_id)},
        page=DESK)
    with app.app_context():
        request_id = db.session.scalars(select(LegalRequest.id)).one()
    response = post_form(legal, "/admin/legal/exports", {
        "scope": "case", "scope_ref": str(world.case_id), "reason": "s.94 BNSS notice",
        "legal_request_id": str(request_id), "request_ref": ""}, page=DESK)
    export_page = response.headers["Location"]
    run_jobs(app)
    with app.app_context():
        export = db.session.scalars(select(EvidenceExport)).one()
    assert export.legal_request_id == request_id and export.request_ref == "FIR 12/2026"
    download = post_form(legal, f"{export_page}/download", {"how": "console download"},
                         page=export_page)
    disposition = download.headers["Content-Disposition"]
    assert f"evidence-{export.id}-FIR-12-2026.zip" in disposition and " " not in \
        disposition.split("filename=")[1]
    custody = zipfile.ZipFile(io.BytesIO(download.data))
    custody_name = next(n for n in custody.namelist() if n.endswith("custody.json"))
    import json

    assert json.loads(custody.read(custody_name))["legal_request_id"] == request_id
    certificate = post_form(legal, f"{export_page}/certificate", page=export_page)
    assert certificate.status_code == 200 and certificate.mimetype == "text/plain"
    assert export.archive_sha256 in certificate.get_data(as_text=True)
    assert "certificate-" in certificate.headers["Content-Disposition"]


def test_an_erasure_request_names_the_hold_it_waits_on(app: Flask, world: World,
                                                       signed_in) -> None:
    legal = signed_in("legal")
    post_form(legal, "/admin/legal/holds", {"reason": "preserve", "reference": "FIR 8/2026",
                                            "subject_kind": "person",
                                            "subject_ref": str(world.person_id)}, page=DESK)
    post_form(legal, "/admin/legal/erasures", {"subject_kind": "person",
                                               "subject_ref": str(world.person_id)}, page=DESK)
    page = legal.get(DESK).get_data(as_text=True)
    wait = page.split('class="erasure-wait">')[1].split("</td>")[0]
    assert "FIR 8/2026" in wait


def test_the_data_access_form_takes_an_account_reference(app: Flask, world: World,
                                                        signed_in) -> None:
    legal = signed_in("legal")
    response = post_form(legal, "/admin/legal/access", {"subject_kind": "account",
                                                        "subject_ref": "calls:c-101"},
                         page=DESK)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f"person-{world.person_id}-data.zip" in response.headers["Content-Disposition"]
    refused = post_form(legal, "/admin/legal/access", {"subject_kind": "person",
                                                       "subject_ref": "nobody"}, page=DESK)
    assert refused.status_code == 302


def test_forms_take_a_username_and_the_desk_names_people(app: Flask, world: World,
                                                         signed_in) -> None:
    legal = signed_in("legal")
    response = post_form(legal, "/admin/legal/holds", {
        "subject_kind": "person", "subject_ref": "@Rowdy_Raj", "reason": "FIR filed",
        "reference": "FIR 80/2026"}, page=DESK)
    assert response.status_code == 302
    with app.app_context():
        hold = db.session.scalars(select(LegalHold)).one()
    assert hold.person_id == world.person_id
    holds = _section(legal.get(DESK).get_data(as_text=True), "holds")
    assert "rowdy_raj" in holds and f"person {world.person_id}" in holds
    # The same by the platform's own id.
    post_form(legal, "/admin/legal/erasures", {
        "subject_kind": "person", "subject_ref": "web:w-100"}, page=DESK)
    erasures = _section(legal.get(DESK).get_data(as_text=True), "erasures")
    assert "rowdy_raj" in erasures


def test_a_username_shared_by_two_people_is_refused_with_both_named(
        app: Flask, world: World, signed_in) -> None:
    from workbench.models import Account, Person, Platform

    with app.app_context():
        other = Person()
        db.session.add(other)
        db.session.flush()
        web = db.session.scalars(select(Platform).where(Platform.slug == "web")).one()
        db.session.add(Account(platform_id=web.id, person_id=other.id, platform_user_id="w-900",
                               username="Meera"))
        db.session.commit()
        other_id = other.id
    legal = signed_in("legal")
    post_form(legal, "/admin/legal/holds", {
        "subject_kind": "person", "subject_ref": "meera", "reason": "r",
        "reference": "FIR 81/2026"}, page=DESK)
    page = legal.get(DESK).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(LegalHold)).first() is None
    assert "is the username of 2 people" in page
    assert f"person {other_id} (web:w-900)" in page
    post_form(legal, "/admin/legal/holds", {
        "subject_kind": "person", "subject_ref": "nobody_here", "reason": "r",
        "reference": "FIR 82/2026"}, page=DESK)
    assert "no account is called" in legal.get(DESK).get_data(as_text=True)


def _section(page: str, table_class: str) -> str:
    start = page.index(f'class="table table-sm {table_class}"')
    return page[start:page.index("</table>", start)]
