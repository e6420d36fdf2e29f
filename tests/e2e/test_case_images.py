"""Images on the case page in a real browser: blurred by default, revealed by a click or
by v, one audit event per reveal; no way to the bytes for someone without the case."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.browser import Console
from tests.support.console_world import STAFF, World
from tests.support.image_world import report_image, upload
from workbench.extensions import db
from workbench.models import AuditEvent

pytestmark = pytest.mark.e2e

#: Generous: two shared cores, other work running.
WAIT_MS = 20_000


@pytest.fixture
def second(browser: Any, live_server: str) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), live_server)
    yield tab
    context.close()


def _reveals(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.verb == "image.revealed").order_by(AuditEvent.id)))


def _filter(console: Console, image_id: int) -> str:
    return str(console.page.eval_on_selector(
        f'.media[data-image-id="{image_id}"]', "e => getComputedStyle(e).filter"))


def _drawn(console: Console, image_id: int, clear: bool) -> None:
    """Wait until the tile shows the clear image (or the blurred stand-in), decoded."""
    console.page.wait_for_function(
        """([id, blurred]) => {
             const img = document.querySelector(`.media[data-image-id="${id}"] img`);
             const src = new URL(img.src).pathname;
             return img.complete && img.naturalWidth > 0
                    && src.endsWith(blurred ? '/blurred' : `/image/${id}`);
           }""", arg=[image_id, not clear], timeout=WAIT_MS)


def test_images_are_blurred_until_clicked_or_v_and_each_reveal_is_audited_once(
        app: Flask, world: World, console: Console, second: Console) -> None:
    with app.app_context():
        first = upload(world, "img-beach", seed=3)
        other = upload(world, "img-party", seed=4)
        report_image(world, first, "ncii")
        report_image(world, other, "sexual_content")
        # Frames of the reported call ("call-9"): a strip under its timeline.
        frames = [upload(world, f"frame-{i}", seed=40 + i, kind="video_frame",
                         call="call-9").id for i in range(3)]
        db.session.commit()
        first_id, other_id = first.id, other.id
    console.sign_in(STAFF["moderator"])
    console.goto(f"/admin/case/{world.case_id}")
    page = console.page
    page.wait_for_selector('[data-evidence="image"]')
    for image_id in (first_id, other_id):
        _drawn(console, image_id, clear=False)
        assert "blur(" in _filter(console, image_id) and "grayscale(1)" in _filter(
            console, image_id)
    assert page.eval_on_selector(f'.media[data-image-id="{first_id}"] img',
                                 "e => e.naturalWidth") <= 16
    strip = page.locator("#evidence-call-" + page.eval_on_selector(
        ".call-timeline", "e => e.id.split('-').pop()") + " .frame-strip .media")
    assert strip.count() == 3
    assert all("blur(" in _filter(console, f) for f in frames)
    shot = console.screenshot("case-blurred-image")
    assert shot.stat().st_size > 0
    assert _reveals(app) == []

    # A click shows the image itself, greyscale still (the wellness default), not blurred.
    console.click(f'.media[data-image-id="{first_id}"]')
    _drawn(console, first_id, clear=True)
    assert "blur(" not in _filter(console, first_id)
    assert "grayscale(1)" in _filter(console, first_id)
    assert page.eval_on_selector(f'.media[data-image-id="{first_id}"] img',
                                 "e => e.naturalWidth") == 640
    # v shows the next one still blurred, in page order (the call's first frame), or the
    # one in focus; clicking the first again changes nothing.
    console.press("v")
    _drawn(console, frames[0], clear=True)
    assert "blur(" in _filter(console, frames[1]) and "blur(" in _filter(console, other_id)
    page.focus(f'.media[data-image-id="{other_id}"]')
    console.press("v")
    _drawn(console, other_id, clear=True)
    console.click(f'.media[data-image-id="{first_id}"]')
    assert _reveals(app) == [str(first_id), str(frames[0]), str(other_id)]
    console.screenshot("case-revealed-image")

    # An administrator (no case reading) and a moderator asking through another case
    # get nothing, the blurred stand-in included.
    second.sign_in(STAFF["admin"])
    for path in (f"/admin/case/{world.case_id}/image/{first_id}",
                 f"/admin/case/{world.case_id}/image/{first_id}/blurred"):
        assert second.page.request.get(second.base_url + path).status == 403
    other_case = world.other_case_ids[0]
    assert console.page.request.get(
        console.base_url + f"/admin/case/{other_case}/image/{first_id}").status == 404
    assert _reveals(app) == [str(first_id), str(frames[0]), str(other_id)]
    assert not console.errors, console.errors
