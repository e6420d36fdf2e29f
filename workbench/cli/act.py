"""``workbench act``: act on a person from the command line, as the console does."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import select

from actions.enforcement import (
    ActionError,
    ActionRequest,
    AuthorityError,
    apply_action,
    check_authority,
)
from queues.enforce import enqueue_deliveries
from workbench.cli import with_app
from workbench.enums import ActionType
from workbench.extensions import db
from workbench.models import Account, Moderator, Platform


@click.command()
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
