"""Each classifier family per language (English, Hindi, Hinglish), as shipped.

Families (the labels the workbench scores): ``abusive``, ``hate``, ``spam_scam``,
``extortion``, and ``any`` (any label flagged: what reaches a moderator). No self-harm
text classifier ships, so there is no row for it.

Systems, each at its own operating point (no threshold is tuned on a test set):

- ``text``, ``text-minilm``, ``text-ensemble``, ``text-adapted``, ``text-review``: the
  shipped models alone (sklearn, MiniLM encoder with a trained head, their mean, MiniLM
  fine-tuned through LoRA adapters, the mean of sklearn and the adapted: the second
  opinion on reported English), at their thresholds; they have no ``extortion`` label;
- ``workbench``: ``text`` under the lexicon and extortion layer, as the workbench scores
  every message;
- ``workbench-review``: ``text-review`` under the same layer, as the workbench scores
  the reported English it gives a second opinion on;
- ``lexicon``: a plain word-list match: the team's lexicon (Hindi and Hinglish terms,
  English phrases of 1:1 chat; any label's evidence at or above 0.5) or a whole-word hit
  of LDNOOBW ``en`` (read from ``../shared/data``, not shipped); ``abusive``, ``hate``
  and ``any`` only;
- ``peer``: ``alt-profanity-check`` at its own 0.5 (one profanity probability, English
  only by design): ``abusive``, ``hate`` and ``any`` only.

Sets, by the language they are written in:

- English: the shipped datasets' test splits (Davidson, OLID, SMS spam; never trained
  on; the peer was trained on all of Davidson, so its Davidson figures are in-sample),
  ConvAbuse's test split (CC BY 4.0; no model here trains on ConvAbuse) and HateCheck
  (functional suite, CC BY 4.0);
- Hindi (Devanagari) and Hinglish (Latin letters): the team's chat test set
  (``classifiers/resources/hindi_chat_test.tsv``, by its ``script`` column; messages in
  both scripts are a row of their own), HateCheckHIn (MIT; Devanagari, and code-mixed,
  which is all hateful) and Multilingual HateCheck Hindi (CC BY 4.0, romanised).

On the chat test set a family's positives are its categories (``abusive``: insult,
sexual harassment, slur, threat, extortion; ``hate``: slur; ``spam_scam``: scam;
``extortion``: extortion) and its negatives the ``none`` messages; other harms are
left out of that family. ``any`` is the set's own ``abusive`` column over every
message (scams included). On the suites ``hate`` is the suite's ``hateful`` and
``abusive`` also counts profanity and abuse of individuals (see ``bench/languages.py``).
Where a family has no labelled data in a language the table says "no test set".

The transformer families embed every text on the CPU (tens of texts a second on this
shared machine), so by default they see at most ``--transformer-rows`` rows of each
set, a fixed random sample; ``n`` in each row says how many.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from bench.classifiers import EmbeddingCache
from bench.english_more_data import convabuse
from bench.languages import DATA, suites
from classifiers.chat_test_set import load_chat_test_set
from classifiers.datasets import shipped_splits
from classifiers.lexicon import shipped_lexicon
from classifiers.model import TextModel
from classifiers.registry import ModelRegistry
from classifiers.text_lexicon import LexiconLayer

FAMILIES = ("any", "abusive", "hate", "spam_scam", "extortion")
SYSTEMS = ("text", "text-minilm", "text-ensemble", "text-adapted", "text-review",
           "workbench", "workbench-review", "lexicon", "peer")
#: Systems that run the MiniLM encoder (sampled to ``--transformer-rows`` per set).
ENCODER_SYSTEMS = ("text-minilm", "text-ensemble", "text-adapted", "text-review",
                   "workbench-review")
LANGUAGES = ("English", "Hindi (Devanagari)", "Hinglish (Latin)", "Hindi + Hinglish mixed")
#: What each system cannot score at all.
NOT_SCORED = {"text": {"extortion"}, "text-minilm": {"extortion"},
              "text-ensemble": {"extortion"}, "text-adapted": {"extortion"},
              "text-review": {"extortion"},
              "lexicon": {"spam_scam", "extortion"},
              "peer": {"spam_scam", "extortion"}}
#: Chat test set categories that are each family's positives (negatives: ``none``).
CHAT_FAMILY_CATEGORIES = {
    "abusive": {"insult", "sexual_harassment", "slur", "threat", "extortion"},
    "hate": {"slur"}, "spam_scam": {"scam"}, "extortion": {"extortion"}}
CHAT_SCRIPTS = {"Hindi (Devanagari)": "deva", "Hinglish (Latin)": "latn",
                "Hindi + Hinglish mixed": "mixed"}
SAMPLE_SEED = 0


@dataclass
class TestSet:
    """A labelled set: ``text`` and a 1/0/NaN gold column per family it has data for."""

    language: str
    name: str
    frame: pd.DataFrame
    note: str = ""


# --- the sets ---------------------------------------------------------------------------

def chat_sets() -> list[TestSet]:
    """The team's chat test set, one set per script."""
    chat = load_chat_test_set()
    out = []
    for language, script in CHAT_SCRIPTS.items():
        part = chat[chat["script"] == script].reset_index(drop=True)
        frame = pd.DataFrame({"text": part["text"], "any": part["abusive"].astype(float)})
        for family, categories in CHAT_FAMILY_CATEGORIES.items():
            frame[family] = np.where(part["category"].isin(categories), 1.0,
                                     np.where(part["category"] == "none", 0.0, np.nan))
        out.append(TestSet(language, "team chat test set", frame))
    return out


