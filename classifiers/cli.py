"""``workbench classifiers ...``: train, combine, evaluate, list, promote, score and
retrain models.

The group takes ``--model-dir`` (default ``$WORKBENCH_MODEL_DIR`` or
``./instance/models``). ``retrain`` reads moderator decisions from
``ctx.obj["decision_loader"]`` when the workbench provides one (a callable
returning a frame with ``text,label,decided_at``) and/or from ``--labels FILE``; ``score``
writes its CSV with ``ctx.obj["csv_writer"]`` when given (the workbench's safe writer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click
import pandas as pd
from tqdm import tqdm

from classifiers.datasets import shipped_splits
from classifiers.evaluation import evaluate_model
from classifiers.registry import (
    DEFAULT_MODEL_DIR,
    MODEL_DIR_ENV,
    ModelNotFoundError,
    ModelRegistry,
)
from classifiers.retrain import decisions_to_frame, retrain
from classifiers.training import (
    DEFAULT_FAMILY,
    FAMILIES,
    TrainingRequest,
    compose_ensemble,
    train,
)

logger = logging.getLogger(__name__)

#: Texts scored per batch by ``score``.
SCORE_BATCH = 2000


def _registry(ctx: click.Context) -> ModelRegistry:
    registry: ModelRegistry = ctx.obj["registry"]
    return registry


def _read_csv(path: Path, required: set[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as error:
        raise click.ClickException(f"cannot read {path}: {error}".splitlines()[0]) from error
    missing = required - set(frame.columns)
    if missing:
        raise click.ClickException(f"{path} has no column {', '.join(sorted(missing))}")
    return frame


@click.group(name="classifiers")
@click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar=MODEL_DIR_ENV, default=DEFAULT_MODEL_DIR, show_default=True,
              help="Registry root (env WORKBENCH_MODEL_DIR).")
@click.pass_context
def classifiers(ctx: click.Context, model_dir: Path) -> None:
    """Text models: train, evaluate, version, score and retrain."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("registry", ModelRegistry(model_dir))


@classifiers.command(name="train")
@click.argument("model")
@click.option("--family", type=click.Choice(FAMILIES), default=DEFAULT_FAMILY, show_default=True)
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="Make the new version active.")
@click.pass_context
def train_command(ctx: click.Context, model: str, family: str, promote: bool) -> None:
    """Train MODEL from scratch on the shipped datasets and save a new version."""
    registry = _registry(ctx)
    click.echo(f"training {model} ({family}) on the shipped datasets", err=True)
    trained = train(TrainingRequest(model, family, shipped_splits(), progress=True))
    directory = registry.save(trained)
    if promote:
        registry.promote(model, trained.version, "trained from scratch with `classifiers train`")
    click.echo(f"saved {model} {trained.version} ({family}) to {directory}"
               + (" and made it active" if promote else ""))
    _print_metrics(trained.metadata["metrics"])


def _print_metrics(metrics: dict[str, Any]) -> None:
    click.echo(f"{'dataset':<10} {'label':<10} {'macroF1':>8} {'F1 neg':>7} {'F1 pos':>7} "
               f"{'ROC-AUC':>8} {'P@thr':>6} {'R@thr':>6}")
    for dataset, per_label in metrics.items():
        for label, m in per_label.items():
            if label == "three_class":
                click.echo(f"{dataset:<10} {'3-class':<10} weighted F1 {m['weighted_f1']:.3f}, "
                           f"hate F1 {m['hate_f1']:.3f}")
                continue
            click.echo(f"{dataset:<10} {label:<10} {m['macro_f1']:>8.3f} {m['f1_neg']:>7.3f} "
                       f"{m['f1_pos']:>7.3f} {m['roc_auc']:>8.3f} "
                       f"{m['precision_at_threshold']:>6.3f} {m['recall_at_threshold']:>6.3f}")


@classifiers.command(name="combine")
@click.argument("model")
@click.argument("parts", nargs=-1, required=True)
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="Make the new version active.")
@click.option("--limit", type=click.IntRange(min=100), default=None,
              help="Calibrate and evaluate on at most this many texts of each dataset "
                   "(a quick check; shipped models use all).")
@click.pass_context
def combine_command(ctx: click.Context, model: str, parts: tuple[str, ...],
                    promote: bool, limit: int | None) -> None:
    """Save MODEL as the mean of the active versions of PARTS (models of different
    families), calibrated on the shipped validation split: e.g. ``combine text-review
    text text-adapted``."""
    registry = _registry(ctx)
    if len(parts) < 2:
        raise click.ClickException("name two or more models to combine")
    loaded = [_load(ctx, part) for part in parts]
    families = [part.family for part in loaded]
    named = dict(zip(parts, families, strict=True))
    if len(set(families)) != len(families) or "ensemble" in families:
        raise click.ClickException(
            f"combine models of different families, none an ensemble (these are {named})")
    combined = compose_ensemble(loaded, TrainingRequest(model, "ensemble",
                                                        shipped_splits(limit)))
    directory = registry.save(combined)
    if promote:
        sources = ", ".join(f"{part} {m.version}" for part, m in zip(parts, loaded, strict=True))
        registry.promote(model, combined.version, f"combined from {sources}")
    click.echo(f"saved {model} {combined.version} (mean of {', '.join(parts)}) to {directory}"
               + (" and made it active" if promote else ""))
    _print_metrics(combined.metadata["metrics"])


