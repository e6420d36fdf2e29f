"""The ``workbench`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, timedelta
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy import select

from actions.enforcement import (
    ActionError,
    ActionRequest,
    AuthorityError,
    apply_action,
    check_authority,
)
from actions.spreadsheet import write_frame
from queues.enforce import enqueue_deliveries
from queues.worker import run_worker
from workbench import database
from workbench.app import create_app
from workbench.cli.lazy import LazyCommand, LazyGroup
from workbench.current import settings
from workbench.demo import run_demo
from workbench.enums import OPEN_CASE_STATUSES, ActionType, Role
from workbench.extensions import db
from workbench.metrics import multiprocess
from workbench.models import Account, Case, Moderator, Platform
from workbench.platforms import PlatformError, register_platform
from workbench.serving import run_gunicorn
from workbench.settings import SETTINGS_KEY, SettingsError
from workbench.staff import StaffError, create_moderator

F = TypeVar("F", bound=Callable[..., Any])


def with_app(func: F) -> F:
    """Run the command inside an app context; configuration errors end it with one line."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            app = create_app()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: The groups whose modules (and their libraries) are imported only when they run.
LAZY_GROUPS = {
    "classifiers": LazyCommand("classifiers.cli:classifiers",
                               "Text models: train, evaluate, version, score and retrain."),
    "evidence": LazyCommand("workbench.cli.legal:evidence",
                            "Export evidence bundles and verify them."),
    "audit": LazyCommand("workbench.cli.legal:audit", "The audit log."),
    "banks": LazyCommand("workbench.cli.images:banks",
                         "Hash banks of known images (NCII, CSAM, terror, scam images, custom)."),
    "images": LazyCommand("workbench.cli.images:images", "Check images against the hash banks."),
}


@click.group(cls=LazyGroup, lazy_subcommands=LAZY_GROUPS,
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

    try:
        app = create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    with app.app_context():
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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_app
def platforms_add(slug: str, webhook_url: str | None, name: str | None, as_json: bool) -> None:
    """Register a platform; prints its key id and secret once."""

    try:
        creds = register_platform(
            db.session, settings().secret_key, slug, name=name, webhook_url=webhook_url
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
                     "webhook_url": p.webhook_url, "active": p.active}
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option("--control-socket", default=None, metavar="PATH",
              help="gunicorn's control socket for this instance (default: none)")
def serve(host: str, port: int, workers: int, access_log: bool,
          control_socket: str | None) -> None:
    """Serve the console and the API with gunicorn (a production WSGI server)."""

    try:
        app = create_app()  # fail fast on bad configuration, with one line
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    # Before gunicorn forks its workers, so that one scrape adds up all of them.
    multiprocess.start(app.extensions[SETTINGS_KEY].metrics_dir, "web")
    run_gunicorn(host, port, workers, access_log=access_log, control_socket=control_socket)


@main.command()
@click.option("--queues", "queue_names", help="Comma-separated queues, highest priority first.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_app
def worker(queue_names: str | None, burst: bool) -> None:
    """Run a queue worker."""

    # Before the first job: its figures join the web processes' at /metrics.
    multiprocess.start(settings().metrics_dir, "worker")
    names = [q.strip() for q in queue_names.split(",")] if queue_names else None
    run_worker(names, burst=burst)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--exit-after-start", is_flag=True, help="Stop once the console answers.")
@demo_size_options
def demo(host: str, port: int, exit_after_start: bool, people: int, messages: int,
         reports: int) -> None:
    """Migrate, seed (once) and run the console with a worker; Ctrl-C stops it all."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.demo.seed import DemoSize

    try:
        # The demo's platforms are its own webhook sink, on this machine over plain HTTP.
        app = create_app({"allow_private_webhooks": True, "allow_http_webhooks": True})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    size = DemoSize(people=people, messages=messages, reports=reports)
    sys.exit(run_demo(app, host, port, size=size, exit_after_start=exit_after_start))



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


@main.command()
@click.option("--platform", "platform_slug", required=True, help="The platform of the user.")
@click.option("--user", "user_id", required=True, help="The platform's own user id.")
@click.option("--type", "action_type", required=True,
              type=click.Choice(["warn", "mute", "restrict_calls", "suspend", "ban"]))
@click.option("--days", type=float, help="Duration, for suspend (and optionally mute).")
@click.option("--reason", required=True, help="The policy reason (e.g. harassment).")
@click.option("--facts", help="Facts and circumstances, for the statement of reasons.")
@click.option("--by", "by_email", required=True, help="Email of the deciding moderator.")
@with_app
def act(platform_slug: str, user_id: str, action_type: str, days: float | None, reason: str,
        facts: str | None, by_email: str) -> None:
    """Act on a person (all their accounts), as the console does; prints what it sent."""


    moderator = db.session.scalars(
        select(Moderator).where(Moderator.email == by_email.lower(), Moderator.active)).first()
    if moderator is None:
        raise click.ClickException(f"no active console user {by_email}")
    account = db.session.scalars(
        select(Account).join(Platform, Platform.id == Account.platform_id)
        .where(Platform.slug == platform_slug, Account.platform_user_id == user_id)).first()
    if account is None:
        raise click.ClickException(f"no user {user_id!r} on platform {platform_slug!r}")
    request = ActionRequest(
        type=ActionType(action_type), person_id=account.person_id, policy_reason=reason,
        decided_by_id=moderator.id, facts=facts,
        duration=timedelta(days=days) if days else None)
    try:
        check_authority(moderator.role, request)
        action = apply_action(db.session, request)
    except (ActionError, AuthorityError) as exc:
        raise click.ClickException(str(exc)) from None
    ids = [d.id for d in action.deliveries]
    slugs = {p.id: p.slug for p in db.session.scalars(select(Platform))}
    db.session.commit()
    enqueue_deliveries(ids)
    click.echo(f"action {action.id}: {action.type} of person {action.person_id}")
    for d in action.deliveries:
        click.echo(f"  delivery {d.id} to {slugs[d.platform_id]} (sequence {d.sequence}): "
                   f"{', '.join(d.payload['user_ids'])}")


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

