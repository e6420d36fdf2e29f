"""A production deployment (more than one machine) names what is shared, never defaults it
to one machine's disk: no generated key file, no embedded Redis, no SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.settings import SettingsError, load_settings

SHARED = {"WORKBENCH_PRODUCTION": "1",
          "WORKBENCH_SECRET_KEY": "a-shared-secret-key-0123456789",
          "WORKBENCH_REDIS_URL": "redis://redis.internal:6379/0",
          "WORKBENCH_DATABASE_URL": "postgresql://workbench@db.internal/workbench",
          "WORKBENCH_STORAGE_URL": "s3://workbench-blobs/prod"}


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ("WORKBENCH_SECRET_KEY", "none is generated"),
        ("WORKBENCH_REDIS_URL", "embedded Redis"),
        ("WORKBENCH_DATABASE_URL", "PostgreSQL is required"),
    ],
)
def test_production_refuses_to_default_what_must_be_shared(
    tmp_path: Path, missing: str, words: str
) -> None:
    env = {k: v for k, v in SHARED.items() if k != missing}
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **env})
    assert str(err.value).startswith(missing) and words in str(err.value)
    assert not (tmp_path / "secret_key").exists()  # no machine-local key was made


def test_production_refuses_a_sqlite_file(tmp_path: Path) -> None:
    env = dict(SHARED, WORKBENCH_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(SettingsError, match="^WORKBENCH_DATABASE_URL: PostgreSQL"):
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **env})


def test_a_complete_production_configuration_writes_nothing_locally(tmp_path: Path) -> None:
    s = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **SHARED})
    assert s.production and s.secret_key == SHARED["WORKBENCH_SECRET_KEY"]
    assert s.storage_url == "s3://workbench-blobs/prod"
    assert not list(tmp_path.iterdir())


def test_outside_production_a_key_file_is_still_generated_for_one_machine(
    tmp_path: Path,
) -> None:
    s = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path)})
    assert (tmp_path / "secret_key").read_text() == s.secret_key


def test_the_command_line_stops_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    env: dict[str, str | None] = {**SHARED, "WORKBENCH_SECRET_KEY": None}  # None: unset
    result = CliRunner().invoke(main, ["cases", "list"],
                                env={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **env})
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: WORKBENCH_SECRET_KEY: required in production (every process must sign with "
        "the same key; none is generated)"]
