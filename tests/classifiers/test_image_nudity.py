"""Nudity scoring with NudeNet's shipped ONNX model, offline, loaded once per process."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest

from classifiers.images import nudity
from classifiers.images.samples import photograph
from classifiers.registry import ModelRegistry

SHIPPED = nudity.model_card()


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
    assert all(0.0 <= s.sexual_content < SHIPPED.threshold for s in scores)
    nudity.score_nudity(images[:1])
    assert nudity._detector.cache_info().misses == 1


def test_exposed_intimate_parts_make_sexual_content_and_covered_ones_do_not():
    score = nudity._score([
        {"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 1, 1]},
        {"class": "FEMALE_BREAST_COVERED", "score": 0.8, "box": [0, 0, 1, 1]},
        {"class": "BUTTOCKS_EXPOSED", "score": 0.5, "box": [0, 0, 1, 1]},
        {"class": "BUTTOCKS_EXPOSED", "score": 0.7, "box": [0, 0, 1, 1]},
    ], SHIPPED)
    assert score.sexual_content == 0.7
    assert score.labels["FEMALE_BREAST_COVERED"] == 0.8
    assert nudity.is_flagged(score)
    covered = nudity._score([{"class": "FEMALE_BREAST_COVERED", "score": 0.95, "box": [0] * 4}],
                           SHIPPED)
    assert covered.sexual_content == 0.0 and not nudity.is_flagged(covered)


def test_a_minor_account_gets_the_stricter_threshold():
    middling = nudity.NudityScore(0.45, {"BUTTOCKS_EXPOSED": 0.45})
    assert not nudity.is_flagged(middling)
    assert nudity.is_flagged(middling, minor=True)


def test_no_images_no_model_run():
    assert nudity.score_nudity([]) == []


def test_the_shipped_metadata_says_how_the_thresholds_were_chosen():
    meta = json.loads((ModelRegistry("/nonexistent").version_dir(
        nudity.MODEL_NAME, SHIPPED.version) / "metadata.json").read_text())
    assert (SHIPPED.threshold, SHIPPED.minor_threshold) == (0.6, 0.35)
    calibration = meta["calibration"]["sexual_content"]
    assert calibration["val_precision"] is None and "not measured" in calibration["positives"]
    benign = calibration["benign"]
    assert sum(s["images"] for s in benign.values()) == 300
    assert all(s["false_positive_rate_at"]["0.35"] == 0.0 for s in benign.values())


def _promote(root: Path, **changes: object) -> ModelRegistry:
    """A registry under ``root`` whose active nudity version is the shipped one changed."""
    shipped = ModelRegistry(root)
    meta = json.loads((shipped.version_dir(nudity.MODEL_NAME, SHIPPED.version)
                       / "metadata.json").read_text())
    meta.update(version="test-strict", **changes)
    directory = root / nudity.MODEL_NAME / "test-strict"
    directory.mkdir(parents=True)
    (directory / "metadata.json").write_text(json.dumps(meta))
    shipped.promote(nudity.MODEL_NAME, "test-strict", "a stricter threshold, by hand")
    return shipped


def test_changing_the_metadata_changes_the_decision(tmp_path: Path):
    middling = nudity.NudityScore(0.45, {"BUTTOCKS_EXPOSED": 0.45})
    assert not nudity.is_flagged(middling, card=SHIPPED)
    registry = _promote(tmp_path, thresholds={"sexual_content": 0.4,
                                              "sexual_content_minor": 0.2})
    strict = nudity.model_card(registry)
    assert (strict.version, strict.threshold, strict.minor_threshold) == ("test-strict", 0.4, 0.2)
    assert nudity.is_flagged(middling, card=strict)
    # And the labels that count come from the metadata too.
    narrow = _promote(tmp_path / "narrow",
                      label_mapping={"sexual_content": ["FEMALE_GENITALIA_EXPOSED"]})
    found = [{"class": "BUTTOCKS_EXPOSED", "score": 0.9, "box": [0] * 4}]
    assert nudity._score(found, SHIPPED).sexual_content == 0.9
    assert nudity._score(found, nudity.model_card(narrow)).sexual_content == 0.0


def test_the_environment_names_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _promote(tmp_path, thresholds={"sexual_content": 0.5, "sexual_content_minor": 0.3})
    monkeypatch.setenv("WORKBENCH_MODEL_DIR", str(tmp_path))
    assert nudity.model_card().threshold == 0.5


@pytest.mark.parametrize(("thresholds", "mapping", "message"), [
    ({"sexual_content": 0.3, "sexual_content_minor": 0.5}, None, "minor (0.5) <= threshold"),
    ({"sexual_content": 0.6}, None, "sexual_content_minor"),
    (None, {"sexual_content": []}, "no NudeNet labels"),
])
def test_bad_metadata_is_refused_naming_what_is_wrong(thresholds, mapping, message):
    meta = {"version": "x", "thresholds": thresholds or {"sexual_content": 0.6,
                                                         "sexual_content_minor": 0.35},
            "label_mapping": mapping or {"sexual_content": ["ANUS_EXPOSED"]}}
    with pytest.raises(nudity.NudityModelError, match=re.escape(message)):
        nudity.card_from_metadata(meta)
