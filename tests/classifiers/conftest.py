"""Fixtures for the text classifier tests: the real shipped models, loaded once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from classifiers.model import TextModel
from classifiers.registry import ModelRegistry
from tests.support.hinglish import hinglish_decisions


@pytest.fixture(scope="session")
def empty_model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry root with nothing trained in it: every load falls back to shipped."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def text_model(empty_model_root: Path) -> TextModel:
    """The shipped default ``text`` model."""
    return ModelRegistry(empty_model_root).load("text")


@pytest.fixture(scope="session")
def minilm_model(empty_model_root: Path) -> TextModel:
    """The shipped transformer-family model (MiniLM encoder + trained head)."""
    return ModelRegistry(empty_model_root).load("text-minilm")


@pytest.fixture
def hinglish() -> pd.DataFrame:
    """300 labelled Hinglish decisions with increasing ``decided_at``."""
    return hinglish_decisions(300)
