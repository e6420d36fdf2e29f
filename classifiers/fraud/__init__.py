"""Fraud risk per account: a readable scorecard, and the same model fitted to decisions.

Pure functions of account features; the caller gathers them from the database.
"""

from classifiers.fraud.features import (
    FEATURE_NAMES,
    FEATURES,
    SIGNAL_KINDS,
    AccountRiskFeatures,
    Feature,
    aggregate_signals,
    feature_matrix,
)
from classifiers.fraud.scorecard import (
    HIGH_FROM,
    MEDIUM_FROM,
    SCORECARD,
    Reason,
    RiskBand,
    RiskModel,
    RiskScore,
    score_accounts,
    score_matrix,
)
from classifiers.fraud.training import (
    MIN_DECISIONS,
    MIN_PER_CLASS,
    NotEnoughDecisions,
    TrainedRiskModel,
    train_from_decisions,
)

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "HIGH_FROM",
    "MEDIUM_FROM",
    "MIN_DECISIONS",
    "MIN_PER_CLASS",
    "SCORECARD",
    "SIGNAL_KINDS",
    "AccountRiskFeatures",
    "Feature",
    "NotEnoughDecisions",
    "Reason",
    "RiskBand",
    "RiskModel",
    "RiskScore",
    "TrainedRiskModel",
    "aggregate_signals",
    "feature_matrix",
    "score_accounts",
    "score_matrix",
    "train_from_decisions",
]
