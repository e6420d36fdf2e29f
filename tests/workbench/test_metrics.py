"""``/metrics``: what intake and the queues did, as counted, and who may read it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.support.app import TEST_SECRET_KEY
from tests.support.jobs import run_jobs
from tests.support.metrics_scrape import moved, scrape, total, value
from tests.support.platform_api import PlatformApi
from workbench.app import create_app
from workbench.enums import OPEN_CASE_STATUSES
from workbench.extensions import db
from workbench.metrics import definitions
from workbench.models import Case, ClassifierScore, Message, utcnow
from workbench.settings import SettingsError, load_settings

SPAM = ("WINNER!! As a valued network customer you have been selected to receive a £900 "
        "prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.")
TEXTS = ["see you at dinner tonight", "you are a stupid idiot and i hate you",
         "tu chutiya hai bewakoof", SPAM, "kal milte hain yaar, bahut time ho gaya"]
OUTSIDE = "203.0.113.7"  # TEST-NET-3: never an operator network


def _messages(start: int, n: int) -> dict[str, Any]:
    return {"messages": [
        {"id": f"m{i}", "conversation_id": "c1", "sender_id": f"s{i % 3}", "recipient_id": "r",
         "text": TEXTS[i % len(TEXTS)], "sent_at": "2026-11-20T10:00:00Z"}
        for i in range(start, start + n)]}


def _reports(n: int) -> dict[str, Any]:
    """``n`` reports made now, so their cases are not yet due."""
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"reports": [
        {"id": f"r{i}", "reporter_id": f"rep{i}", "reported_user_id": f"u{i}",
         "category": "harassment", "created_at": now}
        for i in range(n)]}


def test_intake_and_a_drained_queue_move_the_counters_by_what_was_stored(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    before = scrape(app)
    assert platforms["calls"].post("/api/v1/messages", _messages(0, 5)).status_code == 202
    # Two seen before, one new: only the new one is counted as accepted.
    again = platforms["calls"].post("/api/v1/messages", _messages(3, 3))
    assert again.status_code == 202 and again.json == {"accepted": 1, "duplicate": 2}
    assert platforms["web"].post("/api/v1/reports", _reports(2)).status_code == 202

    waiting = scrape(app)
    assert moved(before, waiting, "workbench_intake_items_total",
                 kind="messages", platform="calls") == 6
    assert moved(before, waiting, "workbench_intake_duplicates_total",
                 kind="messages", platform="calls") == 2
    assert moved(before, waiting, "workbench_intake_items_total",
                 kind="reports", platform="web") == 2
    assert moved(before, waiting, "workbench_intake_items_total", platform="meet") == 0
    # Three batches wait, one job each; the one at the head has waited a little.
    assert total(waiting, "workbench_queue_jobs") == 3
    assert 0 < value(waiting, "workbench_queue_oldest_job_age_seconds", queue="intake") < 600
    assert value(waiting, "workbench_metrics_source_up", source="redis") == 1

    run_jobs(app)
    after = scrape(app)
    assert total(after, "workbench_queue_jobs") == 0
    assert value(after, "workbench_queue_oldest_job_age_seconds", queue="intake") == 0
    assert moved(waiting, after, "workbench_job_seconds_count", job="process_batch",
                 outcome="finished") == 3
    assert moved(waiting, after, "workbench_job_stage_seconds_count",
                 job="process_batch.messages", stage="score") == 2
    assert moved(waiting, after, "workbench_job_stage_seconds_count",
                 job="process_batch.reports", stage="commit") == 1

    # The classifier counters agree with the scores stored, language by language.
    with app.app_context():
        stored = db.session.execute(
            select(Message.language, ClassifierScore.flagged)
            .join(ClassifierScore, (ClassifierScore.content_id == Message.id)
                  & (ClassifierScore.content_type == "message"))).all()
    by_language = Counter(language for language, _ in stored)
    flags = Counter((label, language) for language, flagged in stored
                    for label in flagged["labels"])
    assert len(stored) == 6 and flags, "the batch should have flagged something"
    for language, n in by_language.items():
        assert moved(waiting, after, "workbench_classified_items_total", content="message",
                     language=language) == n
    for (label, language), n in flags.items():
        assert moved(waiting, after, "workbench_classifier_flags_total", content="message",
                     label=label, language=language) == n
    assert moved(waiting, after, "workbench_classifier_flags_total") == sum(flags.values())


def test_open_and_overdue_cases_are_counted_per_queue(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    assert platforms["web"].post("/api/v1/reports", _reports(3)).status_code == 202
    run_jobs(app)
    with app.app_context():
        cases = db.session.execute(select(Case.id, Case.queue)
                                   .where(Case.status.in_(OPEN_CASE_STATUSES))).all()
        late = cases[0]
        db.session.execute(update(Case).where(Case.id == late.id)
                           .values(due_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    samples = scrape(app)
    per_queue = Counter(queue for _, queue in cases)
    assert len(cases) == 3
    for queue, n in per_queue.items():
        assert value(samples, "workbench_cases_open", queue=queue) == n
    assert total(samples, "workbench_cases_overdue") == 1
    assert value(samples, "workbench_cases_overdue", queue=late.queue) == 1
    assert value(samples, "workbench_metrics_source_up", source="database") == 1


@pytest.fixture
def make_app(database_url: str, redis_url: str, tmp_path: Path):
    def make(**overrides: Any) -> Flask:
        return create_app({"instance_dir": tmp_path / "instance", "database_url": database_url,
                           "redis_url": redis_url, "secret_key": TEST_SECRET_KEY,
                           **overrides})
    return make


def _refusal(app: Flask, address: str, **headers: str) -> str:
    r = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address},
                              headers=headers)
    assert r.status_code == 403 and r.mimetype == "application/json"
    assert r.json is not None
    assert r.json["error"]["code"] == "metrics_forbidden"
    return str(r.json["error"]["message"])


def test_only_this_machine_may_read_metrics_by_default(app: Flask) -> None:
    assert "not in an operator network" in _refusal(app, OUTSIDE)
    assert OUTSIDE in _refusal(app, OUTSIDE)
    assert "no metrics token is configured" in _refusal(
        app, OUTSIDE, Authorization="Bearer anything-at-all-here")
    scrape(app, "127.0.0.1")
    scrape(app, "::1")
    scrape(app, "::ffff:127.0.0.1")


def test_a_bearer_token_opens_metrics_from_anywhere_and_a_wrong_one_is_refused(
    make_app: Any
) -> None:
    token = "metrics-token-0123456789abcdef"
    app = make_app(metrics_token=token)
    scrape(app, OUTSIDE, Authorization=f"Bearer {token}")
    assert "not the metrics token" in _refusal(app, OUTSIDE,
                                              Authorization=f"Bearer {token[:-1]}x")
    assert "not the metrics token" in _refusal(app, OUTSIDE,
                                              Authorization=f"Bearer {token}0")
    # A token sent must be right, from an operator network too.
    assert "not the metrics token" in _refusal(app, "127.0.0.1",
                                              Authorization="Bearer wrong-token-000000")
    assert "Authorization: Bearer" in _refusal(app, OUTSIDE, Authorization=f"Basic {token}")


def test_operator_networks_are_a_setting(make_app: Any) -> None:
    app = make_app(metrics_networks=["10.0.0.0/8", "2001:db8::/32"])
    scrape(app, "10.20.30.40")
    scrape(app, "2001:db8::5")
    assert "not in an operator network" in _refusal(app, "127.0.0.1")
    assert "not in an operator network" in _refusal(app, "11.0.0.1")


@pytest.mark.parametrize(("environ", "message"), [
    ({"WORKBENCH_METRICS_NETWORKS": '["10.0.0.0/33"]'}, "WORKBENCH_METRICS_NETWORKS"),
    ({"WORKBENCH_METRICS_NETWORKS": '["intranet"]'}, "WORKBENCH_METRICS_NETWORKS"),
    ({"WORKBENCH_METRICS_NETWORKS": "[10]"}, "WORKBENCH_METRICS_NETWORKS"),
    ({"WORKBENCH_METRICS_NETWORKS": "10.0.0.0/8"}, "not valid JSON"),
    ({"WORKBENCH_METRICS_TOKEN": "short"}, "at least 16 characters"),
])
def test_bad_metrics_settings_stop_the_process_with_one_line(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"instance_dir": tmp_path}, environ=environ)


def test_every_metric_has_labels_so_none_is_made_before_multiprocess_mode_is_chosen() -> None:
    for metric in definitions.ALL:
        assert metric._labelnames, metric  # noqa: SLF001
