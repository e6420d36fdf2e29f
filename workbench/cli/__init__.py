"""The ``workbench`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC
from functools import wraps
from typing import Any, TypeVar

import click
from flask import Flask
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from actions.spreadsheet import write_frame
from workbench import database
from workbench.app_base import create_base_app
from workbench.cli.lazy import LazyCommand, LazyGroup
from workbench.current import settings
from workbench.enums import OPEN_CASE_STATUSES, Role
from workbench.extensions import db
from workbench.models import Case, Platform
from workbench.models.platform import WEBHOOK_BATCH_MAX
from workbench.platforms import PlatformError, register_platform
from workbench.settings import SettingsError
from workbench.staff import StaffError, create_moderator

F = TypeVar("F", bound=Callable[..., Any])


def build_app(factory: Callable[..., Flask] = create_base_app,
              overrides: dict[str, Any] | None = None) -> Flask:
    """The app from ``factory``; a configuration error ends the command with one line."""
    try:
        return factory(overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def with_app(func: F) -> F:
    """Run the command inside the base app's context (settings, database, Redis; no routes).

    Commands that serve or run jobs (``serve``, ``worker``, ``demo``) build the whole app
    themselves (``workbench.cli.run``).
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with build_app().app_context():
            try:
                return func(*args, **kwargs)
            except (OperationalError, ProgrammingError):
                _explain_database_error()
                raise

    return wrapper  # type: ignore[return-value]


def _explain_database_error() -> None:
    """End the command with one line if the database is unreachable or has no schema yet.

    Anything else (a bug, a lost connection mid-command) keeps its traceback.
    """
    db.session.rollback()
    try:
        migrated = inspect(db.engine).has_table("alembic_version")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise click.ClickException(f"the database cannot be reached: {reason}") from None
    if not migrated:
        raise click.ClickException(
            "the database has no tables yet: run `workbench init-db` first") from None


#: The groups and commands whose modules (and their libraries) are imported only when they
#: run: the commands left here need only the base app (``workbench.app_base``).
LAZY_COMMANDS = {
    "classifiers": LazyCommand("classifiers.cli:classifiers",
                               "Text models: train, evaluate, version, score and retrain."),
    "evidence": LazyCommand("workbench.cli.legal:evidence",
                            "Export evidence bundles and verify them."),
    "audit": LazyCommand("workbench.cli.legal:audit", "The audit log."),
    "banks": LazyCommand("workbench.cli.images:banks",
                         "Hash banks of known images (NCII, CSAM, terror, scam images, custom)."),
    "images": LazyCommand("workbench.cli.images:images", "Check images against the hash banks."),
    # Commands that serve, run jobs or act import the whole app and its jobs: lazily too.
    "serve": LazyCommand("workbench.cli.run:serve",
                         "Serve the console and the API with gunicorn (a production WSGI server)."),
    "worker": LazyCommand("workbench.cli.run:worker", "Run a queue worker."),
    "demo": LazyCommand(
        "workbench.cli.run:demo",
        "Migrate, seed (once) and run the console with a worker; Ctrl-C stops it all."),
    "act": LazyCommand(
        "workbench.cli.act:act",
        "Act on a person (all their accounts), as the console does; prints what it sent."),
}


@click.group(cls=LazyGroup, lazy_subcommands=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """HARMONI trust-and-safety workbench."""
    ctx.ensure_object(dict)
    ctx.obj["decision_loader"] = _moderator_decisions
    ctx.obj["csv_writer"] = write_frame


def _moderator_decisions() -> Any:
    """Decided cases' messages as labelled texts (for ``classifiers retrain``)."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.cases.decisions_export import decision_labels

    with build_app().app_context():
        return decision_labels(db.session)


@main.command("init-db")
@with_app
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""

    url = settings().database_url
    database.upgrade(url)
    click.echo(f"database at revision {database.current_revision(url)}")


@main.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_app
def create_user(email: str, role: str, password_stdin: bool) -> None:
    """Create a console user (password from a prompt or --password-stdin)."""

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        moderator = create_moderator(db.session, email, password, role)
        db.session.commit()
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {moderator.email} ({moderator.role})")


@main.group()
def platforms() -> None:
    """Register and list the group's platforms."""


@platforms.command("add")
@click.argument("slug")
@click.option("--webhook-url", help="Where enforcement webhooks are delivered.")
@click.option("--name", help="A display name (default: the slug).")
@click.option("--webhook-batch", type=click.IntRange(1, WEBHOOK_BATCH_MAX), default=1,
              show_default=True,
              help="Deliveries one webhook request may carry: 1 sends each alone "
                   "(event: action); more sends them together (event: actions).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_app
def platforms_add(slug: str, webhook_url: str | None, name: str | None, webhook_batch: int,
                  as_json: bool) -> None:
    """Register a platform; prints its key id and secret once."""

    try:
        creds = register_platform(
            db.session, settings().secret_key, slug, name=name, webhook_url=webhook_url,
            webhook_batch=webhook_batch,
        )
        db.session.commit()
    except PlatformError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"slug": creds.slug, "key_id": creds.key_id, "secret": creds.secret}))
        return
    click.echo(f"platform {creds.slug} registered")
    click.echo(f"key id: {creds.key_id}")
    click.echo(f"secret: {creds.secret}")
    click.echo("The secret is shown only now; store it in the platform's configuration.")


