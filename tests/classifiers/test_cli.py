"""``workbench classifiers ...`` through click's runner, on the real shipped model."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from classifiers.cli import classifiers


def _run(root: Path, *args: str, obj: dict[str, object] | None = None):
    return CliRunner().invoke(classifiers, ["--model-dir", str(root), *args], obj=obj)


def _one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:")
    return str(lines[0])


def test_score_writes_probabilities_and_flagged(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["you are an 1d10t", "lovely weather today",
                                            "WINNER! claim your free prize, txt WIN to 80082"],
                  "channel": ["chat", "chat", "sms"]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    result = _run(tmp_path / "models", "score", "--input", str(source), "--output", str(target))
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target, keep_default_na=False)
    assert list(out.columns) == ["id", "text", "channel", "abusive", "hate", "spam_scam",
                                 "flagged"]
    assert out["id"].tolist() == [1, 2, 3]
    assert out["flagged"].tolist() == ["abusive", "", "spam_scam"]
    assert out["abusive"][0] > 0.9 > out["abusive"][1]


def test_score_without_text_column_fails_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"message": ["hello"]}).to_csv(source, index=False)
    line = _one_line_error(_run(tmp_path, "score", "--input", str(source),
                                "--output", str(tmp_path / "o.csv")))
    assert "no column text" in line


def test_score_unreadable_file_fails_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "binary.csv"
    source.write_bytes(b"\xff\xfe\x00\x00garbage\x00\xff")
    _one_line_error(_run(tmp_path, "score", "--input", str(source),
                         "--output", str(tmp_path / "o.csv")))
    line = _one_line_error(_run(tmp_path, "score", "--input", str(tmp_path / "missing.csv"),
                                "--output", str(tmp_path / "o.csv")))
    assert "cannot read" in line


def test_score_missing_model_fails_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": ["hello"]}).to_csv(source, index=False)
    line = _one_line_error(_run(tmp_path, "score", "--model", "nope", "--input", str(source),
                                "--output", str(tmp_path / "o.csv")))
    assert "nope" in line


def test_list_and_promote(tmp_path: Path) -> None:
    result = _run(tmp_path, "list")
    assert result.exit_code == 0
    assert any(line.startswith("* text ") for line in result.output.splitlines())
    _one_line_error(_run(tmp_path, "promote", "text", "19990101T000000Z"))


def test_evaluate_on_a_labelled_file(tmp_path: Path) -> None:
    data = tmp_path / "labels.csv"
    pd.DataFrame({"text": ["you are an idiot", "you stupid moron", "nice to meet you",
                           "thanks for the lift"],
                  "label": ["abusive", "1", "none", "0"]}).to_csv(data, index=False)
    result = _run(tmp_path, "evaluate", "text", "--data", str(data))
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "abusive" in line)
    assert row.split()[2] == "1.000"  # macro F1 on four easy messages


def test_retrain_reads_the_workbench_decision_loader(tmp_path: Path) -> None:
    def loader() -> pd.DataFrame:
        return pd.DataFrame({"text": ["a message"] * 20, "label": ["rude"] * 20,
                             "decided_at": ["2026-01-01T00:00:00Z"] * 20})

    line = _one_line_error(_run(tmp_path, "retrain", "text", obj={"decision_loader": loader}))
    assert "unknown labels ['rude']" in line
    line = _one_line_error(_run(tmp_path, "retrain", "text"))
    assert "at least 10" in line


def test_score_through_the_workbench_neutralises_formulas_in_its_csv(tmp_path: Path) -> None:
    from workbench.cli import main

    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["=1+1"], "text": ["@SUM(A1)\rmore"]}).to_csv(
        source, index=False, lineterminator="\r\n")
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["classifiers", "--model-dir", str(tmp_path / "models"),
                                       "score", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["id"], r["text"]) for r in rows] == [("'=1+1", "'@SUM(A1)\rmore")]


def test_combine_saves_the_mean_of_two_families_and_makes_it_active(tmp_path: Path) -> None:
    from classifiers.registry import ModelRegistry

    root = tmp_path / "models"
    result = _run(root, "combine", "text-mix", "text", "text-minilm", "--limit", "300")
    assert result.exit_code == 0, result.output
    assert "mean of text, text-minilm" in result.output
    combined = ModelRegistry(root).load("text-mix")
    assert combined.family == "ensemble"
    assert sorted(part.family for part in combined.parts) == ["sklearn", "transformer"]  # type: ignore[attr-defined]
    assert sorted(combined.metadata["config"]["parts"]) == ["sklearn", "transformer"]
    abusive, benign = combined.score(["you are a stupid idiot", "lovely weather today"])
    assert "abusive" in combined.flagged(abusive) and combined.flagged(benign) == []
    history = (root / "text-mix" / "history.jsonl").read_text()
    assert "combined from text " in history and ", text-minilm " in history


def test_combine_refuses_one_part_or_two_of_one_family(tmp_path: Path) -> None:
    assert "two or more" in _one_line_error(_run(tmp_path, "combine", "text-mix", "text"))
    line = _one_line_error(_run(tmp_path, "combine", "text-mix", "text", "text"))
    assert "different families" in line and "'text': 'sklearn'" in line
    line = _one_line_error(_run(tmp_path, "combine", "text-mix", "text", "no-such-model"))
    assert "no-such-model" in line
