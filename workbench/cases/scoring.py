"""Scoring what arrives: messages and recordings by the classifiers, signals by fraud risk.

This is the seam between the queues and ``classifiers/``: it loads rows by id, hands
plain texts or audio to the models, writes ``ClassifierScore`` rows back, opens a
classifier report when a score passes the model's threshold, and applies the
configured automation rules through the same code path a moderator uses.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from actions.enforcement import ActionRequest, apply_action
from actions.enforcement_batch import apply_actions
from classifiers.language import DEFAULT_LANGUAGES, Reading, reader_language
from classifiers.registry import ModelRegistry
from workbench.cases.risk import account_features
from workbench.enums import ActionStatus, ActionType, ContentStatus, ReportSource
from workbench.metrics.definitions import CLASSIFIED, CLASSIFIER_FLAGS
from workbench.models import (
    Account,
    Action,
    ClassifierScore,
    FraudSignal,
    Message,
    Person,
    Recording,
    RecordingSegment,
    Report,
    utcnow,
)
from workbench.settings import Settings
from workbench.storage import blob_store
from workbench.upserts import insert_new, one_of

if TYPE_CHECKING:
    from actions.enforcement import ActionRequest

log = logging.getLogger(__name__)

#: The report category a flagged label opens.
LABEL_CATEGORY = {"abusive": "harassment", "hate": "hate", "spam_scam": "spam_scam",
                  "extortion": "extortion"}

#: Automation: above ``threshold`` for ``label``, apply ``action`` provisionally (automated,
#: reviewable, reversible) and leave the case for a moderator to review.
DEFAULT_AUTOMATION_RULES: list[dict[str, Any]] = [
    {"label": "spam_scam", "threshold": 0.99, "action": "mute", "hours": 24,
     "policy_reason": "spam_scam"},
]


@dataclass(frozen=True)
class Flag:
    """One content item over one label's threshold."""

    content_type: str
    content_id: int
    account_id: int
    platform_id: int
    label: str
    score: float


@dataclass
class Tally:
    """Items a batch scored by language, and its flags by label and language: counted in
    the classifier metrics by ``count``, once the batch's transaction has committed."""

    content: str
    items: Counter[str] = field(default_factory=Counter)
    flags: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, language: str, labels: list[str]) -> None:
        self.items[language] += 1
        for label in labels:
            self.flags[(label, language)] += 1

    def count(self) -> None:
        for language, n in self.items.items():
            CLASSIFIED.labels(self.content, language).inc(n)
        for (label, language), n in self.flags.items():
            CLASSIFIER_FLAGS.labels(self.content, label, language).inc(n)


