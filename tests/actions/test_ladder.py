"""What the next decision will do: the ladder's step for the next strike, and what is in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from actions.automation import ReviewError, review_automated
from actions.enforcement import ActionRequest, apply_action
from actions.ladder import StackingError, check_stacking, ladder_outlook
from tests.support.enforcement import staff_id
from tests.support.present import present
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Action, Strike, utcnow
from workbench.rules.strikes import StrikePolicy


def _strikes(person: int, n: int) -> None:
    for _ in range(n):
        db.session.add(Strike(person_id=person, category="harassment",
                              expires_at=utcnow() + timedelta(days=60)))
    db.session.flush()


def _act(person: int, kind: ActionType, days: float | None = None,
         decided_by_id: int | None = None) -> Action:
    """A person's action when ``decided_by_id`` is given, else a model rule's."""
    by_model = decided_by_id is None
    return apply_action(db.session, ActionRequest(
        type=kind, person_id=person, policy_reason="harassment", decided_by_id=decided_by_id,
        decided_by_rule="abusive>=0.99" if by_model else None,
        model_version="m-1" if by_model else None, automated=by_model,
        duration=timedelta(days=days) if days else None))


def test_the_outlook_names_the_step_the_next_strike_reaches(app: Flask, person: int) -> None:
    with app.app_context():
        assert ladder_outlook(db.session, person).describe_step() == \
            "A violation here is strike 1: the strike ladder takes no further step."
        _strikes(person, 2)
        outlook = ladder_outlook(db.session, person)
        assert outlook.next_strike == 3
        assert outlook.describe_step() == \
            "A violation here is strike 3: it will also suspend for 7 days, at once."
        _strikes(person, 2)
        assert "proposes to a senior: ban" in ladder_outlook(db.session, person).describe_step()
        custom = StrikePolicy.from_config([{"strikes": 5, "action": "warn", "mode": "apply"}])
        assert present(ladder_outlook(db.session, person, custom).step).action is ActionType.WARN


def test_a_suspension_in_force_covers_a_shorter_step(app: Flask, person: int) -> None:
    with app.app_context():
        _strikes(person, 1)
        long = _act(person, ActionType.SUSPEND, 10, decided_by_id=staff_id("senior@example.org"))
        outlook = ladder_outlook(db.session, person)
        assert outlook.step_covered_by == long.id
        assert "already covered by action" in outlook.describe_step()
        assert [a.id for a in outlook.same_kind(ActionType.SUSPEND)] == [long.id]


def test_stacking_a_kind_in_force_needs_confirmation_but_other_kinds_do_not(
        app: Flask, person: int) -> None:
    with app.app_context():
        auto = _act(person, ActionType.MUTE, 1)
        mod = staff_id("mod@example.org")
        mute = ActionRequest(type=ActionType.MUTE, person_id=person, policy_reason="harassment",
                             decided_by_id=mod)
        with pytest.raises(StackingError, match="already in force"):
            check_stacking(db.session, mute, confirmed=False)
        check_stacking(db.session, mute, confirmed=True)
        check_stacking(db.session, ActionRequest(
            type=ActionType.RESTRICT_CALLS, person_id=person, policy_reason="harassment",
            decided_by_id=mod), confirmed=False)
        # Once the automated mute is overturned, a human mute stacks on nothing.
        review_automated(db.session, auto.id, moderator_id=staff_id("senior@example.org"),
                         role="senior", confirm=False)
        check_stacking(db.session, mute, confirmed=False)


def test_only_a_rules_own_action_waits_and_only_seniors_settle_it(
        app: Flask, person: int) -> None:
    from actions.enforcement import FOLLOW_UP_RULES
    from actions.strikes import RULE

    assert RULE in FOLLOW_UP_RULES  # the thresholds' actions follow a person's decision
    with app.app_context():
        bank = apply_action(db.session, ActionRequest(
            type=ActionType.SUSPEND, person_id=person, policy_reason="ncii",
            decided_by_rule="bank:ncii", automated=True, duration=timedelta(days=1)))
        assert bank.review_state == "pending"  # a hash bank's rule, with no model version
        human = _act(person, ActionType.MUTE, 1, decided_by_id=staff_id("mod@example.org"))
        auto = _act(person, ActionType.WARN)
        assert human.review_state is None and auto.review_state == "pending"
        with pytest.raises(ReviewError, match="senior"):
            review_automated(db.session, auto.id, moderator_id=staff_id("mod@example.org"),
                             role="moderator", confirm=True)
        with pytest.raises(ReviewError, match="not waiting"):
            review_automated(db.session, human.id,
                             moderator_id=staff_id("senior@example.org"), role="senior",
                             confirm=True)
        # A warning cannot be lifted; overturning it records the review and lifts nothing.
        done = review_automated(db.session, auto.id,
                                moderator_id=staff_id("senior@example.org"), role="senior",
                                confirm=False)
        assert done.delivery_ids == [] and auto.review_state == "overturned"
