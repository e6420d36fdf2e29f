"""People and accounts by the names staff read, and back from what staff type.

Pages name a person by a username of theirs and an account by its username on its
platform, with the number beside it; forms take a person's number, ``SLUG:USER_ID`` or a
username (``@`` optional), so nobody has to look up "person 661" first.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.evidence.scope import ScopeError, parse_account_ref
from workbench.models import Account, Platform

#: People listed when a username is shared by several of them.
_AMBIGUOUS_SHOWN = 5


class NameLookupError(ValueError):
    """What a form was given names nobody, or more than one person."""


def person_names(session: Session, person_ids: Iterable[int | None]) -> dict[int, str]:
    """A username per person (their first account's that has one)."""
    wanted = {p for p in person_ids if p is not None}
    names: dict[int, str] = {}
    if not wanted:
        return names
    for person_id, username in session.execute(
            select(Account.person_id, Account.username)
            .where(Account.person_id.in_(wanted), Account.username.is_not(None))
            .order_by(Account.id)).all():
        assert username is not None  # selected as not NULL
        names.setdefault(person_id, username)
    return names


def account_names(session: Session, account_ids: Iterable[int | None]) -> dict[int, str]:
    """``username on slug`` per account (``slug:user id`` where no username was sent)."""
    wanted = {a for a in account_ids if a is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Account.id, Account.username, Account.platform_user_id, Platform.slug)
        .join(Platform, Platform.id == Account.platform_id).where(Account.id.in_(wanted)))
    return {account_id: (f"{username} on {slug}" if username else f"{slug}:{user_id}")
            for account_id, username, user_id, slug in rows}


def find_person(session: Session, ref: str) -> int:
    """The person a form names: a number, ``SLUG:USER_ID``, or a username.

    Raises ``NameLookupError`` with what to type instead when nobody or several people match.
    """
    ref = ref.strip()
    number = ref.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return int(number)
    if ":" in ref:
        try:
            account_id = parse_account_ref(session, ref)
        except ScopeError as exc:
            raise NameLookupError(str(exc)) from None
        person_id = session.scalar(select(Account.person_id).where(Account.id == account_id))
        assert person_id is not None  # every account belongs to a person
        return person_id
    username = ref.removeprefix("@").lower()
    if not username:
        raise NameLookupError("name a person by number, username or SLUG:USER_ID")
    matches = session.execute(
        select(Account.person_id, Platform.slug, Account.platform_user_id)
        .join(Platform, Platform.id == Account.platform_id)
        .where(func.lower(Account.username) == username)
        .order_by(Account.person_id, Account.id)).all()
    people: list[int] = sorted({m.person_id for m in matches})
    if not people:
        raise NameLookupError(f"no account is called {ref[:60]!r}; give a person's number or "
                         "SLUG:USER_ID")
    if len(people) > 1:
        shown: dict[int, str] = {}
        for m in matches:
            shown.setdefault(m.person_id, f"{m.slug}:{m.platform_user_id}")
        listed = ", ".join(f"person {p} ({shown[p]})" for p in people[:_AMBIGUOUS_SHOWN])
        more = f" and {len(people) - _AMBIGUOUS_SHOWN} more" if len(people) > _AMBIGUOUS_SHOWN \
            else ""
        raise NameLookupError(f"{ref[:60]!r} is the username of {len(people)} people: {listed}"
                         f"{more}; give SLUG:USER_ID or the person's number")
    return people[0]