@platforms.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@with_app
def platforms_list(as_json: bool) -> None:
    """List the registered platforms (never their secrets)."""

    rows = db.session.scalars(select(Platform).order_by(Platform.slug)).all()
    for p in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {"slug": p.slug, "name": p.name, "key_id": p.api_key_id,
                     "webhook_url": p.webhook_url, "webhook_batch": p.webhook_batch,
                     "active": p.active}
                )
            )
        else:
            state = "active" if p.active else "inactive"
            click.echo(f"{p.slug:<16} {state:<9} {p.api_key_id}  {p.webhook_url or '-'}")


def demo_size_options(func: F) -> F:
    """The demo data's size, for ``seed-demo`` and ``demo`` (the defaults: the full demo)."""
    func = click.option("--reports", default=1000, show_default=True,
                        help="Users' reports to seed.")(func)
    func = click.option("--messages", default=50_000, show_default=True,
                        help="Chat messages to seed.")(func)
    return click.option("--people", default=2000, show_default=True,
                        help="People to seed.")(func)


@main.command("seed-demo")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@demo_size_options
@with_app
def seed_demo(seed: int, people: int, messages: int, reports: int) -> None:
    """Fill the database with deterministic demo data and the demo logins."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.demo.seed import DemoSize, seed_demo_data

    counts = seed_demo_data(
        db.session, settings(), DemoSize(people=people, messages=messages, reports=reports),
        seed=seed, progress=True,
    )
    for table, n in counts.items():
        click.echo(f"{table:<22} {n:>8}")



@main.group()
def cases() -> None:
    """Look at cases from the command line."""


@cases.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.option("--limit", default=50, show_default=True)
@click.option("--queue", "queue_name", help="Only this queue.")
@with_app
def cases_list(as_json: bool, limit: int, queue_name: str | None) -> None:
    """List open cases, most urgent first."""

    query = select(Case).where(Case.status.in_(OPEN_CASE_STATUSES))
    if queue_name:
        query = query.where(Case.queue == queue_name)
    rows = db.session.scalars(
        query.order_by(Case.priority.desc(), Case.due_at, Case.id).limit(limit)
    ).all()
    for c in rows:
        record = {"id": c.id, "person": c.person_id, "reports": c.report_count,
                  "categories": sorted(c.categories or {}), "priority": c.priority,
                  "due_at": c.due_at.isoformat(), "queue": c.queue, "live": c.live}
        if as_json:
            click.echo(json.dumps(record))
        else:
            click.echo(f"#{c.id:<7} person {c.person_id:<7} {c.report_count:>3} reports  "
                       f"p={c.priority:>7.2f}  due {c.due_at:%Y-%m-%d %H:%M}  {c.queue:<14} "
                       f"{', '.join(sorted(c.categories or {}))}")


@main.group()
def statements() -> None:
    """Statements of reasons."""


@statements.command("export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              required=True, help="Where to write the JSON lines ('-' for stdout).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="From this day (UTC).")
@with_app
def statements_export(out_path: str, since: Any) -> None:
    """Export statements of reasons as JSON lines, with no personal data."""

    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.transparency import dsa_statements

    out = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8")  # noqa: SIM115
    n = 0
    try:
        # The DSA transparency database's fields only, personal identifiers redacted.
        for statement in dsa_statements(db.session,
                                        since.replace(tzinfo=UTC) if since else None):
            out.write(json.dumps(statement, sort_keys=True) + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    if out_path != "-":
        click.echo(f"{n} statements written to {out_path}")


@main.group()
def dashboard() -> None:
    """The dashboard's pre-aggregated figures."""


@dashboard.command("rebuild")
@with_app
def dashboard_rebuild() -> None:
    """Recompute every day's figures from the first report (the job keeps the last two)."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.dashboard import store_charts

    # Heavy: imported on first use, not when the module loads.
    from workbench.reporting.figures import rebuild_figures

    written = rebuild_figures(db.session)
    store_charts(db.session)
    db.session.commit()
    click.echo(f"{written} dashboard figures written")

