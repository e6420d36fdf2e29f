"""Job entry points. Each takes ids, runs in the app context, and calls domain code."""

from __future__ import annotations

import logging

import redis
from rq import Queue, Retry
from rq.job import Job
from sqlalchemy import select

from actions.evasion import check_evasion
from queues.context import in_app_context
from queues.enforce import enqueue_deliveries
from queues.names import BATCH_JOB_PREFIX, QueueName, batch_job_id
from queues.runtime import queue
from workbench.cases.filing import file_reports
from workbench.cases.policy import case_policy
from workbench.cases.review import queue_review, review_messages
from workbench.cases.scoring import (
    StageClock,
    apply_automation,
    classify_messages,
    classify_recordings,
    score_signals,
)
from workbench.current import redis_connection, settings
from workbench.enums import BatchKind
from workbench.extensions import db
from workbench.imagebanks.scan import apply_bank_rules, scan_images
from workbench.metrics.definitions import JOB_STAGE_SECONDS
from workbench.models import OutboxBatch, utcnow

log = logging.getLogger(__name__)


#: Jobs waiting behind this one from which a message or report job starts taking more
#: batches: below it the queue keeps up, and one batch per job costs little.
COALESCE_MIN_QUEUED = 2
#: How far from the tail of its queue a job looks for batches to take: enough for
#: ``classify_coalesce_items`` (10,000) in batches of 50.
COALESCE_LOOK_BACK = 256
#: The kinds of batch a job takes others of along, and the setting that bounds how many
#: items it takes in all.
COALESCED = {BatchKind.MESSAGES.value: "classify_coalesce_items",
             BatchKind.REPORTS.value: "intake_coalesce_reports"}

#: Which queue processes each kind of batch.
BATCH_QUEUE: dict[str, QueueName] = {
    BatchKind.REPORTS.value: QueueName.INTAKE,
    BatchKind.ACCOUNTS.value: QueueName.INTAKE,
    BatchKind.APPEALS.value: QueueName.INTAKE,
    BatchKind.MESSAGES.value: QueueName.CLASSIFY,
    BatchKind.RECORDINGS.value: QueueName.CLASSIFY,
    BatchKind.SIGNALS.value: QueueName.CLASSIFY,
    BatchKind.IMAGES.value: QueueName.CLASSIFY,
    BatchKind.REVIEW.value: QueueName.CLASSIFY,
}

#: Retries with backoff before a batch job lands in the failed registry.
JOB_RETRY = Retry(max=5, interval=[5, 15, 60, 180, 600])
JOB_TIMEOUT_S = 600


def job_id(batch_id: int) -> str:
    return batch_job_id(batch_id)


def enqueue_batches(batch_ids: list[int], kinds: dict[int, str] | None = None) -> int:
    """Enqueue the batches; returns how many made it (0 if Redis is unreachable)."""

    if kinds is None:
        kinds = dict(
            db.session.execute(
                select(OutboxBatch.id, OutboxBatch.kind).where(OutboxBatch.id.in_(batch_ids))
            ).all()
        )
    enqueued: list[int] = []
    try:
        conn = redis_connection()
        for batch_id in batch_ids:
            target = Queue(BATCH_QUEUE[kinds[batch_id]].value, connection=conn)
            target.enqueue(process_batch, batch_id, job_id=job_id(batch_id),
                          retry=JOB_RETRY, job_timeout=JOB_TIMEOUT_S, failure_ttl=7 * 86400)
            enqueued.append(batch_id)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable, %d batch(es) left for the sweeper: %s",
                    len(batch_ids) - len(enqueued), exc)
    return len(enqueued)


