"""`banks import/export --format hma|te`: HMA's CSV and ThreatExchange's signal files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.signal_type.pdq.signal import PdqSignal

from classifiers.images.samples import photograph
from tests.support.app import TEST_SECRET_KEY, reset_tables
from workbench.cli import main


@pytest.fixture
def cli(database_url: str, redis_url: str, tmp_path: Path):
    """``workbench ...`` run in this process against the test database."""
    reset_tables(database_url)
    env = {"WORKBENCH_INSTANCE_DIR": str(tmp_path / "instance"),
           "WORKBENCH_DATABASE_URL": database_url, "WORKBENCH_REDIS_URL": redis_url,
           "WORKBENCH_SECRET_KEY": TEST_SECRET_KEY}

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def banked(cli, tmp_path: Path) -> Path:
    """A bank ``source`` holding two photographs; returns where they are."""
    for seed in (41, 42):
        photograph(seed).save(tmp_path / f"p{seed}.png")
    assert cli("banks", "create", "source", "--category", "ncii").exit_code == 0
    added = cli("banks", "add", "source", str(tmp_path / "p41.png"), str(tmp_path / "p42.png"))
    assert "2 image(s) added" in added.output
    return tmp_path


def entries(cli) -> dict[str, int]:
    listed = cli("banks", "list", "--json").output.splitlines()
    return {bank["name"]: bank["entries"] for bank in map(json.loads, listed)}


@pytest.mark.parametrize("fmt", ["te", "hma"])
def test_each_format_round_trips_a_bank_and_is_detected(cli, banked: Path, fmt: str) -> None:
    exported = banked / f"bank.{fmt}"
    assert cli("banks", "export", "source", str(exported), "--format", fmt).exit_code == 0
    cli("banks", "create", "copy", "--category", "custom")
    imported = cli("banks", "import", "copy", str(exported))  # no --format: told by content
    assert imported.exit_code == 0, imported.output
    assert f"2 hash(es) added to copy, 0 already there ({fmt})" in imported.output
    again = banked / f"again.{fmt}"
    cli("banks", "export", "copy", str(again), "--format", fmt)
    if fmt == "hma":  # a CSV keeps quality and source
        assert again.read_text() == exported.read_text()
    else:
        assert sorted(again.read_text().splitlines()) == sorted(exported.read_text().splitlines())
    matched = cli("images", "match", str(banked / "p41.png"), "--json", "--no-nudity")
    assert sorted(m["bank"] for m in json.loads(matched.output)["matches"]) == ["copy", "source"]


def test_the_te_export_is_what_the_threatexchange_tools_read(cli, banked: Path) -> None:
    exported = banked / "bank.te"
    cli("banks", "export", "source", str(exported), "--format", "te")
    hma = banked / "bank.csv"
    cli("banks", "export", "source", str(hma), "--format", "hma")
    ours = {line.split(",")[0] for line in hma.read_text().splitlines()[1:]}
    # The library's own local-file exchange reads the file as PDQ signals.
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(
        name="bank", api="local_file", enabled=True, filename=str(exported)))
    [delta] = list(api.fetch_iter([PdqSignal], None))
    assert set(delta.updates) == {(PdqSignal.get_name(), pdq) for pdq in ours}
    for _, pdq in delta.updates:
        PdqSignal.validate_signal_str(pdq)


def test_a_te_file_of_mixed_signal_types_banks_only_the_pdq_lines(cli, tmp_path: Path) -> None:
    cli("banks", "create", "partner", "--category", "custom")
    listing = tmp_path / "hashes.txt"
    listing.write_text(f"pdq {'ab' * 32}\nphoto_md5 {'0' * 32}\n\npdq {'CD' * 32}\n")
    result = cli("banks", "import", "partner", str(listing), "--format", "te")
    assert "2 hash(es) added to partner, 0 already there " \
           "(te, 1 line(s) of other signal types skipped)" in result.output
    exported = cli("banks", "export", "partner", "-", "--format", "te").output
    assert exported.splitlines() == [f"pdq {'ab' * 32}", f"pdq {'cd' * 32}"]


@pytest.mark.parametrize(("fmt", "text", "line", "why"), [
    ("te", f"pdq {'ab' * 32}\npdq {'cd' * 32}\npdq not-a-hash\n", 3, "64 hex digits"),
    ("te", f"pdq {'ab' * 32}\n{'ef' * 32}\n", 2, "'<signal type> <signal>'"),
    ("hma", f"pdq_hash,quality\n{'ab' * 32},90\n{'cd' * 32},190\n", 3, "quality"),
    (None, f"# from a partner\npdq {'ab' * 32}\npdq {'cd' * 32} extra\n", 3, "signal type"),
    (None, f"pdq_hash,quality,source\n{'ab' * 32}\npdq {'cd' * 32}\n", 3, "64-hex-digit"),
])
def test_a_malformed_file_names_the_line_and_imports_nothing(
        cli, tmp_path: Path, fmt: str | None, text: str, line: int, why: str) -> None:
    cli("banks", "create", "partner", "--category", "custom")
    listing = tmp_path / "bad.txt"
    listing.write_text(text)
    result = cli("banks", "import", "partner", str(listing), *(["--format", fmt] if fmt else []))
    assert result.exit_code == 1
    assert f"nothing imported: line {line}:" in result.output and why in result.output
    assert entries(cli) == {"partner": 0}


def test_a_file_neither_format_is_refused_asking_for_the_format(cli, tmp_path: Path) -> None:
    cli("banks", "create", "partner", "--category", "custom")
    listing = tmp_path / "notes.txt"
    listing.write_text("\n# hashes below\nsee attachment\n")
    result = cli("banks", "import", "partner", str(listing))
    assert result.exit_code == 1
    assert "line 3: neither HMA's CSV nor a ThreatExchange signal line; give --format" \
        in result.output
    assert entries(cli) == {"partner": 0}


def test_the_form_is_told_by_the_first_hash_line_after_any_comments(cli, tmp_path: Path) -> None:
    cli("banks", "create", "partner", "--category", "custom")
    listing = tmp_path / "annotated.txt"
    listing.write_text("".join(f"# note {n}\n" for n in range(200)) + f"pdq {'ab' * 32}\n")
    result = cli("banks", "import", "partner", str(listing))
    assert "1 hash(es) added to partner, 0 already there (te)" in result.output
