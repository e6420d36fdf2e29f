"""Versioned artifacts: save, promote, list, fall back to the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.model import TextModel
from classifiers.registry import ModelNotFoundError, ModelRegistry, load_version_dir
from classifiers.text_sklearn import SklearnTextModel


def _copy_as_new_version(model: TextModel, version: str) -> TextModel:
    assert isinstance(model, SklearnTextModel)
    card = type(model.card)(model.name, version, model.labels, dict(model.thresholds),
                            dict(model.card.platt), {**model.metadata, "version": version,
                                                     "promotions": []})
    return SklearnTextModel(card, model.config, model.tables)


def test_empty_root_serves_the_shipped_model(tmp_path: Path, text_model: TextModel) -> None:
    registry = ModelRegistry(tmp_path)
    assert registry.active_version("text") == text_model.version
    assert registry.load("text").version == text_model.version
    assert [info.shipped for info in registry.versions("text")] == [True]


def test_unknown_model_and_version_raise(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotFoundError):
        registry.load("nonexistent")
    with pytest.raises(ModelNotFoundError):
        registry.load("text", "19990101T000000Z")
    with pytest.raises(ModelNotFoundError):
        registry.promote("text", "19990101T000000Z", "no such version")


def test_save_promote_and_metadata(tmp_path: Path, text_model: TextModel) -> None:
    registry = ModelRegistry(tmp_path)
    candidate = _copy_as_new_version(text_model, "29990101T000000000000Z")
    directory = registry.save(candidate)
    assert (directory / "model.joblib").is_file()
    assert registry.active_version("text") == text_model.version  # saved, not active yet

    registry.promote("text", candidate.version, "beats the shipped model on Hinglish")
    assert (tmp_path / "text" / "ACTIVE").read_text().strip() == candidate.version
    meta = json.loads((directory / "metadata.json").read_text())
    assert meta["promoted_reason"] == "beats the shipped model on Hinglish"
    assert meta["family"] == "sklearn" and meta["labels"] == list(text_model.labels)
    assert meta["created_at"].endswith("+00:00")
    assert all(len(item["sha256"]) == 64 for item in meta["training_data"]["files"])
    assert set(meta["thresholds"]) == set(text_model.labels)
    assert "davidson" in meta["metrics"]

    loaded = registry.load("text")
    assert loaded.version == candidate.version
    assert loaded.score(["you are an idiot"]) == text_model.score(["you are an idiot"])
    history = (tmp_path / "text" / "history.jsonl").read_text().splitlines()
    assert json.loads(history[-1])["previous"] == text_model.version

    versions = registry.versions("text")
    assert [(info.version, info.active) for info in versions] == [
        (text_model.version, False), (candidate.version, True)]


def test_promoting_back_to_the_shipped_version(tmp_path: Path, text_model: TextModel) -> None:
    registry = ModelRegistry(tmp_path)
    registry.save(_copy_as_new_version(text_model, "29990101T000000000001Z"))
    registry.promote("text", "29990101T000000000001Z", "try it")
    registry.promote("text", text_model.version, "roll back")
    assert registry.load("text") is text_model


def test_promoting_into_the_shipped_root_names_the_version_it_replaces(
    tmp_path: Path, text_model: TextModel
) -> None:
    registry = ModelRegistry(tmp_path, shipped_root=tmp_path)  # as `--model-dir` shipped
    registry.save(_copy_as_new_version(text_model, "29990101T000000000003Z"))
    registry.promote("text", "29990101T000000000003Z", "first")
    registry.save(_copy_as_new_version(text_model, "29990101T000000000004Z"))
    registry.promote("text", "29990101T000000000004Z", "second")
    history = [json.loads(line) for line in (tmp_path / "text" / "history.jsonl").open()]
    assert [(e["version"], e["previous"]) for e in history] == [
        ("29990101T000000000003Z", None),
        ("29990101T000000000004Z", "29990101T000000000003Z")]


def test_version_directories_are_loaded_once(tmp_path: Path, text_model: TextModel) -> None:
    registry = ModelRegistry(tmp_path)
    registry.save(_copy_as_new_version(text_model, "29990101T000000000002Z"))
    first = registry.load("text", "29990101T000000000002Z")
    assert registry.load("text", "29990101T000000000002Z") is first
    assert load_version_dir.cache_info().hits > 0