@in_app_context
def process_batch(batch_id: int) -> dict[str, object]:
    """Process one outbox batch; a batch already processed is left alone.

    A message or report batch whose queue is deep takes other pending batches of its kind
    along, up to ``classify_coalesce_items`` messages or ``intake_coalesce_reports``
    reports (``_coalesce``): one job, one commit, for all.
    """
    batch = db.session.execute(
        select(OutboxBatch).where(OutboxBatch.id == batch_id).with_for_update()
    ).scalar_one_or_none()
    if batch is None:
        log.warning("batch %s does not exist", batch_id)
        return {"batch": batch_id, "skipped": "missing"}
    if batch.processed_at is not None:
        db.session.rollback()
        return {"batch": batch_id, "skipped": "already processed"}
    batches = [batch]
    if batch.kind in COALESCED:
        batches += _coalesce(batch)
    ids = [i for b in batches for i in b.item_ids.get("ids", [])]
    clock = StageClock()
    if batch.kind == BatchKind.REVIEW.value:
        with clock.stage("handle"):
            reviewed = review_messages(db.session, ids, settings(),
                                       case_policy(settings(), db.session), batch.attempts)
        if reviewed is None:
            # Its messages are not all scored yet: the sweep hands the batch back.
            batch.attempts += 1
            db.session.commit()
            return {"batch": batch_id, "kind": batch.kind, "waiting": True}
        result: dict[str, object] = reviewed
    else:
        with clock.stage("handle"):
            result = HANDLERS[batch.kind](ids)
    now = utcnow()
    for taken in batches:
        taken.attempts += 1
        taken.processed_at = now
    deliveries = result.pop("deliveries", [])
    tally = result.pop("tally", None)
    review = result.get("review_batch")
    with clock.stage("commit"):
        db.session.commit()
    if isinstance(review, int):
        enqueue_batches([review], {review: BatchKind.REVIEW.value})
    if tally is not None:
        tally.count()  # type: ignore[attr-defined]
    if deliveries:
        with clock.stage("enqueue_deliveries"):
            enqueue_deliveries(deliveries)  # type: ignore[arg-type]
    if len(batches) > 1:
        with clock.stage("drop_taken_jobs"):
            _drop_taken_jobs([b.id for b in batches[1:]], BATCH_QUEUE[batch.kind])
    _observe_stages(f"process_batch.{batch.kind}", clock, result.get("stage_ms"))
    if len(batches) > 1:
        result["coalesced"] = [b.id for b in batches[1:]]
    return {"batch": batch_id, "kind": batch.kind, "items": len(ids), **result}


def _observe_stages(job: str, clock: StageClock, inner_ms: object) -> None:
    """The batch's own stages, and those its handler timed (``stage_ms``), as histograms."""
    seconds = dict(clock.seconds)
    if isinstance(inner_ms, dict):
        seconds.update({name: ms / 1000 for name, ms in inner_ms.items()})
    for stage, s in seconds.items():
        JOB_STAGE_SECONDS.labels(job, stage).observe(s)


def _coalesce(batch: OutboxBatch) -> list[OutboxBatch]:
    """Pending batches of its kind this job takes along when its queue is deep.

    It takes batches whose jobs wait at the tail of the queue (other workers take from
    the head), locked with SKIP LOCKED: never one a running job holds, and never
    waiting. Their jobs stay queued until this job commits; then those still waiting
    leave the queue (``_drop_taken_jobs``), and one a worker took meanwhile finds its
    batch processed and returns at once (one waiting for the lock does the same after
    the commit). If this job fails, or its worker dies (the transaction is
    rolled back when the connection drops, and ``queues.abandoned`` hands this job back),
    nothing of theirs was written, and their own jobs process them as usual.
    """

    limit: int = getattr(settings(), COALESCED[batch.kind])
    room = limit - len(batch.item_ids.get("ids", []))
    if room <= 0:
        return []
    try:
        waiting = queue(BATCH_QUEUE[batch.kind])
        if waiting.count < COALESCE_MIN_QUEUED:
            return []
        tail = waiting.connection.lrange(waiting.key, -COALESCE_LOOK_BACK, -1)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable, batch %s runs alone: %s", batch.id, exc)
        return []
    ids = [j.decode() if isinstance(j, bytes) else j for j in tail]
    wanted = [int(j.removeprefix(BATCH_JOB_PREFIX)) for j in ids
              if j.startswith(BATCH_JOB_PREFIX)]
    chosen: list[int] = []
    for other, items in db.session.execute(
            select(OutboxBatch.id, OutboxBatch.item_ids)
            .where(OutboxBatch.id.in_([b for b in wanted if b != batch.id]),
                   OutboxBatch.kind == batch.kind,
                   OutboxBatch.processed_at.is_(None))
            .order_by(OutboxBatch.id.desc())).all():
        size = len((items or {}).get("ids", []))
        if size <= room:
            chosen.append(other)
            room -= size
    if not chosen:
        return []
    # Only the batches taken are locked: a job starting on one of the others runs freely.
    taken = list(db.session.scalars(
        select(OutboxBatch).where(OutboxBatch.id.in_(chosen), OutboxBatch.processed_at.is_(None))
        .order_by(OutboxBatch.id).with_for_update(skip_locked=True)))
    return taken


