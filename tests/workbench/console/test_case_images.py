"""Images on the case page: served only through a case that shows them, EXIF-free,
each reveal audited once per viewing; bank matches named; seniors bank an image."""

from __future__ import annotations

import io
import re

from flask import Flask
from PIL import Image as PILImage
from sqlalchemy import func, select

from tests.support.console_forms import post_form
from tests.support.console_world import World
from tests.support.image_world import report_image, upload
from workbench.extensions import db
from workbench.imagebanks.banks import create_bank
from workbench.models import AuditEvent, BankEntry, Case, ImageMatch, Person

REVEAL = re.compile(r'data-reveal-src="([^"]+)"')


def _reported_image(app: Flask, world: World, seed: int = 1) -> int:
    with app.app_context():
        image = upload(world, f"img-{seed}", seed=seed)
        report_image(world, image)
        db.session.commit()
        return image.id


def _reveals(app: Flask, image_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.verb == "image.revealed", AuditEvent.object_id == str(image_id))) or 0


def test_a_reported_image_is_shown_blurred_and_revealed_once_per_viewing(
        app: Flask, world: World, signed_in) -> None:
    image_id = _reported_image(app, world)
    moderator = signed_in("moderator")
    page = moderator.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert 'data-evidence="image"' in page
    blurred = f"/admin/case/{world.case_id}/image/{image_id}/blurred"
    assert blurred in page
    clear = REVEAL.findall(page)[0].replace("&amp;", "&")
    # The stand-in is tiny (nothing to recognise) and its serving is not a reveal.
    response = moderator.get(blurred)
    assert response.status_code == 200
    assert max(PILImage.open(io.BytesIO(response.data)).size) <= 16
    assert response.headers["Cache-Control"] == "private, no-store"
    assert _reveals(app, image_id) == 0
    # The browser may ask twice (a second tile, a reload of the image): one reveal.
    for _ in range(2):
        response = moderator.get(clear)
        assert response.status_code == 200
        shown = PILImage.open(io.BytesIO(response.data))
        assert shown.size == (640, 480)
        assert not shown.getexif(), "the display copy keeps no EXIF or GPS"
    assert _reveals(app, image_id) == 1
    # Drawing the page again is a new viewing: revealing there is audited again.
    page = moderator.get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    assert moderator.get(REVEAL.findall(page)[0].replace("&amp;", "&")).status_code == 200
    assert _reveals(app, image_id) == 2


def test_an_image_is_served_only_through_a_case_that_shows_it(
        app: Flask, world: World, signed_in) -> None:
    image_id = _reported_image(app, world)
    with app.app_context():
        unreported = upload(world, "img-unreported", seed=5).id
        other_case = db.session.scalars(select(Case.id).where(
            Case.id != world.case_id)).first()
        db.session.commit()
    url = f"/admin/case/{world.case_id}/image/{image_id}"
    assert signed_in("admin").get(url).status_code == 403
    assert signed_in("admin").get(url + "/blurred").status_code == 403
    moderator = signed_in("moderator")
    for path in (f"/admin/case/{other_case}/image/{image_id}",
                 f"/admin/case/{world.case_id}/image/{unreported}",
                 f"/admin/case/{world.case_id}/image/{unreported}/blurred",
                 f"/admin/case/{world.case_id}/image/999999"):
        assert moderator.get(path).status_code == 404, path
    # The legal team reads cases, but sees an image only while a hold covers it.
    assert signed_in("legal").get(url).status_code == 404
    assert moderator.get(url).status_code == 200
    assert _reveals(app, unreported) == 0


def test_a_bank_match_shows_the_bank_its_category_and_the_distance(
        app: Flask, world: World, signed_in) -> None:
    image_id = _reported_image(app, world)
    with app.app_context():
        bank = create_bank(db.session, "ncii-group", "ncii")
        entry = BankEntry(bank_id=bank.id, pdq="0" * 64, quality=100,
                          source='<b onmouseover="x">list 7</b>')
        db.session.add(entry)
        db.session.flush()
        db.session.add(ImageMatch(image_id=image_id, bank_entry_id=entry.id, bank_id=bank.id,
                                  distance=12, query_region="whole", bank_region="crop-5"))
        db.session.commit()
        entry_id = entry.id
    page = signed_in("moderator").get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    line = re.search(r'<li class="bank-match">(.*?)</li>', page, re.S)
    assert line, page
    text = " ".join(line[1].split())
    assert "ncii-group" in text and "ncii" in text
    assert "distance <strong>12</strong> of 256" in text
    assert f"entry #{entry_id}" in text
    assert "<b onmouseover" not in page and "&lt;b onmouseover" in page


