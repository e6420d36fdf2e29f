"""Fraud risk: the scorecard's behaviour, its reasons, and fitting it to decisions."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from classifiers.fraud import (
    FEATURE_NAMES,
    MIN_DECISIONS,
    SCORECARD,
    AccountRiskFeatures,
    NotEnoughDecisions,
    RiskBand,
    aggregate_signals,
    feature_matrix,
    score_accounts,
    score_matrix,
    train_from_decisions,
)
from classifiers.fraud.scorecard import SCORECARD_WEIGHTS
from classifiers.fraud.synthetic import synthetic_accounts, synthetic_decisions

ORDINARY = AccountRiskFeatures(account_age_days=400, gifts_sent_24h=2, otp_requests_24h=1)


def risk(account: AccountRiskFeatures) -> float:
    return score_accounts([account])[0].score


def test_an_ordinary_old_account_is_low_risk() -> None:
    result = score_accounts([ORDINARY])[0]
    assert result.band is RiskBand.LOW and result.score < 0.1
    assert result.model == SCORECARD.name


@pytest.mark.parametrize(
    "field",
    [
        "chargebacks_90d",
        "devices_shared_with_banned",
        "payment_failures_30d",
        "gifts_sent_24h",
        "coins_spent_24h",
        "otp_requests_24h",
        "reports_received_30d",
    ],
)
def test_more_of_any_bad_behaviour_never_lowers_risk(field: str) -> None:
    more: list[dict[str, Any]] = [{field: n} for n in (0, 1, 2, 5, 20, 1000)]
    scores = [risk(replace(ORDINARY, **change)) for change in more]
    assert scores == sorted(scores)
    assert scores[-1] > scores[0]


def test_each_chargeback_raises_risk_and_three_make_it_high_on_a_new_account() -> None:
    new = replace(ORDINARY, account_age_days=3, payment_failures_30d=4)
    scores = [risk(replace(new, chargebacks_90d=n)) for n in range(5)]
    assert all(a < b for a, b in zip(scores, scores[1:], strict=False))
    assert score_accounts([replace(new, chargebacks_90d=3)])[0].band is RiskBand.HIGH


def test_younger_accounts_and_stronger_signals_score_higher() -> None:
    ages = [risk(replace(ORDINARY, account_age_days=d)) for d in (0, 10, 45, 89, 365)]
    assert ages == sorted(ages, reverse=True)
    signals = [risk(replace(ORDINARY, signal_scores={"multi_account": s})) for s in (0.0, 0.4, 0.9)]
    assert signals == sorted(signals) and signals[0] < signals[-1]


def test_reasons_name_the_top_feature_first_with_its_value() -> None:
    account = replace(ORDINARY, account_age_days=200, chargebacks_90d=4, gifts_sent_24h=1)
    result = score_accounts([account])[0]
    top = result.reasons[0]
    assert (top.feature, top.value) == ("chargebacks", 4.0)
    assert top.contribution == pytest.approx(
        SCORECARD_WEIGHTS["chargebacks"] * np.log1p(4), abs=1e-4
    )
    contributions = [r.contribution for r in result.reasons]
    assert contributions == sorted(contributions, reverse=True)
    assert all(c > 0 for c in contributions)
    assert "new_account" not in {r.feature for r in result.reasons}  # 200 days is not new


def test_reasons_add_up_to_the_score() -> None:
    accounts = synthetic_accounts(50, seed=4)
    for result in score_accounts(accounts, max_reasons=99):
        logit = SCORECARD.bias + sum(r.contribution for r in result.reasons)
        assert result.score == pytest.approx(1 / (1 + np.exp(-logit)), abs=1e-3)


def test_phone_shared_with_a_banned_person_is_the_reason_given() -> None:
    result = score_accounts([replace(ORDINARY, phone_shared_with_banned=True)])[0]
    assert result.reasons[0].feature == "phone_shared_with_banned"


def test_batch_scores_match_one_at_a_time_and_the_matrix_path() -> None:
    accounts = synthetic_accounts(300, seed=9)
    batch = [s.score for s in score_accounts(accounts)]
    alone = [risk(a) for a in accounts[:20]]
    assert batch[:20] == alone
    assert np.allclose(batch, score_matrix(feature_matrix(accounts)), atol=1e-4)
    assert score_accounts([]) == []


def test_signals_keep_the_highest_score_per_kind() -> None:
    signals = aggregate_signals(
        [("chargeback", 0.4), ("chargeback", 0.9), ("otp_abuse", None), ("phishing", 0.7)]
    )
    assert signals == {"chargeback": 0.9, "otp_abuse": 0.5, "other": 0.7}


def test_fit_to_decisions_ranks_held_out_accounts_at_least_as_well() -> None:
    accounts, labels = synthetic_decisions(3000, seed=11)
    held_out, truth = synthetic_decisions(3000, seed=12)
    trained = train_from_decisions(accounts, labels)
    scorecard_auc = roc_auc_score(truth, [s.score for s in score_accounts(held_out)])
    trained_auc = roc_auc_score(truth, [s.score for s in trained.score_accounts(held_out)])
    assert trained_auc >= scorecard_auc
    assert trained.n_decisions == 3000 and trained.n_fraud == sum(labels)


def test_fitted_weights_are_readable_and_explain_its_scores() -> None:
    accounts, labels = synthetic_decisions(1000, seed=13)
    trained = train_from_decisions(accounts, labels)
    assert set(trained.model.weights) == set(FEATURE_NAMES)
    expected = trained.estimator.predict_proba(feature_matrix(accounts[:50]))[:, 1]
    got = [s.score for s in trained.score_accounts(accounts[:50])]
    assert np.allclose(got, expected, atol=1e-4)
    # The hidden rule weighs OTP abuse heavily and reports not at all; the fit sees it.
    assert trained.model.weights["signal_otp_abuse"] > trained.model.weights["signal_other"]
    assert trained.score_accounts(accounts[:1])[0].model == "fraud-logreg"


def test_too_few_decisions_are_refused() -> None:
    accounts, labels = synthetic_decisions(1000, seed=14)
    with pytest.raises(NotEnoughDecisions, match="need 200"):
        train_from_decisions(accounts[: MIN_DECISIONS - 1], labels[: MIN_DECISIONS - 1])
    fraud = [a for a, y in zip(accounts, labels, strict=True) if y][:29]
    fine = [a for a, y in zip(accounts, labels, strict=True) if not y][:400]
    with pytest.raises(NotEnoughDecisions, match="29 fraud"):
        train_from_decisions(fraud + fine, [1] * len(fraud) + [0] * len(fine))
    with pytest.raises(ValueError, match="labels"):
        train_from_decisions(accounts, labels[:-1])


def test_scoring_leaves_the_garbage_collector_as_it_found_it() -> None:
    accounts = synthetic_accounts(10, seed=1)
    assert gc.isenabled()
    score_accounts(accounts)
    assert gc.isenabled()
    gc.disable()
    try:
        score_accounts(accounts)
        assert not gc.isenabled()
    finally:
        gc.enable()
