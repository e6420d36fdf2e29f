"""Nudity scoring with NudeNet's shipped ONNX model, offline, loaded once per process."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from classifiers.images import nudity
from classifiers.images.samples import photograph


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the nudity model tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_shipped_model_scores_a_batch_offline_and_is_loaded_once(no_network):
    nudity._detector.cache_clear()
    images = [np.asarray(photograph(seed)) for seed in range(5)]
    scores = nudity.score_nudity(images)
    assert len(scores) == 5
    assert all(0.0 <= s.sexual_content < nudity.FLAG_THRESHOLD for s in scores)
    nudity.score_nudity(images[:1])
    assert nudity._detector.cache_info().misses == 1


def test_exposed_intimate_parts_make_sexual_content_and_covered_ones_do_not():
    score = nudity._score([
        {"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 1, 1]},
        {"class": "FEMALE_BREAST_COVERED", "score": 0.8, "box": [0, 0, 1, 1]},
        {"class": "BUTTOCKS_EXPOSED", "score": 0.5, "box": [0, 0, 1, 1]},
        {"class": "BUTTOCKS_EXPOSED", "score": 0.7, "box": [0, 0, 1, 1]},
    ])
    assert score.sexual_content == 0.7
    assert score.labels["FEMALE_BREAST_COVERED"] == 0.8
    assert nudity.is_flagged(score)
    covered = nudity._score([{"class": "FEMALE_BREAST_COVERED", "score": 0.95, "box": [0] * 4}])
    assert covered.sexual_content == 0.0 and not nudity.is_flagged(covered)


def test_a_minor_account_gets_the_stricter_threshold():
    middling = nudity.NudityScore(0.45, {"BUTTOCKS_EXPOSED": 0.45})
    assert not nudity.is_flagged(middling)
    assert nudity.is_flagged(middling, minor=True)


def test_no_images_no_model_run():
    assert nudity.score_nudity([]) == []
