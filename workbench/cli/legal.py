"""The legal team's commands: ``workbench evidence ...`` and ``workbench audit verify``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import func, select

from actions.evidence.verify import UnpackLimits
from workbench.cli import with_app
from workbench.current import settings
from workbench.enums import Role
from workbench.extensions import db
from workbench.models import Moderator
from workbench.models.audit import verify_chain
from workbench.storage import blob_store

if TYPE_CHECKING:
    from workbench.storage import BlobStore


@click.group()
def evidence() -> None:
    """Export evidence bundles and verify them."""


def _legal_user(email: str) -> int:
    moderator = db.session.scalars(select(Moderator).where(
        func.lower(Moderator.email) == email.strip().lower(), Moderator.active)).first()
    if moderator is None:
        raise click.ClickException(f"no active console user {email}")
    if moderator.role != Role.LEGAL.value:
        raise click.ClickException(f"{email} is a {moderator.role}; evidence is exported by "
                                   "the legal team")
    return moderator.id


def _copy_out(store: BlobStore, sha256: str, dest: Path) -> None:
    """Write a stored blob to ``dest`` through a temporary file, so it appears whole."""
    tmp = dest.with_name(f".{dest.name}.partial")
    with store.open(sha256) as src, tmp.open("wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    tmp.replace(dest)


@evidence.command("export")
@click.option("--case", "case_id", type=int, help="Export one case.")
@click.option("--person", "person_id", type=int, help="Export one person (all accounts).")
@click.option("--user", "user_ref", metavar="SLUG:USER_ID", help="Export one account.")
@click.option("--reason", required=True, help="The legal basis of the export.")
@click.option("--request-ref", required=True, help="The reference of the request it answers.")
@click.option("--out", "out_path", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the zip; the certificate goes beside it.")
@click.option("--by", "by_email", required=True, help="Email of the legal team member.")
@with_app
def evidence_export(case_id: int | None, person_id: int | None, user_ref: str | None,
                    reason: str, request_ref: str, out_path: Path, by_email: str) -> None:
    """Build an evidence bundle now and write it (and its draft certificate) to files."""
    # Heavy: imported on first use, not when the module loads.
    from actions.evidence import (
        EvidenceError,
        build_export,
        certificate_path,
        record_download,
        request_export,
    )

    chosen = [(k, v) for k, v in (("case", case_id), ("person", person_id),
                                  ("account", user_ref)) if v is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --case, --person and --user")
    scope, ref = chosen[0]
    moderator_id = _legal_user(by_email)
    store = blob_store(settings())
    try:
        export = request_export(db.session, scope, ref, reason, request_ref, moderator_id)
        db.session.commit()
        export = build_export(db.session, store, export.id)
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from None
    assert export.archive_sha256 and export.certificate_sha256
    _copy_out(store, export.archive_sha256, out_path)
    certificate = certificate_path(out_path)
    _copy_out(store, export.certificate_sha256, certificate)
    record_download(db.session, export.id, moderator_id,
                    f"written to {out_path.resolve()} by the command line")
    db.session.commit()
    records = (export.contents or {}).get("records", {})
    click.echo(f"evidence export {export.id}: {out_path} ({export.archive_size} bytes)")
    click.echo(f"sha256 {export.archive_sha256}")
    click.echo(f"certificate {certificate}")
    click.echo("records: " + ", ".join(f"{k} {v}" for k, v in sorted(records.items())))


@evidence.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--max-bytes", type=click.IntRange(min=1), default=UnpackLimits.max_total_bytes,
              show_default=True, help="Refuse an archive that expands to more than this.")
@click.option("--max-ratio", type=click.FloatRange(min=1), default=UnpackLimits.max_ratio,
              show_default=True, help="Refuse a file that expands more than this many times.")
def evidence_verify(file: Path, max_bytes: int, max_ratio: float) -> None:
    """Validate a bundle and recompute every hash; one line per problem, exit 1 if any.

    The zip's sizes are checked before anything is extracted (a zip bomb is refused).
    """
    # Heavy: imported on first use, not when the module loads.
    from actions.evidence import verify_bundle

    limits = UnpackLimits(max_total_bytes=max_bytes,
                          max_member_bytes=min(max_bytes, UnpackLimits.max_member_bytes),
                          max_ratio=max_ratio)
    report = verify_bundle(file, limits=limits)
    for problem in report.problems:
        click.echo(str(problem))
    if not report.ok:
        sys.exit(1)
    click.echo(f"ok: {report.files_checked} files verified; archive sha256 "
               f"{report.archive_sha256}")


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@with_app
def audit_verify() -> None:
    """Walk the audit chain; name the first altered or missing event (exit 1 if any)."""

    result = verify_chain(db.session)
    if result.problem is not None:
        click.echo(result.problem.message)
        sys.exit(1)
    click.echo(f"audit chain intact: {result.checked} events; head event {result.head_id} "
               f"hash {result.head_hash}")
