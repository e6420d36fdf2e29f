"""A second opinion on what users report in English.

Every message is scored on arrival by the fast default model (``text``, tens of
thousands a second on a core). The messages users report are few, and worth a slower,
stronger look: ``review_text_model`` (``WORKBENCH_REVIEW_TEXT_MODEL``, by default
``text-review``: the mean of ``text`` and MiniLM fine-tuned through LoRA adapters, a
few hundred messages a second on a core; docs/classifiers.md compares them) re-scores
the reported messages it reads (English) once they have had their first scores. Its
scores are stored as that model's ``ClassifierScore``: the case page shows them above
the first, and the case's priority reads each label's higher score of the two (a second
opinion raises a case, never lowers it); the cases are re-scored at once.

Filing user reports writes an outbox batch of their messages (``queue_review``), which
the queues move like any other batch (``queues.jobs``). A message reported before its
own batch was classified waits: the batch is left unprocessed and the sweep hands it
back a few seconds later, up to ``WAIT_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.language import DEFAULT_LANGUAGES, Reading, reader_language
from classifiers.registry import ModelNotFoundError, ModelRegistry
from workbench.cases.filing import rescore_cases
from workbench.cases.policy import CasePolicy
from workbench.cases.scoring import insert_message_scores
from workbench.enums import OPEN_CASE_STATUSES, BatchKind, ContentStatus, ReportSource
from workbench.models import Case, ClassifierScore, Message, OutboxBatch, Report
from workbench.settings import Settings
from workbench.upserts import one_of

log = logging.getLogger(__name__)

#: The language the review model reads.
REVIEWED_LANGUAGE = "en"
#: How many times a batch waits for its messages' first scores (the sweep comes back
#: every few seconds) before the messages already scored are reviewed without the rest.
WAIT_ATTEMPTS = 60


def queue_review(session: Session, report_ids: list[int], settings: Settings) -> int | None:
    """An outbox batch of the messages these user reports are about (none when no review
    model is configured, or the reports name no message); its id, to enqueue after
    commit."""
    if not settings.review_text_model or not report_ids:
        return None
    ids = sorted({message_id for message_id in session.scalars(
        select(Report.message_id).where(one_of(session, Report.id, report_ids),
                                        Report.source == ReportSource.USER.value))
        if message_id is not None})
    if not ids:
        return None
    batch = OutboxBatch(kind=BatchKind.REVIEW.value, item_ids={"ids": ids})
    session.add(batch)
    session.flush()
    return batch.id


def review_messages(session: Session, message_ids: list[int], settings: Settings,
                    policy: CasePolicy, attempts: int = 0) -> dict[str, Any] | None:
    """Re-score the English ones of these messages with the review model and re-score
    their open cases. ``None``: some have not had their first scores yet; try later."""
    rows = session.execute(
        select(Message.id, Message.text, Message.status)
        .where(one_of(session, Message.id, message_ids)).order_by(Message.id)).all()
    waiting = [r for r in rows if r.status == ContentStatus.PENDING.value]
    if waiting and attempts < WAIT_ATTEMPTS:
        return None
    try:
        model = review_model(settings)
    except ModelNotFoundError as exc:
        log.warning("no second opinion: %s", exc)
        return {"messages": 0, "skipped": str(exc)}
    done = set(session.scalars(select(ClassifierScore.content_id).where(
        ClassifierScore.content_type == "message",
        one_of(session, ClassifierScore.content_id, [r.id for r in rows]),
        ClassifierScore.model_name == model.name,
        ClassifierScore.model_version == model.version)))
    allowed = tuple(settings.languages or DEFAULT_LANGUAGES)
    readings = {r.text: Reading(r.text) for r in rows}
    todo = [r for r in rows if r.status != ContentStatus.PENDING.value and r.id not in done
            and reader_language(readings[r.text].identify(allowed)) == REVIEWED_LANGUAGE]
    if not todo:
        return {"messages": 0}
    texts = [r.text for r in todo]
    scores = model.score(texts, readings)
    flagged = [model.flagged(score) for score in scores]
    explanations = [None if not labels else {
        label: [list(span) for span in model.explain_spans(text, label,
                                                            reading=readings[text])]
        for label in labels} for text, labels in zip(texts, flagged, strict=True)]
    insert_message_scores(session, model.name, model.version, [r.id for r in todo],
                          scores, flagged, explanations)
    case_ids = sorted({case_id for case_id in session.scalars(
        select(Report.case_id).join(Case, Case.id == Report.case_id)
        .where(one_of(session, Report.message_id, [r.id for r in todo]),
               Case.status.in_(OPEN_CASE_STATUSES))) if case_id is not None})
    rescore_cases(session, case_ids, policy)
    return {"messages": len(todo), "flagged": sum(1 for labels in flagged if labels),
            "cases": len(case_ids), "model_version": model.version}


def review_model(settings: Settings) -> Any:
    """The review model under the lexicon and extortion layer (as ``text`` is scored)."""
    # Heavy: imported on first use, not when the module loads (scikit-learn, torch).
    from classifiers.text_lexicon import LexiconLayer

    return LexiconLayer(ModelRegistry(settings.model_dir).load(settings.review_text_model))


def warm_review_model(settings: Settings) -> None:
    """Load the review model's parts and import torch, ``transformers`` and ``peft`` (a
    worker does, before it forks). Its networks are built in each job's child, on first
    use: torch's thread pool, once used in the parent, hangs a forked child."""
    review_model(settings)
    # Heavy: imported on first use, not when the module loads (what building needs).
    import peft  # noqa: F401
    import transformers  # noqa: F401