@classifiers.command(name="evaluate")
@click.argument("model")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of text,label (label: a label name, none, 1 or 0).")
@click.option("--version", default=None, help="Version to evaluate (default: active).")
@click.pass_context
def evaluate_command(ctx: click.Context, model: str, data: Path | None,
                     version: str | None) -> None:
    """Evaluate MODEL on the shipped test splits, or on a labelled CSV."""
    loaded = _load(ctx, model, version)
    if data is None:
        tests = shipped_splits().test
    else:
        try:
            tests = {data.name: decisions_to_frame(_read_csv(data, {"text", "label"}))}
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"{model} {loaded.version} ({loaded.family})")
    _print_metrics(evaluate_model(loaded, tests))


def _load(ctx: click.Context, model: str, version: str | None = None) -> Any:
    try:
        return _registry(ctx).load(model, version)
    except ModelNotFoundError as error:
        raise click.ClickException(str(error)) from error


@classifiers.command(name="list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List every model and version; * marks the active one."""
    registry = _registry(ctx)
    for name in registry.names():
        for info in registry.versions(name):
            mark = "*" if info.active else " "
            where = "shipped" if info.shipped else "trained"
            click.echo(f"{mark} {name:<12} {info.version:<24} {info.family:<12} {where:<8} "
                       f"{info.created_at}  {info.promoted_reason}")


@classifiers.command(name="promote")
@click.argument("model")
@click.argument("version")
@click.option("--reason", default="promoted by hand with `classifiers promote`",
              show_default=True)
@click.pass_context
def promote_command(ctx: click.Context, model: str, version: str, reason: str) -> None:
    """Make VERSION of MODEL the active one."""
    try:
        _registry(ctx).promote(model, version, reason)
    except ModelNotFoundError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{model} {version} is now active")


@classifiers.command(name="score")
@click.option("--model", "model_name", default="text", show_default=True)
@click.option("--input", "input_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "output_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def score_command(ctx: click.Context, model_name: str, input_path: Path,
                  output_path: Path) -> None:
    """Score the ``text`` column of a CSV; write probabilities and ``flagged``."""
    frame = _read_csv(input_path, {"text"})
    model = _load(ctx, model_name)
    texts = frame["text"].tolist()
    rows: list[dict[str, float]] = []
    with tqdm(total=len(texts), desc=f"score {model_name}", unit="msg",
              disable=len(texts) < SCORE_BATCH) as bar:
        for start in range(0, len(texts), SCORE_BATCH):
            batch = texts[start:start + SCORE_BATCH]
            rows.extend(model.score(batch))
            bar.update(len(batch))
    for label in model.labels:
        frame[label] = [round(row[label], 6) for row in rows]
    frame["flagged"] = [";".join(model.flagged(row)) for row in rows]
    # The workbench passes its spreadsheet-safe writer (texts are hostile); alone, pandas.
    write: CsvWriter = ctx.obj.get("csv_writer") or _plain_csv
    try:
        with output_path.open("w", encoding="utf-8", newline="") as out:
            write(frame, out)
    except OSError as error:
        raise click.ClickException(f"cannot write {output_path}: {error}") from error
    flagged = sum(1 for value in frame["flagged"] if value)
    click.echo(f"scored {len(frame)} messages with {model_name} {model.version}; "
               f"{flagged} flagged; wrote {output_path}", err=True)


DecisionLoader = Callable[[], pd.DataFrame]
CsvWriter = Callable[[pd.DataFrame, IO[str]], None]


def _plain_csv(frame: pd.DataFrame, out: IO[str]) -> None:
    frame.to_csv(out, index=False)


@classifiers.command(name="retrain")
@click.argument("model")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of text,label to learn from (with the workbench's decisions).")
@click.pass_context
def retrain_command(ctx: click.Context, model: str, labels_path: Path | None) -> None:
    """Retrain MODEL with moderator decisions; promote only if it is not worse."""
    frames: list[pd.DataFrame] = []
    loader: DecisionLoader | None = ctx.obj.get("decision_loader")
    if loader is not None:
        frames.append(loader())
    if labels_path is not None:
        frames.append(_read_csv(labels_path, {"text", "label"}))
    decisions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(decisions) < 10:
        raise click.ClickException(
            f"need at least 10 labelled decisions to retrain (have {len(decisions)})")
    try:
        result = retrain(_registry(ctx), model, decisions)
    except (ValueError, ModelNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"candidate {result.candidate_version}: {result.reason}")
