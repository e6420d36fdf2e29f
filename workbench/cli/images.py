"""``workbench banks`` and ``workbench images``: hash banks and image matching by hand."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click
import requests

from classifiers.images import ImageError, decode_image, query_hashes
from classifiers.images.nudity import score_nudity
from workbench.cli import with_app
from workbench.current import settings
from workbench.extensions import db
from workbench.imagebanks.banks import (
    BankError,
    add_image,
    create_bank,
    export_lines,
    get_bank,
    import_hashes,
    list_banks,
    match_hashes,
)
from workbench.imagebanks.exchanges import ExchangeError, exchange_for, fetch_into_bank
from workbench.imagebanks.lists import HashListFormat


@click.group()
def banks() -> None:
    """Hash banks of known images (NCII, CSAM, terror, scam images, custom)."""


@banks.command("create")
@click.argument("name")
@click.option("--category", required=True,
              help="ncii, csam, terror, scam_image, custom, or a new lowercase word.")
@click.option("--actions", default=None,
              help="Comma-separated actions a match takes (e.g. remove_content,suspend); "
                   "default: the category's rule (ncii and csam remove and suspend).")
@with_app
def create(name: str, category: str, actions: str | None) -> None:
    """Create an empty bank."""

    rule = None if actions is None else {"actions": [a for a in actions.split(",") if a]}
    try:
        bank = create_bank(db.session, name, category, rule)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"bank {bank.name} ({bank.category}) created")


def _read_image(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None
    try:
        return data, decode_image(data, settings().max_image_pixels)
    except ImageError as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None


@banks.command("add")
@click.argument("name")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_app
def add(name: str, images: tuple[Path, ...]) -> None:
    """Bank images from files (with their crop hashes)."""

    try:
        bank = get_bank(db.session, name)
        added = 0
        for path in images:
            _, decoded = _read_image(path)
            entry = add_image(db.session, bank, decoded.rgb, source=path.name)
            added += entry is not None
            click.echo(f"{path}: {'added' if entry else 'already in the bank'}")
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{added} image(s) added to {name}")


@banks.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per bank.")
@with_app
def list_(as_json: bool) -> None:
    """Every bank, its category and number of entries."""

    for bank in list_banks(db.session):
        if as_json:
            click.echo(json.dumps(bank))
        else:
            actions = ",".join((bank["action_rule"] or {}).get("actions", [])) or "report only"
            click.echo(f"{bank['name']}\t{bank['category']}\t{bank['entries']} entries\t"
                       f"{actions}{'' if bank['enabled'] else ' (disabled)'}")


_FORMAT = click.Choice(["hma", "te"])


@banks.command("import")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--format", "fmt", type=_FORMAT, default=None,
              help="hma (CSV: hash[,quality[,source]]) or te (ThreatExchange: 'pdq <hash>'); "
                   "told from the content when not given.")
@with_app
def import_(name: str, file: Any, fmt: str | None) -> None:
    """Add a hash list to a bank, all or nothing; '-' reads stdin."""

    try:
        result = import_hashes(db.session, get_bank(db.session, name), file,
                               HashListFormat(fmt) if fmt else None)
    except BankError as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing imported: {exc}") from None
    db.session.commit()
    skipped = (f", {result.skipped} line(s) of other signal types skipped"
               if result.skipped else "")
    click.echo(f"{result.added} hash(es) added to {name}, {result.already} already there "
               f"({result.format}{skipped})")


@banks.command("export")
@click.argument("name")
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True))
@click.option("--format", "fmt", type=_FORMAT, default="hma", show_default=True,
              help="hma (CSV with quality and source) or te (ThreatExchange 'pdq <hash>').")
@with_app
def export(name: str, file: Any, fmt: str) -> None:
    """Write a bank's hashes as a hash list; '-' writes to stdout."""

    try:
        bank = get_bank(db.session, name)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    for line in export_lines(db.session, bank, HashListFormat(fmt)):
        file.write(line + "\n")


@banks.command("fetch")
@click.argument("exchange", type=click.Choice(["stopncii", "ncmec"]))
@click.option("--bank", default=None,
              help="The bank to fill (made on first fetch); default WORKBENCH_STOPNCII_BANK "
                   "or WORKBENCH_NCMEC_BANK.")
@with_app
def fetch(exchange: str, bank: str | None) -> None:
    """Fetch an exchange's new and withdrawn hashes since the bank's last fetch."""


    current = settings()
    try:
        result = fetch_into_bank(db.session, exchange_for(current, exchange),
                                 bank or getattr(current, f"{exchange}_bank"))
    except ExchangeError as exc:
        raise click.ClickException(str(exc)) from None
    except requests.RequestException as exc:
        db.session.rollback()
        raise click.ClickException(f"{exchange} fetch stopped (the pages before it are "
                                   f"kept): {exc}") from None
    click.echo(f"{result.exchange} into {result.bank}: {result.pages} page(s), "
               f"{result.added} hash(es) added, {result.withdrawn} withdrawn")


@click.group()
def images() -> None:
    """Check images against the hash banks."""


@images.command("match")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image.")
@click.option("--no-nudity", is_flag=True, help="Skip nudity scoring (faster).")
@with_app
def match(files: tuple[Path, ...], as_json: bool, no_nudity: bool) -> None:
    """Hash each image, match it against every enabled bank, and score its nudity."""

    failed = 0
    for path in files:
        try:
            data, decoded = _read_image(path)
        except click.ClickException as exc:
            failed += 1
            if as_json:
                click.echo(json.dumps({"file": str(path), "error": exc.message}))
            else:
                click.echo(f"error: {exc.message}", err=True)
            continue
        hashes = query_hashes(decoded.rgb)
        hits = match_hashes(db.session, hashes)
        nudity = None if no_nudity else score_nudity([decoded.rgb])[0].sexual_content
        result = {"file": str(path), "sha256": hashlib.sha256(data).hexdigest(),
                  "pdq": hashes[0].hex, "quality": hashes[0].quality,
                  "matches": [{"bank": h.bank, "category": h.category, "distance": h.distance}
                              for h in hits],
                  "nudity": nudity}
        if as_json:
            click.echo(json.dumps(result))
        else:
            found = ", ".join(f"{h.bank} ({h.category}) at {h.distance}" for h in hits)
            click.echo(f"{path}: quality {hashes[0].quality}, "
                       f"{found or 'no match'}, nudity {nudity}")
    db.session.rollback()
    if failed:
        sys.exit(1)
