"""The adapted family: MiniLM with LoRA adapters, trained, stored small, loaded the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.datasets import Splits, shipped_splits
from classifiers.model import TextModel
from classifiers.registry import ModelRegistry, load_version_dir
from classifiers.text_adapted import ARTIFACT, AdaptedConfig
from classifiers.training import TrainingRequest, train

TEXTS = ["you are a stupid idiot", "see you at dinner tonight, love you",
         "WINNER!! claim your free prize now, call 09061701461"]


@pytest.fixture(scope="module")
def adapted_model(empty_model_root: Path) -> TextModel:
    """The shipped ``text-adapted`` model."""
    return ModelRegistry(empty_model_root).load("text-adapted")


def test_a_small_training_run_saves_only_the_adapters_and_loads_the_same_scores(
    tmp_path: Path,
) -> None:
    base = shipped_splits()
    splits = Splits(base.train.sample(96, random_state=3), base.val.sample(96, random_state=3),
                    {})
    config = AdaptedConfig(rank=2, alpha=4, epochs=1, batch=32)
    model = train(TrainingRequest("text-adapted", "adapted", splits, adapted=config))
    assert model.metadata["family"] == "adapted"
    assert model.metadata["config"]["adapters"]["rank"] == 2
    assert len(model.metadata["config"]["loss_per_epoch"]) == 1
    directory = ModelRegistry(tmp_path).save(model)
    # Adapters and head only: the encoder's 22 M weights stay in their package.
    assert (directory / ARTIFACT).stat().st_size < 400_000
    loaded = load_version_dir(str(directory))
    assert loaded is not model and loaded.family == "adapted"
    np.testing.assert_allclose(loaded.probabilities(TEXTS), model.probabilities(TEXTS),
                               atol=1e-6)


def test_stored_adapters_that_do_not_fit_the_encoder_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    base = shipped_splits()
    splits = Splits(base.train.head(32), base.val.head(64), {})
    model = train(TrainingRequest("text-adapted", "adapted", splits,
                                  adapted=AdaptedConfig(rank=2, alpha=4, epochs=1)))
    directory = ModelRegistry(tmp_path).save(model)
    tensors = load_file(str(directory / ARTIFACT))
    renamed = {key.replace("layer.0.", "layer.9."): value for key, value in tensors.items()}
    save_file(renamed, str(directory / ARTIFACT))
    with pytest.raises(ValueError, match="do not fit the encoder"):
        load_version_dir(str(directory)).probabilities(TEXTS)


def test_the_shipped_adapted_model_scores_and_explains(adapted_model: TextModel) -> None:
    assert adapted_model.metadata["family"] == "adapted"
    abusive, benign, spam = adapted_model.score(TEXTS)
    assert adapted_model.flagged(abusive) == ["abusive"]
    assert adapted_model.flagged(benign) == []
    assert "spam_scam" in adapted_model.flagged(spam)
    words = [word for word, _ in adapted_model.explain(TEXTS[0], "abusive", 2)]
    assert {"stupid", "idiot"} & set(words)
