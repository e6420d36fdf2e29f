"""The messages around a message in its conversation, for many messages at once.

A case page shows each reported message between the ones before and after it; an
evidence bundle keeps them too. On PostgreSQL every message's neighbours come from one
statement (a ``LATERAL`` subquery per message, each walking the conversation's
``(conversation_id, sent_at)`` index a few rows either way); SQLite has no ``LATERAL``,
so there it is one statement per message.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased

from workbench.models.content import Message


def neighbours(session: Session, message_ids: Iterable[int],
               around: int) -> dict[int, list[int]]:
    """For each of ``message_ids``, the ids of up to ``around`` messages sent before it and
    up to ``around`` after it in its conversation (in time, ties split by id), itself not
    included. Ids that are no message are left out."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    anchor = aliased(Message, name="anchor")
    near = aliased(Message, name="near")
    same = near.conversation_id == anchor.conversation_id
    earlier = (select(near.id).where(same, or_(
        near.sent_at < anchor.sent_at,
        and_(near.sent_at == anchor.sent_at, near.id < anchor.id)))
        .order_by(near.sent_at.desc(), near.id.desc()).limit(around))
    later = (select(near.id).where(same, or_(
        near.sent_at > anchor.sent_at,
        and_(near.sent_at == anchor.sent_at, near.id > anchor.id)))
        .order_by(near.sent_at, near.id).limit(around))
    out: dict[int, list[int]] = {}
    if session.get_bind().dialect.name == "postgresql":
        both = union_all(earlier.correlate(anchor), later.correlate(anchor)) \
            .subquery().lateral("around")
        # An outer join, so a message alone in its conversation is still found.
        for anchor_id, near_id in session.execute(
                select(anchor.id, both.c.id).select_from(anchor).outerjoin(both, true())
                .where(anchor.id.in_(ids))):
            found = out.setdefault(anchor_id, [])
            if near_id is not None:
                found.append(near_id)
        return out
    for anchor_id in session.scalars(select(Message.id).where(Message.id.in_(ids))):
        one = anchor.id == anchor_id
        out[anchor_id] = list(session.scalars(union_all(
            earlier.where(one).subquery().select(), later.where(one).subquery().select())))
    return out
