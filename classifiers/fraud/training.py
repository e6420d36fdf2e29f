"""Fit the fraud model to moderators' decisions, once there are enough of them.

The fit is a plain logistic regression on the scorecard's own features, unscaled, so
its coefficients read exactly like the scorecard's weights and the console explains
its scores the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifiers.fraud.features import FEATURE_NAMES, AccountRiskFeatures, feature_matrix
from classifiers.fraud.scorecard import MAX_REASONS, RiskModel, RiskScore, score_accounts

logger = logging.getLogger(__name__)

#: Fewer decisions than this, and the scorecard stays in charge.
MIN_DECISIONS = 200
#: Each outcome (fraud confirmed, dismissed) needs at least this many decisions, or
#: the fit learns the base rate and little else.
MIN_PER_CLASS = 30
#: Inverse L2 strength: mild, so rare features do not get wild weights.
REGULARISATION_C = 1.0


class NotEnoughDecisions(ValueError):
    """Too few decisions (or too few of one outcome) to fit a model worth trusting."""


@dataclass(frozen=True)
class TrainedRiskModel:
    """A logistic regression fitted to decisions, usable like the scorecard.

    Attributes:
        estimator: The fitted scikit-learn model.
        model: Its coefficients as a `RiskModel` (readable weights, same reasons).
        n_decisions: Decisions it was fitted on.
        n_fraud: Of which confirmed as fraud.
    """

    estimator: LogisticRegression
    model: RiskModel
    n_decisions: int
    n_fraud: int

    def score_accounts(
        self, accounts: Sequence[AccountRiskFeatures], max_reasons: int = MAX_REASONS
    ) -> list[RiskScore]:
        """Score accounts with the fitted weights, with reasons, as `score_accounts`."""
        return score_accounts(accounts, self.model, max_reasons)


def train_from_decisions(
    accounts: Sequence[AccountRiskFeatures],
    labels: Sequence[bool | int],
    name: str = "fraud-logreg",
    random_state: int = 0,
) -> TrainedRiskModel:
    """Fit the fraud model to decided accounts.

    Args:
        accounts: Features of accounts a moderator decided on.
        labels: 1 (or True) where fraud was confirmed, 0 where the case was dismissed.
        name: Model name shown next to its scores.
        random_state: Seed for the solver, so a refit gives the same weights.

    Returns:
        The fitted model.

    Raises:
        NotEnoughDecisions: fewer than `MIN_DECISIONS`, or fewer than `MIN_PER_CLASS`
            of either outcome.
        ValueError: ``accounts`` and ``labels`` differ in length.
    """
    if len(accounts) != len(labels):
        raise ValueError(f"{len(accounts)} accounts but {len(labels)} labels")
    y = np.asarray(labels, dtype=np.int64)
    n_fraud = int(y.sum())
    n_fine = len(y) - n_fraud
    if len(y) < MIN_DECISIONS or min(n_fraud, n_fine) < MIN_PER_CLASS:
        raise NotEnoughDecisions(
            f"{len(y)} decisions ({n_fraud} fraud, {n_fine} not); need {MIN_DECISIONS} "
            f"with at least {MIN_PER_CLASS} of each"
        )
    estimator = LogisticRegression(C=REGULARISATION_C, max_iter=1000, random_state=random_state)
    estimator.fit(feature_matrix(accounts), y)
    weights = dict(zip(FEATURE_NAMES, (float(w) for w in estimator.coef_[0]), strict=True))
    model = RiskModel(name, float(estimator.intercept_[0]), weights)
    logger.info("fitted %s on %d decisions (%d fraud)", name, len(y), n_fraud)
    return TrainedRiskModel(estimator, model, len(y), n_fraud)
