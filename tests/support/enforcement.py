"""Enforcement in tests: act on a person, let time pass, drain the queues, count deliveries."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import select, update

from actions.delivery import record_finished
from actions.enforcement import ActionRequest, apply_action
from queues.enforce import deliver_due, delivery_policy, enqueue_deliveries, sender
from tests.support.jobs import run_jobs
from workbench.enums import ActionType, DeliveryState
from workbench.extensions import db
from workbench.models import EnforcementDelivery, Moderator, utcnow


def staff_id(email: str) -> int:
    """The id of the staff member with this email."""
    return db.session.scalars(select(Moderator.id).where(Moderator.email == email)).one()


def act(app: Flask, person_id: int, kind: ActionType, **kw: object) -> int:
    """Apply an action a senior decided, enqueue its deliveries, and return its id."""
    with app.app_context():
        action = apply_action(db.session, ActionRequest(
            type=kind, person_id=person_id, policy_reason="harassment",
            decided_by_id=staff_id("senior@example.org"), **kw))  # type: ignore[arg-type]
        ids = [d.id for d in action.deliveries]
        db.session.commit()
        enqueue_deliveries(ids)
        return action.id


def time_passes(app: Flask) -> None:
    """Make every pending delivery due now (as if its backoff had elapsed)."""
    with app.app_context():
        db.session.execute(update(EnforcementDelivery)
                           .where(EnforcementDelivery.state == DeliveryState.PENDING.value)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()


#: The longest ``drain`` waits for the answers to requests a job handed off.
HANDED_OFF_WAIT_S = 60


def drain(app: Flask) -> None:
    """Run every queued job, then every delivery that is due, then record the answers to
    requests a job handed off, as a worker's recorder thread does: on a busy machine a
    test platform's answer can take longer than the policy's patience (0.5 s), and the
    job goes on without it (``actions.delivery``)."""
    run_jobs(app)
    with app.app_context():
        deliver_due()
        policy = delivery_policy()
        own = sender(policy)
        deadline = time.monotonic() + HANDED_OFF_WAIT_S
        while own.handed_off() and time.monotonic() < deadline:
            record_finished(db.session, own, policy, wait_s=1.0)
            db.session.commit()


def states(app: Flask) -> dict[str, int]:
    """How many deliveries are in each state."""
    with app.app_context():
        out: dict[str, int] = {}
        for (state,) in db.session.execute(select(EnforcementDelivery.state)).all():
            out[state] = out.get(state, 0) + 1
        return out