def _drop_taken_jobs(batch_ids: list[int], name: QueueName) -> None:
    """Once the batches taken along are committed, their jobs still waiting leave the
    queue, so no worker forks a child only to find its batch processed, and the tail
    the next job looks at holds batches still to do.

    Only a job still in the queue is removed (``LREM`` is atomic: a job a worker has
    already taken runs, and returns at once); a Redis error leaves them queued, where
    each returns at once as before.
    """
    try:
        waiting = queue(name)
        ids = [batch_job_id(b) for b in batch_ids]
        with waiting.connection.pipeline() as pipe:
            for each in ids:
                waiting.remove(each, pipeline=pipe)
            removed = pipe.execute()
        # A job still queued is in no registry: its keys are all there is of it.
        keys = [key for each, n in zip(ids, removed, strict=True) if n
                for key in (Job.key_for(each), Job.dependents_key_for(each))]
        if keys:
            waiting.connection.delete(*keys)
    except (redis.RedisError, OSError) as exc:
        log.warning("jobs of batches %s left queued: %s", batch_ids, exc)


def _file_reports(ids: list[int]) -> dict[str, object]:
    cases = file_reports(db.session, ids, case_policy(settings(), db.session))
    # Enqueued once committed (process_batch).
    review = queue_review(db.session, ids, settings())
    return {"cases": len(cases), "review_batch": review}


def _classified(result: dict[str, object]) -> dict[str, object]:
    """Classifier reports join their cases in the same transaction as the scores."""

    report_ids = result.pop("report_ids", [])
    if report_ids:
        result["cases"] = len(file_reports(db.session, report_ids,  # type: ignore[arg-type]
                                           case_policy(settings(), db.session)))
    return result


def _classify_messages(ids: list[int]) -> dict[str, object]:
    clock = StageClock()
    result = classify_messages(db.session, ids, settings(), clock)
    with clock.stage("cases"):
        result = _classified(result)
    flags, version = result.pop("flags"), result.pop("model_version")
    # Automated actions append to the audit chain, whose lock is then held until commit:
    # so only after the cases above are changed, or a moderator holding one of those
    # cases and waiting for the chain would deadlock with this job.
    with clock.stage("automation"):
        result["deliveries"] = apply_automation(
            db.session, flags, version, settings())  # type: ignore[arg-type]  # popped as object
    result["stage_ms"] = clock.rounded()
    return result


def _classify_recordings(ids: list[int]) -> dict[str, object]:
    return _classified(classify_recordings(db.session, ids, settings()))


def _scan_images(ids: list[int]) -> dict[str, object]:
    result = _classified(scan_images(db.session, ids, settings()))
    # Like automation on messages: bank rules act only after the cases are filed.
    result["deliveries"] = apply_bank_rules(
        db.session, result.pop("matched_image_ids"))  # type: ignore[arg-type]
    return result


def _score_signals(ids: list[int]) -> dict[str, object]:
    return _classified(score_signals(db.session, ids, settings()))


def _accounts_changed(ids: list[int]) -> dict[str, object]:
    """Linking happened in the request; here bans follow linked accounts (evasion)."""

    found = check_evasion(db.session, ids)
    reports = [e.report_id for e in found if e.report_id]
    if reports:
        file_reports(db.session, reports, case_policy(settings(), db.session))
    return {"accounts": len(ids), "evasions": len(found),
            "deliveries": [d for e in found for d in e.delivery_ids]}


def _appeals_filed(ids: list[int]) -> dict[str, object]:
    # Appeals wait in the console's appeals queue; nothing to compute on arrival.
    return {"appeals": len(ids)}


HANDLERS = {
    BatchKind.APPEALS.value: _appeals_filed,
    BatchKind.REPORTS.value: _file_reports,
    BatchKind.MESSAGES.value: _classify_messages,
    BatchKind.RECORDINGS.value: _classify_recordings,
    BatchKind.SIGNALS.value: _score_signals,
    BatchKind.IMAGES.value: _scan_images,
    BatchKind.ACCOUNTS.value: _accounts_changed,
}
