"""Queue names, in the order a worker serves them (first is most urgent)."""

from __future__ import annotations

from enum import StrEnum


class QueueName(StrEnum):
    #: New items from platforms: cheap, and everything else waits on it.
    INTAKE = "intake"
    #: Decisions on their way to platforms: a ban must not wait behind scoring.
    ENFORCE = "enforce"
    #: Classifier scoring of messages, recordings and signals.
    CLASSIFY = "classify"
    #: Evidence bundles: long, and asked for by people who can wait minutes.
    EXPORT = "export"
    #: Sweeps, expiry, retention.
    MAINTENANCE = "maintenance"


#: Served in this order by a worker started without ``--queues``.
PRIORITY_ORDER: tuple[QueueName, ...] = (
    QueueName.INTAKE,
    QueueName.ENFORCE,
    QueueName.CLASSIFY,
    QueueName.EXPORT,
    QueueName.MAINTENANCE,
)


#: What the id of a batch's job starts with (``batch_job_id``).
BATCH_JOB_PREFIX = "batch-"


def batch_job_id(batch_id: int) -> str:
    """The id of the job that processes an outbox batch: one job per batch."""
    return f"{BATCH_JOB_PREFIX}{batch_id}"
