"""Migration 0018_automation: automated actions already taken start out waiting for review."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from workbench import database


def test_rules_own_actions_already_taken_wait_for_review(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    database.upgrade(url, "0012_evidence_safety")
    engine = create_engine(url)
    # (automated, rule, status, reverses): a model's mute, a bank's suspension, a mute a
    # person reversed, the thresholds' suspension, expiry's unmute, a person's own mute.
    old = [(True, "spam_scam>=0.99", "active", None), (True, "bank:ncii", "expired", None),
           (True, "spam_scam>=0.99", "reversed", None), (True, "strikes", "active", None),
           (True, "expiry", "active", 1), (False, None, "active", None)]
    with engine.begin() as conn:
        for n, (automated, rule, status, reverses) in enumerate(old):
            conn.execute(text(
                "INSERT INTO action (id, type, person_id, policy_reason, decided_by_rule, "
                "automated, status, reverses_action_id, created_at) VALUES (:id, 'mute', 1, "
                "'spam_scam', :rule, :automated, :status, :reverses, '2026-01-01 00:00:00')"),
                {"id": n + 1, "rule": rule, "automated": automated, "status": status,
                 "reverses": reverses})
    database.upgrade(url)
    with engine.connect() as conn:
        states = conn.execute(text("SELECT review_state FROM action ORDER BY id")).scalars()
        assert list(states) == ["pending", "pending", None, None, None, None]
    engine.dispose()
