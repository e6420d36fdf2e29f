from __future__ import annotations

from pathlib import Path

import pytest

from workbench.settings import SettingsError, load_settings


def test_defaults_live_under_the_instance_folder(tmp_path: Path) -> None:
    s = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'workbench.db'}"
    assert s.storage_dir == tmp_path / "blobs"
    assert s.redis_url == ""
    # The generated secret key is kept, so a restart can still read platform secrets.
    again = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path)})
    assert s.secret_key == again.secret_key and len(s.secret_key) >= 32


def test_postgres_urls_use_the_installed_driver(tmp_path: Path) -> None:
    s = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path),
                               "WORKBENCH_DATABASE_URL": "postgresql://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("WORKBENCH_DATABASE_URL", "not a url", "not a SQLAlchemy database URL"),
        ("WORKBENCH_DATABASE_URL", "mysql://x/y", "only sqlite"),
        ("WORKBENCH_REDIS_URL", "http://x", "expected redis://"),
        ("WORKBENCH_SECRET_KEY", "short", "at least 16"),
        ("WORKBENCH_MAX_JSON_BYTES", "-4", "positive"),
        ("WORKBENCH_MAX_JSON_BYTES", "5MB", "whole number"),
        ("WORKBENCH_JOB_HEARTBEAT_S", "7200", "1 to 3600 seconds"),
        ("WORKBENCH_JOB_HEARTBEAT_GRACE_S", "0", "positive"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), name: value})
    assert str(err.value).startswith(name) and words in str(err.value)


def test_the_languages_setting_is_checked_at_start_up(tmp_path: Path) -> None:
    environ = {"WORKBENCH_INSTANCE_DIR": str(tmp_path), "WORKBENCH_LANGUAGES": '["en", "xx"]'}
    with pytest.raises(SettingsError, match="WORKBENCH_LANGUAGES: unsupported"):
        load_settings(environ=environ)
    environ["WORKBENCH_LANGUAGES"] = '["en", "hi", "hi-Latn", "ta"]'
    assert load_settings(environ=environ).languages == ["en", "hi", "hi-Latn", "ta"]