@dataclass
class StageClock:
    """Seconds spent in each named stage of a job (what the benchmark and the logs read)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent inside the block to stage ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        """The stages, in milliseconds to three decimals."""
        return {name: round(1000 * s, 3) for name, s in self.seconds.items()}


def _model(settings: Settings) -> Any:
    return ModelRegistry(settings.model_dir).load(settings.text_model)


def text_model(settings: Settings) -> Any:
    """The active text model with the lexicon and extortion layer: what messages are
    scored with (the model is cached per process; the layer's lexicon too)."""
    # Heavy: imported on first use, not when the module loads.
    from classifiers.text_lexicon import LexiconLayer

    return LexiconLayer(_model(settings))


def classify_messages(session: Session, message_ids: list[int], settings: Settings,
                      clock: StageClock | None = None) -> dict[str, object]:
    """Score a batch of messages with the active text model; detect their language.

    Set-based: one query loads the batch, one statement writes its scores and a few
    (one per language found) mark it processed, whatever its size. The result's ``flags``
    and ``model_version`` are for ``apply_automation``, which the caller runs after filing
    ``report_ids`` into cases (see ``queues.jobs``). ``clock``, when given, is charged
    with the time of each stage.
    """

    clock = clock or StageClock()
    with clock.stage("load"):
        rows = session.execute(
            select(Message.id, Message.text, Message.language, Message.sender_account_id,
                   Message.platform_id)
            .where(one_of(session, Message.id, message_ids),
                   Message.status == ContentStatus.PENDING.value)
            .order_by(Message.id)
        ).all()
    if not rows:
        return {"messages": 0, "flags": [], "model_version": None}
    with clock.stage("model_load"):
        model = text_model(settings)
    texts = [r.text for r in rows]
    # Each distinct text is read once: the language stored on it and the model's
    # question whether it can read the text are answered from the same reading.
    readings = {text: Reading(text) for text in texts}
    allowed = tuple(settings.languages or DEFAULT_LANGUAGES)
    with clock.stage("language"):
        languages = _new_languages(rows, allowed, readings)
    with clock.stage("score"):
        scores = model.score(texts, readings)
    with clock.stage("explain"):
        flagged = [model.flagged(score) for score in scores]
        explanations = _explanations(model, texts, flagged, readings)
    flags = [Flag("message", row.id, row.sender_account_id, row.platform_id, label,
                  score[label])
             for row, score, labels in zip(rows, scores, flagged, strict=True)
             for label in labels]
    with clock.stage("score_insert"):
        insert_message_scores(session, model.name, model.version, [r.id for r in rows],
                              scores, flagged, explanations)
    with clock.stage("status_update"):
        mark_processed(session, [r.id for r in rows], languages)
    with clock.stage("reports"):
        report_ids = open_classifier_reports(session, flags, model.name, model.version)
    tally = Tally("message")
    for row, language, labels in zip(rows, languages, flagged, strict=True):
        tally.add(language or row.language or "und", labels)
    return {"messages": len(rows), "flagged": len(flags), "report_ids": report_ids,
            "flags": flags, "model_version": model.version, "tally": tally}


def _explanations(model: Any, texts: list[str], flagged: list[list[str]],
                  readings: dict[str, Reading]) -> list[dict[str, Any] | None]:
    """Why each flagged message was flagged (``None`` for the rest, most of them).

    A text repeated in the batch (spam, a copied insult) is explained once.
    """
    known: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    out: list[dict[str, Any] | None] = []
    for text, labels in zip(texts, flagged, strict=True):
        if not labels:
            out.append(None)
            continue
        key = (text, tuple(labels))
        if key not in known:
            known[key] = {label: [list(span) for span in
                                  model.explain_spans(text, label, reading=readings[text])]
                          for label in labels}
        out.append(known[key])
    return out


def _new_languages(rows: Sequence[Any], allowed: tuple[str, ...],
                   readings: dict[str, Reading]) -> list[str | None]:
    """The language to store on each message, or ``None`` to keep the platform's hint
    (kept when it is one of ours). Each distinct text is identified once."""

    wanted = dict.fromkeys(r.text for r in rows if r.language not in allowed)
    found = {text: reader_language(readings[text].identify(allowed)) for text in wanted}
    return [None if r.language in allowed else found[r.text] for r in rows]


def insert_message_scores(session: Session, model_name: str, model_version: str,
                          ids: list[int], scores: list[dict[str, float]],
                          flagged: list[list[str]],
                          explanations: list[dict[str, Any] | None]) -> None:
    """One ``ClassifierScore`` per message (skipped when that model version scored it).

    On PostgreSQL one ``INSERT ... SELECT FROM jsonb_array_elements`` writes the whole
    batch from one JSON document, encoded in one call: an array parameter per column
    was encoded by the driver element by element, in Python, and cost more than the
    insert itself.
    """
    now = utcnow()
    if session.get_bind().dialect.name != "postgresql":
        insert_new(session, ClassifierScore, [
            {"content_type": "message", "content_id": content_id, "model_name": model_name,
             "model_version": model_version, "scores": score, "flagged": {"labels": labels},
             "explanation": explanation, "created_at": now}
            for content_id, score, labels, explanation
            in zip(ids, scores, flagged, explanations, strict=True)],
            ["content_type", "content_id", "model_name", "model_version"],
            [ClassifierScore.id])
        return
    # ``None`` is stored as JSON null, as the ORM's JSON type stores it.
    session.execute(_INSERT_SCORES, {
        "model_name": model_name, "model_version": model_version, "now": now,
        "rows": json.dumps([[content_id, score, {"labels": labels}, explanation]
                            for content_id, score, labels, explanation
                            in zip(ids, scores, flagged, explanations, strict=True)])})


_INSERT_SCORES = sql("""
    INSERT INTO classifier_score (content_type, content_id, model_name, model_version,
                                  scores, flagged, explanation, created_at)
    SELECT 'message', (r->>0)::bigint, :model_name, :model_version, r->1, r->2, r->3, :now
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r
    ON CONFLICT (content_type, content_id, model_name, model_version) DO NOTHING
""")


def mark_processed(session: Session, ids: list[int], languages: list[str | None]) -> None:
    """Messages processed, each with its new language (``None``: kept as it is).

    One ``UPDATE`` per distinct language, so each row is written once.
    """
    groups: dict[str | None, list[int]] = {}
    for message_id, language in zip(ids, languages, strict=True):
        groups.setdefault(language, []).append(message_id)
    for language, group in groups.items():
        values: dict[str, Any] = {"status": ContentStatus.PROCESSED.value}
        if language is not None:
            values["language"] = language
        session.execute(update(Message).where(one_of(session, Message.id, group))
                        .values(**values).execution_options(synchronize_session=False))


def open_classifier_reports(session: Session, flags: list[Flag], model_name: str,
                            model_version: str) -> list[int]:
    """A classifier-sourced report per flag (idempotent by content and label)."""
    rows = [{
        "platform_id": f.platform_id,
        "platform_report_id": f"clf-{f.content_type}-{f.content_id}-{f.label}",
        "reported_account_id": f.account_id,
        "category": LABEL_CATEGORY.get(f.label, "other"),
        "message_id": f.content_id if f.content_type == "message" else None,
        "recording_id": f.content_id if f.content_type == "recording" else None,
        "source": ReportSource.CLASSIFIER.value, "model_name": model_name,
        "model_version": model_version, "model_score": f.score,
        "created_at": utcnow(), "received_at": utcnow(), "status": "pending",
        "call_in_progress": False,
    } for f in flags]
    return [r.id for r in insert_new(session, Report, rows,
                                     ["platform_id", "platform_report_id"], [Report.id])]


def apply_automation(session: Session, flags: list[Flag], model_version: str,
                     settings: Settings) -> list[int]:
    """Provisional actions for flags over a high-confidence rule; returns delivery ids.

    The whole batch is decided first (``automation_requests``), then applied set-based
    (``actions.enforcement_batch.apply_actions``), with the rows ``apply_action`` would
    write for each in turn; ``settings.automation_one_by_one`` applies them that way
    instead (the benchmark's baseline).
    """

    requests = automation_requests(session, flags, model_version, settings)
    if settings.automation_one_by_one:
        return [d.id for r in requests for d in apply_action(session, r).deliveries]
    return [d.id for applied in apply_actions(session, requests) for d in applied.deliveries]


def automation_requests(session: Session, flags: list[Flag], model_version: str,
                        settings: Settings) -> list[ActionRequest]:
    """The actions the automation rules take on these flags, in flag order: one per
    person and action type, and none where such an action is already in force.

    The people behind the matching flags, and the actions already in force on them, are
    read in two queries for the batch, not two per flag.
    """

    rules = settings.automation_rules or DEFAULT_AUTOMATION_RULES
    matches = [(flag, rule) for flag in flags for rule in rules
               if flag.label == rule["label"] and flag.score >= float(rule["threshold"])]
    if not matches:
        return []
    people = dict(session.execute(select(Account.id, Account.person_id).where(
        Account.id.in_({flag.account_id for flag, _ in matches}))).all())
    done = _in_force(session, set(people.values()), {str(rule["action"]) for _, rule in matches})
    requests: list[ActionRequest] = []
    for flag, rule in matches:
        person_id = people[flag.account_id]
        kind = ActionType(rule["action"])
        if (person_id, kind.value) in done:
            continue
        requests.append(ActionRequest(
            type=kind, person_id=person_id, policy_reason=rule["policy_reason"],
            decided_by_rule=f"{flag.label}>={rule['threshold']}", automated=True,
            model_version=model_version, category=LABEL_CATEGORY.get(flag.label),
            duration=timedelta(hours=float(rule["hours"])) if rule.get("hours") else None,
            message_id=flag.content_id if flag.content_type == "message" else None,
            facts=f"{flag.content_type} {flag.content_id} scored {flag.score:.3f} for "
                  f"{flag.label} (model {model_version}); applied automatically, "
                  "pending review."))
        done.add((person_id, kind.value))
    return requests


def _in_force(session: Session, person_ids: set[int], kinds: set[str]) -> set[tuple[int, str]]:
    """The (person, action type) pairs among these with an action in force."""
    return {(row.person_id, row.type) for row in session.execute(
        select(Action.person_id, Action.type).where(
            Action.person_id.in_(person_ids), Action.type.in_(kinds),
            Action.status == ActionStatus.ACTIVE.value))}


def classify_recordings(session: Session, recording_ids: list[int],
                        settings: Settings) -> dict[str, object]:
    """Transcribe, spot keywords and score each recording; keep its timeline of segments.

    A recording whose transcript is not trusted as English (its speaker has no English, or
    the recogniser was guessing) is kept with ``no_transcript_language`` and no scores: a
    person listens to it when it is reported, in the queue of the speaker's language.
    """
    # Heavy: imported on first use, not when the module loads.
    from classifiers.audio import AudioConfig, AudioError, analyse_recording

    store = blob_store(settings)
    model = _model(settings)
    config = AudioConfig(max_duration_s=float(settings.max_audio_seconds))
    flags: list[Flag] = []
    # Only a transcript trusted as English is scored (classifiers.audio.coverage).
    tally = Tally("recording")
    done = 0
    recordings = list(session.scalars(select(Recording).where(
        Recording.id.in_(recording_ids), Recording.status == ContentStatus.PENDING.value)))
    languages = dict(session.execute(select(Account.id, Account.languages).where(
        Account.id.in_({r.owner_account_id for r in recordings}))).all())
    for recording in recordings:
        try:
            # The decoder seeks: an object-store blob is fetched to a temporary file.
            with store.local_path(recording.blob_sha256) as path:
                analysis = analyse_recording(path, config, model,
                                             languages.get(recording.owner_account_id))
        except (AudioError, OSError) as exc:
            recording.status = ContentStatus.FAILED.value
            recording.error = str(exc)[:2000]
            continue
        _store_analysis(session, recording, analysis, model)
        flags += [Flag("recording", recording.id, recording.owner_account_id,
                       recording.platform_id, label, analysis.max_scores[label])
                  for label in analysis.flagged]
        if analysis.coverage.trusted:
            tally.add("en", list(analysis.flagged))
        done += 1
    report_ids = open_classifier_reports(session, flags, model.name, model.version)
    return {"recordings": done, "flagged": len(flags), "report_ids": report_ids,
            "tally": tally}


def _store_analysis(session: Session, recording: Recording, analysis: Any, model: Any) -> None:
    data = analysis.as_dict()
    recording.duration_s = analysis.duration_s
    recording.speech_ratio = analysis.speech_ratio
    recording.transcript = analysis.transcript
    recording.transcript_status = analysis.coverage.status.value
    recording.words = {"words": data["words"], "recogniser": analysis.recogniser,
                       "coverage": {k: getattr(v, "value", v)
                                    for k, v in data["coverage"].items()}}
    recording.keyword_hits = {"hits": data["keyword_hits"]}
    recording.status = ContentStatus.PROCESSED.value
    recording.segments = [
        RecordingSegment(start_s=seg["start"], end_s=seg["end"], transcript=seg["transcript"],
                         scores={"scores": seg.get("scores"),
                                 "keyword_hits": seg.get("keyword_hits")})
        for seg in data["segments"]]
    if not analysis.coverage.trusted:
        return  # nothing was scored: no scores row, so nothing reads as "scored low"
    insert_new(session, ClassifierScore, [{
        "content_type": "recording", "content_id": recording.id, "model_name": model.name,
        "model_version": model.version, "scores": analysis.max_scores,
        "flagged": {"labels": analysis.flagged}, "explanation": None, "created_at": utcnow(),
    }], ["content_type", "content_id", "model_name", "model_version"], [ClassifierScore.id])


#: A person whose riskiest account scores at least this is put in front of a moderator.
FRAUD_REVIEW_FROM = 0.8


def score_signals(session: Session, signal_ids: list[int],
                  settings: Settings) -> dict[str, object]:
    """Re-score the fraud risk of the accounts these signals are about, and their people."""
    # Heavy: imported on first use, not when the module loads.
    from classifiers.fraud import score_accounts

    account_ids = sorted(set(session.scalars(
        select(FraudSignal.account_id).where(FraudSignal.id.in_(signal_ids)))))
    features = account_features(session, account_ids)
    ids = list(features)
    risks = dict(zip(ids, score_accounts([features[i] for i in ids]), strict=True))
    people = dict(session.execute(select(Account.id, Account.person_id)
                                  .where(Account.id.in_(ids))).all())
    platform = dict(session.execute(select(Account.id, Account.platform_id)
                                    .where(Account.id.in_(ids))).all())
    best: dict[int, tuple[int, Any]] = {}
    for account_id, risk in risks.items():
        person_id = people[account_id]
        if person_id not in best or risk.score > best[person_id][1].score:
            best[person_id] = (account_id, risk)
    now = utcnow()
    rows = []
    for person_id, (account_id, risk) in best.items():
        session.execute(update(Person).where(Person.id == person_id).values(
            risk_score=risk.score, risk_scored_at=now,
            risk_reasons={"band": risk.band, "model": risk.model, "account_id": account_id,
                          "reasons": [list(r) for r in risk.reasons]}))
        if risk.score >= FRAUD_REVIEW_FROM:
            rows.append({
                "platform_id": platform[account_id],
                "platform_report_id": f"fraud-{account_id}-{now:%Y%m%d}",
                "reported_account_id": account_id, "category": "fraud",
                "description": "Fraud risk " + f"{risk.score:.2f}: " + ", ".join(
                    r[0] for r in risk.reasons[:3]),
                "source": ReportSource.FRAUD.value, "model_name": risk.model,
                "model_score": risk.score, "created_at": now, "received_at": now,
                "status": "pending", "call_in_progress": False})
    session.execute(update(FraudSignal).where(FraudSignal.id.in_(signal_ids))
                    .values(status="cased"))
    report_ids = [r.id for r in insert_new(session, Report, rows,
                                           ["platform_id", "platform_report_id"], [Report.id])]
    return {"signals": len(signal_ids), "people": len(best), "report_ids": report_ids}
