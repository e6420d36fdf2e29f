"""The workbench's counters and histograms, counted where the work happens.

Every metric here has labels, so no value exists until its first use: by then
``workbench.metrics.multiprocess`` has chosen where values live (a file per process
under gunicorn and the workers, memory otherwise). A metric without labels would be
made at import, possibly before that choice, and would count for its process alone.

Count after the commit that makes a thing true: a job that fails and runs again must
not count its items twice.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Seconds: from a sweep that takes milliseconds to an evidence export of minutes.
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
               120.0, 300.0, 600.0)
#: Seconds from an enforcement decision to the platform's 2xx: about a second when all
#: is well, hours while a platform is down and deliveries back off.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
               4 * 3600.0, 24 * 3600.0)

INTAKE_ITEMS = Counter(
    "workbench_intake_items", "Items platforms sent that were stored (new), by kind.",
    ["kind", "platform"])
INTAKE_DUPLICATES = Counter(
    "workbench_intake_duplicates",
    "Items platforms sent again (same platform id), acknowledged and not stored twice.",
    ["kind", "platform"])

JOB_SECONDS = Histogram(
    "workbench_job_seconds", "Wall time of each queue job, by queue, job and outcome.",
    ["queue", "job", "outcome"], buckets=JOB_BUCKETS)
JOB_STAGE_SECONDS = Histogram(
    "workbench_job_stage_seconds",
    "Wall time of the stages inside a job (an outbox batch by kind: its handler, commit, "
    "and for messages load, score, language, explain and the writes).",
    ["job", "stage"], buckets=JOB_BUCKETS)
JOBS_RUNNING = Gauge(
    "workbench_jobs_running", "Jobs running now, by queue.", ["queue"],
    multiprocess_mode="livesum")

DELIVERY_LAG = Histogram(
    "workbench_delivery_lag_seconds",
    "Seconds from an enforcement delivery's creation to the platform's acknowledgement.",
    ["platform"], buckets=LAG_BUCKETS)
DELIVERY_FAILURES = Counter(
    "workbench_delivery_failures",
    "Delivery attempts a platform did not acknowledge, by error class and what follows "
    "(retry later, or dead: past the retry window).",
    ["platform", "error", "outcome"])

CLASSIFIED = Counter(
    "workbench_classified_items", "Items the classifiers scored, by content and language.",
    ["content", "language"])
CLASSIFIER_FLAGS = Counter(
    "workbench_classifier_flags",
    "Items over a label's threshold, by content, label and language (divide by "
    "workbench_classified_items_total for the flag rate).",
    ["content", "label", "language"])

#: Every metric this module defines (a test checks each has labels).
ALL = (INTAKE_ITEMS, INTAKE_DUPLICATES, JOB_SECONDS, JOB_STAGE_SECONDS, JOBS_RUNNING,
       DELIVERY_LAG, DELIVERY_FAILURES, CLASSIFIED, CLASSIFIER_FLAGS)