def english_splits() -> list[TestSet]:
    """The shipped datasets' test splits (never trained on)."""
    tests = shipped_splits().test
    out = []
    for name, note in (("davidson", "peer trained on all of it"), ("olid", ""),
                       ("sms_spam", "")):
        test = tests[name]
        frame = pd.DataFrame({"text": test["text"], "abusive": test["abusive"],
                              "hate": test["hate"], "spam_scam": test["spam_scam"]})
        # hate is abusive too (and unknown for OLID's offensive tweets): any = abusive or spam
        frame["any"] = frame[["abusive", "spam_scam"]].max(axis=1)
        out.append(TestSet("English", f"{name} test split", frame, note))
    return out


def convabuse_set(data: Path) -> list[TestSet]:
    """ConvAbuse's test split (messages users wrote to chatbots; CC BY 4.0), which no
    model here trains on (empty when ``data`` is absent)."""
    if not (data / "convabuse").is_dir():
        return []
    conv = convabuse(data, "test")
    frame = pd.DataFrame({"text": conv["text"], "abusive": conv["abusive"],
                          "any": conv["abusive"]})
    return [TestSet("English", "ConvAbuse test split", frame, "abusive when most annotators "
                    "gave a severity")]


def suite_sets(data: Path) -> list[TestSet]:
    """The licensed functional suites (empty when ``data`` is absent)."""
    languages = {"English": "English", "Hindi": "Hindi (Devanagari)",
                 "Hinglish": "Hinglish (Latin)"}
    out = []
    for name, suite in suites(data, None).items():
        prefix, _, title = name.partition(": ")
        frame = pd.DataFrame({"text": suite["text"], "hate": suite["hateful"].astype(float),
                              "abusive": suite["abusive"].astype(float),
                              "any": suite["abusive"].astype(float)})
        out.append(TestSet(languages[prefix], title, frame, "template-made suite"))
    return out


def all_sets(data: Path) -> list[TestSet]:
    """Every set, English first."""
    found = suite_sets(data)
    if not found:
        print(f"no licensed suites under {data}: only the shipped sets are measured "
              "(pass --data)", file=sys.stderr)
    sets = english_splits() + convabuse_set(data) + chat_sets() + found
    order = {language: index for index, language in enumerate(LANGUAGES)}
    return sorted(sets, key=lambda s: order[s.language])


