"""Search from the header and the person page: what each role finds, and what it may not."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.console_world import World
from workbench.extensions import db
from workbench.models import Account, Case, Message, utcnow

Signed = Callable[[str], FlaskClient]


def _page(client: FlaskClient, q: str) -> str:
    response = client.get("/admin/search/", query_string={"q": q})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_username_prefix_finds_every_account_of_the_person(signed_in: Signed,
                                                             world: World) -> None:
    page = _page(signed_in("senior"), "RAJ")  # case does not matter
    assert "raj_alt" in page and "raj.web" in page
    assert f"/admin/person/{world.person_id}" in page
    assert "meera" not in page


def test_a_platform_user_id_is_found_with_or_without_the_slug(app: Flask, signed_in: Signed,
                                                              world: World) -> None:
    client = signed_in("legal")
    assert "rowdy_raj" in _page(client, "c-100")
    assert "rowdy_raj" in _page(client, "calls:c-100")
    assert "rowdy_raj" in _page(client, "calls/c-100")
    # The right id on the wrong platform finds nothing.
    assert "rowdy_raj" not in _page(client, "web:c-100")


def test_phone_hash_and_case_number(signed_in: Signed, world: World) -> None:
    client = signed_in("senior")
    assert "raj.web" in _page(client, "a" * 64)
    page = _page(client, f"#{world.case_id}")
    assert f"/admin/case/{world.case_id}" in page
    assert "Nothing found" in _page(client, "9" * 40)  # no case, no 500


def test_words_from_a_message_find_it_in_any_script(app: Flask, signed_in: Signed,
                                                    world: World) -> None:
    with app.app_context():
        sender = db.session.scalar(select(Account).where(Account.platform_user_id == "c-100"))
        template = db.session.get(Message, world.message_id)
        assert sender is not None and template is not None
        db.session.add(Message(platform_id=template.platform_id, platform_message_id="m-hi",
                               conversation_id=template.conversation_id,
                               sender_account_id=sender.id, text="500 सिक्के भेजो वरना फोटो लीक",
                               sent_at=utcnow(), received_at=utcnow()))
        db.session.commit()
    client = signed_in("senior")
    assert "worthless idiot" in _page(client, "worthless")
    assert "सिक्के" in _page(client, "फोटो")
    page = _page(client, 'idiot" OR *')  # query syntax is taken as words, not obeyed
    assert page.count("data-search-section") <= 3


def test_a_moderator_finds_only_people_with_cases_in_their_queues(app: Flask,
                                                                   signed_in: Signed,
                                                                   world: World) -> None:
    client = signed_in("moderator")
    assert "rowdy_raj" in _page(client, "rowdy")
    with app.app_context():
        for case in db.session.scalars(select(Case).where(Case.person_id == world.person_id)):
            case.queue = "restricted-lane"  # a queue no routing rule gives this moderator
        db.session.commit()
    assert "rowdy_raj" not in _page(client, "rowdy")
    assert "data-search-section" not in _page(client, "worthless")
    assert client.get(f"/admin/person/{world.person_id}").status_code == 404
    # A senior still finds everything.
    assert "rowdy_raj" in _page(signed_in("senior"), "rowdy")


def test_the_person_page_shows_every_account_and_case(signed_in: Signed, world: World) -> None:
    response = signed_in("senior").get(f"/admin/person/{world.person_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("rowdy_raj", "raj_alt", "raj.web"):
        assert name in page
    assert f"case {world.case_id}" in page
    assert signed_in("senior").get("/admin/person/999999").status_code == 404
    assert signed_in("senior").get(f"/admin/person/{2**64}").status_code == 404


def test_hostile_names_are_escaped_in_results(app: Flask, signed_in: Signed,
                                              world: World) -> None:
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.platform_user_id == "c-101"))
        assert account is not None
        account.username = 'raj<script>window.__pwned=1</script>'
        db.session.commit()
    page = _page(signed_in("senior"), "raj")
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;" in page


def test_decided_lists_my_decisions_and_seniors_see_everyone_s(app: Flask, signed_in: Signed,
                                                               world: World) -> None:
    from actions.decisions import Decision, decide_case

    with app.app_context():
        decide_case(db.session, world.other_case_ids[0], moderator_id=world.staff["moderator"],
                    role="moderator", decision=Decision.DISMISSED)
        decide_case(db.session, world.other_case_ids[1], moderator_id=world.staff["senior"],
                    role="senior", decision=Decision.DISMISSED)
        db.session.commit()
    mine = signed_in("moderator").get("/admin/decided/").get_data(as_text=True)
    assert f"case {world.other_case_ids[0]}<" in mine
    assert f"case {world.other_case_ids[1]}<" not in mine
    # A moderator asking for everyone's still gets their own.
    theirs = signed_in("moderator").get("/admin/decided/?who=everyone").get_data(as_text=True)
    assert f"case {world.other_case_ids[1]}<" not in theirs
    senior = signed_in("senior").get("/admin/decided/?who=everyone").get_data(as_text=True)
    assert f"case {world.other_case_ids[0]}<" in senior and \
        f"case {world.other_case_ids[1]}<" in senior
    none = signed_in("senior").get("/admin/decided/?who=everyone&decision=violation")
    assert f"case {world.other_case_ids[0]}<" not in none.get_data(as_text=True)
    assert signed_in("senior").get("/admin/decided/?decision=x").status_code == 400
    assert signed_in("senior").get("/admin/decided/?before=²").status_code == 400


def _say(app: Flask, world: World, uid: str, word: str, ages_in_hours: list[float]) -> None:
    """Messages "<word> <uid> h<age>" from the account ``uid``, sent that many hours ago."""
    from datetime import timedelta

    with app.app_context():
        sender = db.session.scalar(select(Account).where(Account.platform_user_id == uid))
        template = db.session.get(Message, world.message_id)
        assert sender is not None and template is not None
        now = utcnow()
        for age in ages_in_hours:
            sent = now - timedelta(hours=age)
            db.session.add(Message(platform_id=template.platform_id,
                                   platform_message_id=f"{word}-{uid}-{age}",
                                   conversation_id=template.conversation_id,
                                   sender_account_id=sender.id, text=f"{word} {uid} h{age:05.1f}",
                                   sent_at=sent, received_at=sent))
        db.session.commit()


def _found(page: str, word: str) -> list[str]:
    """The messages with ``word`` a results page lists, in its order."""
    import re

    return re.findall(rf"{word} (c-[0-9]+ h[0-9.]+)", page)


def test_word_search_lists_the_newest_matches_first_within_the_searcher_s_queues(
        app: Flask, signed_in: Signed, world: World) -> None:
    # "zebra": 30 matches spread over five days, the newest from a person without a case;
    # "yak": 30 within the last two hours, interleaved. Each has more than a page.
    _say(app, world, "c-100", "zebra", [2.5 + 4 * n for n in range(25)])
    _say(app, world, "c-200", "zebra", [1.0, 3.0, 5.0, 7.0, 9.0])  # a person without a case
    _say(app, world, "c-100", "yak", [0.5 * n + 0.2 for n in range(22)])
    _say(app, world, "c-200", "yak", [0.1, 0.3, 0.6, 0.8, 1.1, 1.3, 1.6, 1.8])

    def newest(word: str, senders: tuple[str, ...]) -> list[str]:
        with app.app_context():
            rows = db.session.execute(select(Message.text).where(Message.text.like(f"{word} %"))
                                      .order_by(Message.sent_at.desc())).scalars()
            texts = [t.removeprefix(f"{word} ") for t in rows]
        return [t for t in texts if t.split()[0] in senders][:20]

    for word in ("zebra", "yak"):
        senior = _found(_page(signed_in("senior"), word), word)
        assert senior == newest(word, ("c-100", "c-200"))
        assert any(t.startswith("c-200") for t in senior)
        moderator = _found(_page(signed_in("moderator"), word), word)
        assert moderator == newest(word, ("c-100",))
        assert len(moderator) == 20
