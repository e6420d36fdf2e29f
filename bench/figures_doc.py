"""Write ``docs/classifier-figures.md`` from one run of ``bench/classifiers.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.language_report import (
    SYSTEMS,
    learning_rows,
    markdown_benign_table,
    markdown_table,
    missing_families,
)

INTRO = """\
Figures of the text classifiers per language (English, Hindi in Devanagari, Hinglish in
Latin letters), written by `bench/classifiers.py`. Every figure here was measured in the
run named below; nothing is typed in by hand. Definitions of the sets, families and
systems: the docstring of `bench/language_report.py`.
"""

SYSTEM_NOTES = {
    "text": "shipped `text` model (sklearn family) alone, at its operating thresholds",
    "text-minilm": "shipped transformer family (MiniLM encoder, trained head) alone",
    "text-ensemble": "shipped mean of the two families, alone",
    "text-adapted": "shipped adapted family (MiniLM fine-tuned through LoRA adapters), alone",
    "text-review": "shipped mean of `text` and `text-adapted`, alone: the second opinion "
                   "on reported English",
    "workbench": "`text` under the lexicon and extortion layer: what the workbench scores "
                 "every message",
    "workbench-review": "`text-review` under the same layer: what the workbench scores the "
                        "reported English it gives a second opinion on",
    "lexicon": "plain word-list match: the team's lexicon (Hindi and Hinglish terms, "
               "English phrases of 1:1 chat; evidence >= 0.5) or a whole-word LDNOOBW `en` "
               "hit",
    "peer": "`alt-profanity-check` at 0.5 (English only by design)",
}


def _english_section(held_out: dict[str, Any] | None) -> list[str]:
    if not held_out:
        return []
    lines = ["", "## English: families trained afresh on the shipped splits, against the peer",
             "", "The original `bench/classifiers.py` report (thresholds best-F1 on "
             "validation; the peer's too). Macro-F1 / ROC-AUC:", "",
             "| set (label) | sklearn | transformer | ensemble | peer |",
             "| --- | --- | --- | --- | --- |"]
    for dataset, label in (("davidson", "abusive"), ("davidson", "hate"),
                           ("sms_spam", "spam_scam")):
        cells = [f"{held_out[f][dataset][label]['macro_f1']:.3f} / "
                 f"{held_out[f][dataset][label]['roc_auc']:.3f}"
                 for f in ("sklearn", "transformer", "ensemble", "peer")]
        lines.append(f"| {dataset} ({label}) | " + " | ".join(cells) + " |")
    return lines


def markdown(stamp: dict[str, str], command: str, seconds: float,
             report: list[dict[str, Any]], learning: dict[str, Any] | None,
             learning_path: Path, held_out: dict[str, Any] | None = None) -> str:
    """The whole document."""
    lines = ["# Classifier figures per language", "", INTRO,
             f"Run: {stamp['date']} (UTC), commit `{stamp['commit']}`, {seconds:.0f} s on the "
             "shared 2-core machine.", "",
             f"Regenerate: `{command}` (needs the licensed suites in `../shared/data`; "
             "without them only the shipped sets are measured).", "",
             "## Each family per language, set and system", "",
             "Cells: macro-F1 (precision/recall of the flagged class) at each system's own "
             "threshold; `recall` alone where every message of the set is positive (a "
             "family with no positive in a set is in the JSON only); `n=` where a "
             "transformer family saw a fixed sample of the set; \"not scored\": the "
             "system has no such label.", ""]
    lines += [f"- `{system}`: {SYSTEM_NOTES[system]}" for system in SYSTEMS]
    lines += ["", markdown_table(report), ""]
    for language, families in missing_families(report).items():
        if families:
            lines.append(f"- {language}: no test set for {', '.join(families)}.")
    lines += ["- No self-harm text classifier ships, so no family row for it.", "",
              "## Benign chat flagged, per script", "",
              "Messages of the team chat test set labelled benign (`none`) that a system "
              "flagged with any label: flagged/benign (false-positive rate). A benign "
              "message flagged is a moderator's time and a user wrongly reported.", "",
              markdown_benign_table(report), "",
              "## Learning curve", ""]
    if learning is None or learning.get("skipped"):
        lines.append(f"Not measured in this run: none saved at `{learning_path}`.")
    else:
        lines += [
            f"From `bench/learning.py` ({learning.get('date', 'date not recorded')}, commit "
            f"`{learning.get('commit', '?')}`, {learning['seeds']} seeds, median), saved at "
            f"`{learning_path}` and read, not recomputed. Simulated decisions from the "
            "licensed Hindi and Hinglish suites retrain `text`; each candidate is measured "
            f"on the team chat test set ({learning['test_rows']} messages, "
            f"{learning['test_abusive']} abusive). Macro-F1 / ROC-AUC; \"promoted\" is how "
            "many seeds' candidates passed the promotion check.", "",
            "| decisions | chosen | model alone | model + lexicon | promoted |",
            "| --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(row) + " |" for row in learning_rows(learning)]
    lines += _english_section(held_out)
    return "\n".join(lines) + "\n"
