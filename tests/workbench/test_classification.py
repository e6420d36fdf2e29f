"""The classify job scores messages, flags them into cases, and applies automation rules."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from tests.support.present import present
from workbench.extensions import db
from workbench.models import Action, Case, ClassifierScore, EnforcementDelivery, Message, Report

SPAM = ("WINNER!! As a valued network customer you have been selected to receive a £900 "
        "prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.")
ABUSE = "you are a stupid idiot and i hate you"
BENIGN = "see you at dinner tonight, love you"
HINGLISH = "yaar tum kal aa rahe ho kya, bahut time ho gaya"


def _send(api: PlatformApi, texts: dict[str, str]) -> None:
    r = api.post("/api/v1/messages", {"messages": [
        {"id": mid, "conversation_id": "c1", "sender_id": f"sender-{mid}", "recipient_id": "r",
         "text": text, "sent_at": "2026-11-20T10:00:00Z"} for mid, text in texts.items()]})
    assert r.status_code == 202


def test_messages_are_scored_and_their_language_stored(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    _send(platforms["calls"], {"m-benign": BENIGN, "m-hinglish": HINGLISH})
    run_jobs(app)
    with app.app_context():
        scores = {s.content_id: s for s in db.session.scalars(select(ClassifierScore))}
        messages = {m.platform_message_id: m for m in db.session.scalars(select(Message))}
        assert {m.status for m in messages.values()} == {"processed"}
        benign = scores[messages["m-benign"].id]
        assert benign.model_name == "text" and benign.model_version
        assert set(benign.scores) >= {"abusive", "hate", "spam_scam"}
        assert benign.flagged == {"labels": []}
        assert messages["m-benign"].language == "en"
        assert messages["m-hinglish"].language == "hi-Latn"
        reported = set(db.session.scalars(select(Report.message_id)))
        assert messages["m-benign"].id not in reported


def test_a_flagged_message_opens_a_classifier_report_in_a_case_with_explanations(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    _send(platforms["calls"], {"m-abuse": ABUSE})
    run_jobs(app)
    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.source == "classifier" and report.category == "harassment"
        assert report.model_score is not None
        assert report.model_name == "text" and report.model_score > 0.9
        case = db.session.get_one(Case, report.case_id)
        assert case.status == "open" and case.priority > 0
        score = db.session.scalars(select(ClassifierScore)).one()
        assert score.explanation is not None
        spans = score.explanation["abusive"]
        highlighted = {ABUSE[start:end].lower() for start, end, _ in spans}
        assert highlighted & {"stupid", "idiot"}
    run_jobs(app)  # nothing new: the job is idempotent
    with app.app_context():
        assert len(db.session.scalars(select(Report)).all()) == 1


def test_near_certain_spam_is_muted_automatically_pending_review(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    _send(platforms["calls"], {"m-spam": SPAM})
    run_jobs(app)
    with app.app_context():
        action = db.session.scalars(select(Action)).one()
        assert action.type == "mute" and action.automated
        assert action.decided_by_rule is not None
        assert action.decided_by_rule.startswith("spam_scam>=") and action.model_version
        assert action.ends_at is not None and action.statement is not None
        assert action.statement.body["automated_decision"] == "AUTOMATED_DECISION_FULLY"
        assert db.session.scalars(select(EnforcementDelivery)).all()
        case = db.session.scalars(select(Case)).one()
        assert case.status == "open"  # a moderator still reviews it


def test_a_recording_is_transcribed_scored_and_kept_as_a_timeline(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    import json
    from pathlib import Path

    from workbench.models import Recording

    demo = Path(__file__).resolve().parents[2] / "workbench" / "demo" / "data" / "recordings"
    entry = next(e for e in json.loads((demo / "recordings.json").read_text()) if e["abusive"])
    audio = (demo / entry["file"]).read_bytes()
    boundary = "b0undary"
    meta = {"id": "rec-1", "owner_id": "caller", "kind": "call", "call_id": "call-1",
            "recorded_at": "2026-11-20T10:00:00Z"}
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            f"{json.dumps(meta)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="audio"; filename="{entry["file"]}"\r\n\r\n').encode() + audio + \
        f"\r\n--{boundary}--\r\n".encode()
    r = platforms["calls"].post("/api/v1/recordings", raw=body,
                                content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 202, r.json
    run_jobs(app)
    with app.app_context():
        rec = db.session.scalars(select(Recording)).one()
        assert rec.status == "processed", rec.error
        assert rec.transcript and rec.speech_ratio is not None and 0 < rec.speech_ratio <= 1
        assert rec.segments and rec.segments[0].end_s > rec.segments[0].start_s
        score = db.session.scalars(select(ClassifierScore)).one()
        assert score.content_type == "recording" and score.flagged is not None
        assert "abusive" in score.flagged["labels"]
        report = db.session.scalars(select(Report)).one()
        assert report.recording_id == rec.id and report.source == "classifier"


def test_fraud_signals_score_the_person_and_put_high_risk_in_front_of_a_moderator(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    from workbench.models import Person

    api = platforms["calls"]
    api.post("/api/v1/signals", {"signals": [
        {"id": f"s{i}", "user_id": "payer", "kind": kind, "score": 0.95,
         "details": {"count": 6}}
        for i, kind in enumerate(["chargeback", "payment_failure_burst", "otp_abuse",
                                  "multi_account", "gift_velocity"])]})
    api.post("/api/v1/signals", {"signals": [
        {"id": "quiet-1", "user_id": "quiet", "kind": "other", "score": 0.1}]})
    run_jobs(app)
    with app.app_context():
        people = {present(p.risk_reasons)["account_id"]: p for p in db.session.scalars(
            select(Person).where(Person.risk_score.is_not(None)))}
        scores = sorted(present(p.risk_score) for p in people.values())
        assert len(scores) == 2 and scores[0] < 0.5 < scores[1]
        risky = max(people.values(), key=lambda p: present(p.risk_score))
        assert risky.risk_reasons is not None
        assert risky.risk_reasons["band"] == "high"
        assert any("chargeback" in r[0] for r in risky.risk_reasons["reasons"])
        report = db.session.scalars(select(Report)).one()
        assert report.source == "fraud" and report.category == "fraud" and report.case_id


def test_moderator_decisions_become_labelled_texts_for_retraining(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    from actions.decisions import Decision, decide_case
    from workbench.cases.decisions_export import decision_labels
    from workbench.staff import create_moderator

    api = platforms["calls"]
    _send(api, {"m1": "tu pagal hai kya bewakoof", "m2": "kal milte hain"})
    api.post("/api/v1/reports", {"reports": [
        {"id": f"r-{mid}", "reporter_id": "rep", "reported_user_id": f"sender-{mid}",
         "category": "harassment", "message_id": mid, "created_at": "2026-11-20T10:00:00Z"}
        for mid in ("m1", "m2")]})
    run_jobs(app)
    with app.app_context():
        mod = create_moderator(db.session, "m@example.org", "lantern-kiwi-9", "moderator")
        cases = {c.reports[0].message_id: c for c in db.session.scalars(select(Case))
                 if any(r.source == "user" for r in c.reports)}
        ids = {m.platform_message_id: m.id for m in db.session.scalars(select(Message))}
        decide_case(db.session, cases[ids["m1"]].id, moderator_id=mod.id, role="moderator",
                    decision=Decision.VIOLATION, category="harassment")
        decide_case(db.session, cases[ids["m2"]].id, moderator_id=mod.id, role="moderator",
                    decision=Decision.DISMISSED)
        db.session.commit()
        labels = decision_labels(db.session)
    got = dict(zip(labels.text, labels.label, strict=True))
    assert got == {"tu pagal hai kya bewakoof": "abusive", "kal milte hain": "none"}


def test_hinglish_abuse_with_a_coin_demand_opens_abuse_and_extortion_reports(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    text = "tu bahut badi chutiya hai, 500 coins bhej warna photo leak"
    _send(platforms["calls"], {"m-extort": text})
    run_jobs(app)
    with app.app_context():
        reports = db.session.scalars(select(Report)).all()
        assert {r.category for r in reports} == {"harassment", "extortion"}
        case = db.session.get_one(Case, reports[0].case_id)
        assert case.primary_category == "extortion" and case.language == "hi-Latn"
        assert case.queue == "urgent-safety"
        score = db.session.scalars(select(ClassifierScore)).one()
        assert score.flagged == {"labels": ["abusive", "extortion"]}
        assert score.explanation is not None
        abusive = {text[s:e] for s, e, _ in score.explanation["abusive"]}
        assert "chutiya" in abusive
