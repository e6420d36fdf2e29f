"""The learning share of claims: a few cases go to where the text model is least sure.

A decision on a message the model already scores at 0.01 or 0.99 teaches it little; a
decision near its operating threshold teaches it most (uncertainty sampling). So a
small share of each moderator's "claim next" (``learning_share``, default 10%, 0 turns
it off) takes, among the free cases in the moderator's queues, the one whose reported
message's ``abusive`` score is nearest the model's threshold.

Deadlines still rule: no learning pick while any claimable case in those queues is live,
overdue or due within :data:`DEADLINE_MARGIN`, and never a case of the urgent-safety
queue or of self-harm or child safety. Decisions on these cases are labelled like any
other (``workbench.cases.decisions_export``), which ``classifiers retrain`` reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from classifiers.registry import ModelRegistry, read_metadata
from workbench.models import Case, ClassifierScore, Report

#: A case due within this time is left to the deadline order.
DEADLINE_MARGIN = timedelta(hours=1)
#: Never picked for learning, whatever their score.
EXCLUDED_QUEUES = frozenset({"urgent-safety"})
EXCLUDED_CATEGORIES = frozenset({"self_harm", "child_safety"})
#: The label whose uncertainty is sampled, and the model that scores it.
LABEL = "abusive"
MODEL_NAME = "text"
#: Free cases looked at for a learning pick (the most urgent first).
CANDIDATES = 500


@dataclass(frozen=True)
class LearningPick:
    """A learning claim is wanted now, near this threshold."""

    threshold: float
    margin: timedelta = DEADLINE_MARGIN


def learning_pick(share: float, threshold: float | None,
                  rng: random.Random | None = None) -> LearningPick | None:
    """Whether this claim is a learning one (with probability ``share``, 0 to 1)."""
    if threshold is None or share <= 0:
        return None
    return LearningPick(threshold) if (rng or random).random() < share else None


def most_uncertain_case(session: Session, free: Any, queues: list[str],
                        exclude_categories: frozenset[str], pick: LearningPick,
                        now: datetime) -> int | None:
    """The free case whose reported message scores nearest ``pick.threshold``, or None.

    ``free`` is the claimable condition of the caller. None when any free case in
    ``queues`` is live or due within ``pick.margin``: deadlines come first.
    """
    eligible = [free, Case.queue.in_(queues)]
    if exclude_categories:
        eligible.append(Case.primary_category.not_in(sorted(exclude_categories)))
    pressing = session.scalar(select(Case.id).where(
        *eligible, or_(Case.live.is_(True), Case.due_at <= now + pick.margin)).limit(1))
    if pressing is not None:
        return None
    candidates = (select(Case.id).where(
        *eligible, Case.queue.not_in(sorted(EXCLUDED_QUEUES)),
        Case.primary_category.not_in(sorted(EXCLUDED_CATEGORIES)))
        .order_by(Case.priority.desc(), Case.due_at, Case.id).limit(CANDIDATES)
        .scalar_subquery())
    rows = session.execute(
        select(Case.id, Case.priority, Case.due_at, ClassifierScore.scores,
               ClassifierScore.created_at)
        .join(Report, Report.case_id == Case.id)
        .join(ClassifierScore, (ClassifierScore.content_id == Report.message_id)
              & (ClassifierScore.content_type == "message")
              & (ClassifierScore.model_name == MODEL_NAME))
        .where(Case.id.in_(candidates))).all()
    latest: dict[int, tuple[datetime, float]] = {}
    order: dict[int, tuple[float, datetime]] = {}
    for case_id, priority, due_at, scores, created_at in rows:
        value = (scores or {}).get(LABEL)
        if value is None:
            continue
        # One score per case: its most recent, the largest among messages scored together.
        seen = latest.get(case_id)
        if seen is None or created_at > seen[0] or (created_at == seen[0]
                                                    and float(value) > seen[1]):
            latest[case_id] = (created_at, float(value))
        order[case_id] = (-priority, due_at)
    if not latest:
        return None
    return min(latest, key=lambda case_id: (abs(latest[case_id][1] - pick.threshold),
                                            *order[case_id], case_id))


@lru_cache(maxsize=8)
def _threshold_of(model_dir: str, name: str, version: str) -> float | None:
    meta = read_metadata(ModelRegistry(Path(model_dir)).version_dir(name, version))
    value = meta.get("thresholds", {}).get(LABEL)
    return None if value is None else float(value)


def model_threshold(model_dir: Path, name: str) -> float | None:
    """The active text model's operating threshold for ``abusive`` (None if unknown)."""

    try:
        version = ModelRegistry(model_dir).active_version(name)
        return _threshold_of(str(model_dir), name, version)
    except (OSError, ValueError, LookupError):
        return None
