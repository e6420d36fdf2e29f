"""The console's "next case" honours the learning share (workbench/cases/learning.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from tests.support.console_forms import post_form
from tests.support.console_world import World
from workbench.cases.learning import model_threshold
from workbench.current import settings
from workbench.extensions import db
from workbench.models import Case, ClassifierScore, Report, utcnow
from workbench.settings import SETTINGS_KEY


def _calm_world_with_one_uncertain_case(app: Flask, world: World) -> int:
    """No live or nearly due case; one low-priority case scored at the model's threshold."""
    with app.app_context():
        db.session.execute(update(Case).values(live=False, priority=5.0,
                                               due_at=utcnow() + timedelta(days=1)))
        threshold = model_threshold(settings().model_dir, settings().text_model)
        assert threshold is not None
        case_id = db.session.scalar(select(Case.id).where(Case.id != world.case_id,
                                                          Case.id != world.live_case_id)
                                    .order_by(Case.id).limit(1))
        assert case_id is not None
        db.session.execute(update(Case).where(Case.id == case_id).values(priority=0.5))
        report = db.session.scalars(select(Report).where(Report.case_id == case_id)).first()
        assert report is not None
        report.message_id = world.message_id
        db.session.execute(update(ClassifierScore)
                           .where(ClassifierScore.content_id == world.message_id)
                           .values(scores={"abusive": threshold}))
        # The world's main case reported the same message: give it another one's score.
        db.session.execute(update(Report).where(Report.case_id == world.case_id)
                           .values(message_id=None))
        db.session.commit()
        return int(case_id)


def _next(client) -> int:
    return int(post_form(client, "/admin/queue/next").headers["Location"].rsplit("/", 1)[1])


def test_next_case_goes_to_the_uncertain_case_at_full_share_only(
        app: Flask, world: World, signed_in) -> None:
    uncertain = _calm_world_with_one_uncertain_case(app, world)
    client = signed_in("senior")
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY], learning_share=0.0)
    assert _next(client) != uncertain
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY], learning_share=1.0)
    assert _next(client) == uncertain
