"""``workbench banks`` and ``workbench images match``, run in a subprocess as a person would.

A test's later commands run in this process (``tests.support.cli``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.images.samples import ALTERATIONS, photograph
from tests.support.cli import cli_environment, invoke, run


@pytest.fixture
def cli_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_environment(database_url, redis_url, tmp_path)


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    """Two banked originals, a cropped and re-encoded copy, a turned copy, a stranger."""
    out = {}
    made = {"a": photograph(31), "b": photograph(32), "stranger": photograph(33)}
    made["a_copy"] = ALTERATIONS["crop_7_jpeg"](made["a"])
    made["b_turned"] = ALTERATIONS["rotate_90"](made["b"])
    for name, image in made.items():
        out[name] = tmp_path / f"{name}.jpg"
        image.save(out[name], "JPEG", quality=90)
    (tmp_path / "junk.jpg").write_bytes(b"<html>not an image</html>")
    out["junk"] = tmp_path / "junk.jpg"
    return out


def test_banks_create_add_list_and_match_as_json(cli_env, pictures) -> None:
    assert run(cli_env, "banks", "create", "ncii-main", "--category", "ncii").returncode == 0
    again = invoke(cli_env, "banks", "create", "ncii-main", "--category", "ncii")
    assert again.exit_code == 1 and "exists" in again.stderr
    bad = invoke(cli_env, "banks", "create", "../etc", "--category", "ncii")
    assert bad.exit_code == 1
    added = invoke(cli_env, "banks", "add", "ncii-main", str(pictures["a"]), str(pictures["b"]))
    assert added.exit_code == 0 and "2 image(s) added" in added.stdout
    listed = invoke(cli_env, "banks", "list", "--json")
    [bank] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (bank["name"], bank["category"], bank["entries"]) == ("ncii-main", "ncii", 2)

    result = invoke(cli_env, "images", "match", str(pictures["a_copy"]),
                    str(pictures["b_turned"]), str(pictures["stranger"]), "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(line) for line in lines] == [
        {"file", "sha256", "pdq", "quality", "matches", "nudity"}] * 3
    copy, turned, stranger = lines
    assert [m["bank"] for m in copy["matches"]] == ["ncii-main"]
    assert copy["matches"][0]["category"] == "ncii" and copy["matches"][0]["distance"] <= 31
    assert [m["bank"] for m in turned["matches"]] == ["ncii-main"]
    assert stranger["matches"] == []
    assert len(copy["pdq"]) == 64 and 0 <= copy["nudity"] < 0.6 and copy["quality"] >= 50


def test_an_unreadable_image_is_reported_and_the_others_still_matched(cli_env, pictures) -> None:
    result = run(cli_env, "images", "match", str(pictures["junk"]), str(pictures["a"]),
                 "--json", "--no-nudity")
    assert result.returncode == 1
    junk, a = [json.loads(line) for line in result.stdout.splitlines()]
    assert "JPEG, PNG or WebP" in junk["error"]
    assert a["matches"] == [] and a["nudity"] is None


def test_export_then_import_round_trips_a_bank(cli_env, pictures, tmp_path) -> None:
    run(cli_env, "banks", "create", "scams", "--category", "scam_image")
    invoke(cli_env, "banks", "add", "scams", str(pictures["a"]), str(pictures["b"]))
    exported = tmp_path / "scams.csv"
    assert invoke(cli_env, "banks", "export", "scams", str(exported)).exit_code == 0
    lines = exported.read_text().splitlines()
    assert lines[0] == "pdq_hash,quality,source" and len(lines) == 3
    assert all(len(line.split(",")[0]) == 64 for line in lines[1:])

    invoke(cli_env, "banks", "create", "partner", "--category", "custom")
    imported = invoke(cli_env, "banks", "import", "partner", str(exported))
    assert imported.exit_code == 0 and "2 hash(es) added" in imported.stdout
    twice = invoke(cli_env, "banks", "import", "partner", str(exported))
    assert "0 hash(es) added to partner, 2 already there" in twice.stdout
    reexport = tmp_path / "partner.csv"
    invoke(cli_env, "banks", "export", "partner", str(reexport))
    assert reexport.read_text() == exported.read_text()
    # Imported hashes match a resized copy through the whole-image hash.
    matched = invoke(cli_env, "images", "match", str(pictures["a"]), "--json", "--no-nudity")
    banks = sorted(m["bank"] for m in json.loads(matched.stdout)["matches"])
    assert banks == ["partner", "scams"]


def test_a_bad_hash_list_imports_nothing_and_names_the_line(cli_env, tmp_path) -> None:
    invoke(cli_env, "banks", "create", "terror", "--category", "terror")
    listing = tmp_path / "list.csv"
    listing.write_text("# a comment\n" + "ab" * 32 + ",90,partner-1\n"
                       + "cd" * 32 + "\n" + "zz-not-a-hash\n")
    result = run(cli_env, "banks", "import", "terror", str(listing))
    assert result.returncode == 1 and "line 4" in result.stderr
    listed = json.loads(invoke(cli_env, "banks", "list", "--json").stdout)
    assert listed["entries"] == 0