def test_a_senior_adds_an_image_to_a_bank_and_it_is_audited(
        app: Flask, world: World, signed_in) -> None:
    image_id = _reported_image(app, world)
    with app.app_context():
        create_bank(db.session, "scam-pics", "scam_image")
        db.session.commit()
    senior = signed_in("senior")
    case_page = f"/admin/case/{world.case_id}"
    assert 'class="form-inline add-to-bank"' in senior.get(case_page).get_data(as_text=True)
    assert "add-to-bank" not in signed_in("moderator").get(case_page).get_data(as_text=True)
    response = post_form(senior, f"/admin/case/{world.case_id}/image/{image_id}/bank",
                         {"bank": "scam-pics"}, page=case_page)
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.scalars(select(BankEntry)).one()
        assert entry.source_image_id == image_id and entry.added_by_id == world.staff["senior"]
        assert entry.crop_hashes, "banked from its pixels, crops included"
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "bank.image_added")).one()
        assert event.data is not None
        assert event.object_id == str(image_id) and event.data["bank"] == "scam-pics"
    # A moderator may not, even with a well-formed form.
    assert post_form(signed_in("moderator"), f"/admin/case/{world.case_id}/image/"
                     f"{image_id}/bank", {"bank": "scam-pics"},
                     page=case_page).status_code == 403


def test_video_frames_of_a_reported_call_show_as_a_strip_on_its_timeline(
        app: Flask, world: World, signed_in) -> None:
    with app.app_context():
        # Frames of the reported recording's call ("call-9"), and one of another call.
        frames = [upload(world, f"frame-{i}", seed=20 + i, kind="video_frame", call="call-9").id
                  for i in range(3)]
        elsewhere = upload(world, "frame-x", seed=30, kind="video_frame", call="call-0").id
        db.session.commit()
        assert db.session.get(Person, world.person_id) is not None
    page = signed_in("moderator").get(f"/admin/case/{world.case_id}").get_data(as_text=True)
    strip = re.search(r'<div class="frame-strip".*?</div>', page, re.S)
    assert strip, "no frame strip on the call timeline"
    for frame in frames:
        assert f'id="frame-{frame}"' in strip[0]
    assert f"frame-{elsewhere}" not in page
    moderator = signed_in("moderator")
    assert moderator.get(f"/admin/case/{world.case_id}/image/{frames[0]}/blurred"
                         ).status_code == 200
    assert moderator.get(f"/admin/case/{world.case_id}/image/{elsewhere}/blurred"
                         ).status_code == 404


def test_a_queue_row_about_an_image_shows_it_blurred(
        app: Flask, world: World, signed_in) -> None:
    spam_case = world.other_case_ids[0]
    with app.app_context():
        image = upload(world, "img-scam", seed=9, owner="s-0")
        report_image(world, image, "spam_scam", case_id=spam_case)
        db.session.commit()
        image_id = image.id
    moderator = signed_in("moderator")
    page = moderator.get("/admin/queue/").get_data(as_text=True)
    thumb = f'src="/admin/case/{spam_case}/image/{image_id}/blurred"'
    assert thumb in page
    assert page.count('class="excerpt-thumb"') == 1  # the other rows are about text or nothing
    assert moderator.get(f"/admin/case/{spam_case}/image/{image_id}/blurred").status_code == 200
    assert _reveals(app, image_id) == 0


def test_the_legal_team_sees_a_cases_images_only_while_a_hold_covers_it(
        app: Flask, world: World, signed_in) -> None:
    from actions.holds import place_hold

    image_id = _reported_image(app, world)
    legal = signed_in("legal")
    case_page = f"/admin/case/{world.case_id}"
    page = legal.get(case_page).get_data(as_text=True)
    assert "No legal hold covers this case" in page and "data-reveal-src" not in page
    assert legal.get(f"{case_page}/image/{image_id}/blurred").status_code == 404
    with app.app_context():
        place_hold(db.session, reason="court order", reference="CS-1",
                   placed_by_id=world.staff["legal"], case_id=world.case_id)
        db.session.commit()
    page = legal.get(case_page).get_data(as_text=True)
    assert "data-reveal-src" in page
    assert legal.get(REVEAL.findall(page)[0].replace("&amp;", "&")).status_code == 200
    assert _reveals(app, image_id) == 1