# --- the systems ------------------------------------------------------------------------

Scorer = Callable[[list[str]], dict[str, tuple[np.ndarray, np.ndarray]]]


def _model_scorer(model: TextModel | LexiconLayer) -> Scorer:
    def score(texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        rows = model.score(texts)
        thresholds = model.thresholds
        out = {}
        for label in model.labels:
            p = np.array([row[label] for row in rows])
            out[label] = (p, p >= thresholds[label])
        p_any = np.array([max(row.values()) for row in rows])
        out["any"] = (p_any, np.array([bool(model.flagged(row)) for row in rows]))
        return out
    return score


def english_word_list(data: Path) -> re.Pattern[str] | None:
    """LDNOOBW ``en`` as one whole-word pattern (None when the folder is absent)."""
    path = data / "ldnoobw" / "en"
    if not path.exists():
        print(f"no English word list at {path}: the lexicon system is Hindi and Hinglish "
              "only", file=sys.stderr)
        return None
    words = [line.strip().lower() for line in path.read_text().splitlines() if line.strip()]
    words.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


def _lexicon_scorer(data: Path) -> Scorer:
    english = english_word_list(data)

    def score(texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        rows = shipped_lexicon().scores_batch(texts)
        hindi_abusive = np.array([row.get("abusive", 0.0) for row in rows])
        hate = np.array([row.get("hate", 0.0) for row in rows])
        words = np.array([1.0 if english is not None and english.search(t.lower()) else 0.0
                          for t in texts])
        abusive = np.maximum(hindi_abusive, words)
        p_any = np.maximum(abusive, hate)
        return {"abusive": (abusive, abusive >= 0.5), "hate": (hate, hate >= 0.5),
                "any": (p_any, p_any >= 0.5)}
    return score


def _peer_scorer(texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from profanity_check import predict_prob

    p = np.asarray(predict_prob(texts), dtype=np.float64)
    return {family: (p, p >= 0.5) for family in ("abusive", "hate", "any")}


def _embedding_once(model: TextModel, cache: EmbeddingCache) -> TextModel:
    """``model`` with every transformer part embedding through ``cache`` (each text is
    embedded once for ``text-minilm`` and ``text-ensemble`` together)."""
    for part in [model, *getattr(model, "parts", [])]:
        if hasattr(part, "embedder"):
            part.embedder = cache
    return model


def scorers(registry: ModelRegistry, data: Path) -> dict[str, Scorer]:
    """Every system by name."""
    text = registry.load("text")
    review = registry.load("text-review")
    cache = EmbeddingCache()
    return {"text": _model_scorer(text),
            "text-minilm": _model_scorer(_embedding_once(registry.load("text-minilm"), cache)),
            "text-ensemble": _model_scorer(_embedding_once(registry.load("text-ensemble"),
                                                           cache)),
            "text-adapted": _model_scorer(registry.load("text-adapted")),
            "text-review": _model_scorer(review),
            "workbench": _model_scorer(LexiconLayer(text)),
            "workbench-review": _model_scorer(LexiconLayer(review)),
            "lexicon": _lexicon_scorer(data),
            "peer": _peer_scorer}


# --- the measuring ----------------------------------------------------------------------

def metrics(gold: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    """n, positives, precision, recall, macro-F1, false positives (how many negatives
    were flagged, and their share: None without negatives) and ROC-AUC (None with one
    class)."""
    y = gold.astype(int)
    both = len(np.unique(y)) == 2
    negatives = int((y == 0).sum())
    false_positives = int(np.sum(np.asarray(flagged, dtype=bool) & (y == 0)))
    return {"n": int(len(y)), "positives": int(y.sum()),
            "precision": float(precision_score(y, flagged, zero_division=0.0)),
            "recall": float(recall_score(y, flagged, zero_division=0.0)),
            "macro_f1": float(f1_score(y, flagged, average="macro", zero_division=0.0)),
            "flagged": float(np.mean(flagged)),
            "false_positives": false_positives,
            "false_positive_rate": false_positives / negatives if negatives else None,
            "roc_auc": float(roc_auc_score(y, score)) if both else None}


def evaluate_set(test: TestSet, systems: dict[str, Scorer],
                 transformer_rows: int | None) -> dict[str, dict[str, Any]]:
    """``{family: {system: metrics or a reason}}`` for one set."""
    frame = test.frame
    out: dict[str, dict[str, Any]] = {family: {} for family in FAMILIES}
    for system, scorer in systems.items():
        part = frame
        if system in ENCODER_SYSTEMS and transformer_rows \
                and len(frame) > transformer_rows:
            part = frame.sample(n=transformer_rows, random_state=SAMPLE_SEED)
        print(f"  {test.language} / {test.name}: {system} on {len(part)} texts",
              file=sys.stderr, flush=True)
        scored = scorer(part["text"].tolist())
        for family in FAMILIES:
            if family not in frame.columns:
                out[family][system] = "no test set"
                continue
            if family in NOT_SCORED.get(system, set()):
                out[family][system] = "not scored"
                continue
            y = part[family].to_numpy(dtype=np.float64)
            known = ~np.isnan(y)
            if not known.any():
                out[family][system] = "no test set"
                continue
            score, flagged = scored[family]
            out[family][system] = metrics(y[known], score[known], flagged[known])
    return out


def language_report(data: Path = DATA, transformer_rows: int | None = 1000,
                    model_root: Path | None = None) -> list[dict[str, Any]]:
    """Every set's figures: ``[{language, set, note, families: {...}}]``."""
    registry = ModelRegistry(model_root or Path("instance") / "models")
    systems = scorers(registry, data)
    return [{"language": test.language, "set": test.name, "note": test.note,
             "rows": len(test.frame),
             "families": evaluate_set(test, systems, transformer_rows)}
            for test in all_sets(data)]


def missing_families(report: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per language, the families no set of that language has labelled data for."""
    out: dict[str, list[str]] = {}
    for language in LANGUAGES:
        rows = [row for row in report if row["language"] == language]
        out[language] = [family for family in FAMILIES if all(
            all(value == "no test set" for value in row["families"][family].values())
            for row in rows)]
    return out


# --- printing ---------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value["positives"] == value["n"]:
        return f"recall {value['recall']:.2f}"
    if value["positives"] == 0:
        return f"flagged {value['flagged']:.3f}"
    return f"{value['macro_f1']:.3f} ({value['precision']:.2f}/{value['recall']:.2f})"


def table_rows(report: list[dict[str, Any]]) -> list[list[str]]:
    """One row per language, set and family with data: n (positives), then each system's
    ``macro-F1 (precision/recall)``; a set whose messages are all positive gives recall
    instead. Families with no positive in a set are left out of the table."""
    rows = []
    for entry in report:
        for family in FAMILIES:
            cells = entry["families"][family]
            measured = [v for v in cells.values() if isinstance(v, dict)]
            if not measured or not any(v["positives"] for v in measured):
                continue  # nothing to find (e.g. abuse in SMS spam): in the JSON only
            n = max(v["n"] for v in measured)
            positives = max(v["positives"] for v in measured if v["n"] == n)
            rows.append([entry["language"], entry["set"], family, f"{n} ({positives})",
                         *(_cell(cells[system]) if isinstance(cells[system], str)
                           or cells[system]["n"] == n
                           else _cell(cells[system]) + f" n={cells[system]['n']}"
                           for system in SYSTEMS)])
    return rows


def benign_rows(report: list[dict[str, Any]]) -> list[list[str]]:
    """Benign messages of the team chat test set flagged (``any`` family), one row per
    script: the script, benign messages, then each system's ``flagged/benign (rate)``
    (the size of the sample where a transformer family saw one)."""
    rows = []
    for entry in report:
        if entry["set"] != "team chat test set" or entry["language"] not in CHAT_SCRIPTS:
            continue
        cells = entry["families"]["any"]
        measured = [v for v in cells.values() if isinstance(v, dict)]
        if not measured:
            continue
        benign = max(v["n"] - v["positives"] for v in measured)
        row = [entry["language"], str(benign)]
        for system in SYSTEMS:
            value = cells.get(system)
            if not isinstance(value, dict) or value["false_positive_rate"] is None:
                row.append(value if isinstance(value, str) else "no benign message")
                continue
            row.append(f"{value['false_positives']}/{value['n'] - value['positives']} "
                       f"({value['false_positive_rate']:.3f})")
        rows.append(row)
    return rows


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(title)
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths,
                                                                        strict=True)))


def print_report(report: list[dict[str, Any]]) -> None:
    """The table, the families without a test set per language, then the benign
    messages of the team chat test set flagged per script."""
    _print_table("\nper language: macro-F1 (precision/recall) at each system's own threshold",
                 ["language", "set", "family", "n (pos)", *SYSTEMS], table_rows(report))
    for language, families in missing_families(report).items():
        if families:
            print(f"{language}: no test set for {', '.join(families)}")
    _print_table("\nbenign messages flagged (any label), team chat test set, per script",
                 ["script", "benign", *SYSTEMS], benign_rows(report))


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(report: list[dict[str, Any]]) -> str:
    """The same table in Markdown."""
    return _markdown(["language", "set", "family", "n (positives)", *SYSTEMS],
                     table_rows(report))


def markdown_benign_table(report: list[dict[str, Any]]) -> str:
    """:func:`benign_rows` in Markdown."""
    return _markdown(["script", "benign messages", *SYSTEMS], benign_rows(report))


# --- the learning curve, as bench/learning.py measured it --------------------------------

def load_learning(path: Path) -> dict[str, Any] | None:
    """The JSON line ``bench/learning.py`` printed, saved to ``path`` (None if absent)."""
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def learning_rows(learning: dict[str, Any]) -> list[list[str]]:
    """Decisions, how chosen, model alone and under the layer (macro-F1 / ROC-AUC), and
    how many seeds' candidates were promoted."""
    def pair(cell: dict[str, Any]) -> str:
        return f"{cell['macro_f1']:.3f} / {cell['roc_auc']:.3f}"

    shipped, lexicon = learning["baselines"]["shipped"], learning["baselines"]["lexicon"]
    rows = [["0", "shipped model", pair(shipped), pair(shipped["with_lexicon"]), ""],
            ["0", "plain lexicon match", pair(lexicon), "", ""]]
    for strategy, cells in learning["curves"].items():
        for size, cell in cells.items():
            rows.append([size, strategy, pair(cell["model"]), pair(cell["model+lexicon"]),
                         f"{cell['promoted']} of {learning['seeds']}"])
    return rows


def print_learning(learning: dict[str, Any] | None, path: Path) -> None:
    """The saved learning curve, or how to make it."""
    if learning is None or learning.get("skipped"):
        print(f"\nlearning curve: none saved at {path}; run `make bench-learning` and save "
              "its output there")
        return
    print(f"\nlearning curve (bench/learning.py, {learning.get('date', '?')}, commit "
          f"{learning.get('commit', '?')}, {learning['seeds']} seeds; team chat test set, "
          f"{learning['test_rows']} messages; macro-F1 / ROC-AUC)")
    header = ["decisions", "chosen", "model alone", "model + lexicon", "promoted"]
    for row in [header, *learning_rows(learning)]:
        print(f"{row[0]:>9}  {row[1]:20} {row[2]:15} {row[3]:15} {row[4]}")
