"""The messages around a reported message: the case page's context and an evidence bundle's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.support.app import TEST_SECRET_KEY
from workbench.cases.view import CONTEXT_MESSAGES, _content_items
from workbench.models import Account, Conversation, Message, Person, Platform
from workbench.models.conversations import neighbours
from workbench.platforms import register_platform

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _world(session: Session) -> tuple[list[int], list[int], int]:
    """Two conversations: ``chat`` of 14 messages (two pairs sent in the same second, so
    their order is their ids'), ``other`` of 3 sent at the same times; and an account."""
    register_platform(session, TEST_SECRET_KEY, "calls")
    platform = session.query(Platform).filter_by(slug="calls").one()
    person = Person()
    session.add(person)
    session.flush()
    account = Account(platform_id=platform.id, platform_user_id="u1", person_id=person.id)
    session.add(account)
    session.flush()
    ids: dict[str, list[int]] = {}
    for name, seconds in (("chat", [0, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11]),
                          ("other", [2, 3, 4])):
        conversation = Conversation(platform_id=platform.id, platform_conversation_id=name)
        session.add(conversation)
        session.flush()
        rows = [Message(platform_id=platform.id, platform_message_id=f"{name}-{i}",
                        conversation_id=conversation.id, sender_account_id=account.id,
                        text=f"{name} {i}", sent_at=T0 + timedelta(seconds=s), received_at=T0)
                for i, s in enumerate(seconds)]
        session.add_all(rows)
        session.flush()
        ids[name] = [m.id for m in rows]
    session.commit()
    return ids["chat"], ids["other"], account.id


def test_neighbours_are_the_nearest_in_the_conversation_on_each_side(session: Session) -> None:
    chat, other, _account = _world(session)
    missing = max(chat + other) + 1000
    found = neighbours(session, [chat[4], chat[0], chat[13], other[1], missing], around=3)

    # chat[3] and chat[4] share a second, as do chat[8] and chat[9]: ids order them.
    assert sorted(found[chat[4]]) == sorted(chat[1:4] + chat[5:8])
    assert sorted(found[chat[0]]) == chat[1:4]            # first: nothing before
    assert sorted(found[chat[13]]) == chat[10:13]         # last: nothing after
    assert sorted(found[other[1]]) == [other[0], other[2]]  # never another conversation
    assert missing not in found
    assert neighbours(session, [chat[0]], around=0) == {chat[0]: []}  # found, none around
    assert neighbours(session, [], around=3) == {}
    # The tie broken the other way round: chat[9]'s earlier side includes chat[8].
    assert sorted(neighbours(session, [chat[9]], around=1)[chat[9]]) == [chat[8], chat[10]]


def test_the_case_page_reads_every_reported_messages_context_at_once(
        session: Session, database_url: str) -> None:
    chat, other, _account = _world(session)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = _content_items(session, [chat[6]])
        few = len(statements)
        statements.clear()
        items = _content_items(session, [chat[6], other[1], chat[0], chat[12]])
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [m.text for m in one[0].before] == [f"chat {i}" for i in range(1, 6)]
    assert [m.text for m in one[0].after] == [f"chat {i}" for i in range(7, 12)]
    assert [it.message.id for it in items] == [chat[6], other[1], chat[0], chat[12]]
    assert [m.id for m in items[1].before] == [other[0]]
    assert [m.id for m in items[1].after] == [other[2]]
    assert items[2].before == [] and [m.id for m in items[2].after] == chat[1:6]
    assert [m.id for m in items[3].before] == chat[7:12]
    assert [m.id for m in items[3].after] == [chat[13]]
    assert CONTEXT_MESSAGES == 5
    if database_url.startswith("postgresql"):
        # One statement for all the neighbours, however many messages were reported.
        assert len(statements) == few, statements
