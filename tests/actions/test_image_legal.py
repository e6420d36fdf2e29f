"""Images in the legal work: evidence bundles carry the original bytes with their hash,
holds keep images from erasure and retention, retention deletes expired images' blobs,
and the transparency report counts bank matches by bank and category."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from actions.erasure import carry_out, file_erasure_request
from actions.evidence import verify_bundle
from actions.holds import place_hold, release_hold
from actions.retention import run_retention
from tests.actions.test_evidence import export_to
from tests.support.image_world import exif_jpeg, file_image_report, store
from tests.support.legal_data import World, build_world
from workbench.current import settings
from workbench.extensions import db
from workbench.imagebanks.banks import create_bank
from workbench.models import (
    Account,
    BankEntry,
    HashBank,
    Image,
    ImageMatch,
    Report,
    utcnow,
)
from workbench.reporting.transparency import monthly_report
from workbench.rules.retention import RetentionPolicy
from workbench.storage import blob_store


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def _match(image: Image, bank_name: str, category: str, distance: int = 9) -> int:
    bank = db.session.scalars(select(HashBank.id).where(HashBank.name == bank_name)).first()
    if bank is None:
        bank = create_bank(db.session, bank_name, category).id
    entry = BankEntry(bank_id=bank, pdq=f"{image.id:064x}", quality=100, source="list")
    db.session.add(entry)
    db.session.flush()
    db.session.add(ImageMatch(image_id=image.id, bank_entry_id=entry.id, bank_id=bank,
                              distance=distance, query_region="whole", bank_region="whole"))
    db.session.flush()
    return entry.id


def test_a_case_bundle_carries_the_reported_image_byte_for_byte_with_its_hash(
        app: Flask, world: World, tmp_path: Path) -> None:
    original = exif_jpeg(11)
    with app.app_context():
        image = store(world.platform_ids["calls"], "img-evidence", "u-harasser", data=original)
        file_image_report(image, world.victim_account, world.case_id)
        # Someone else's image, in no report: not in the case's bundle.
        store(world.platform_ids["calls"], "img-other", "u-bystander", seed=12)
        _match(image, "ncii-group", "ncii")
        db.session.commit()
        image_id = image.id
    zip_path = tmp_path / "case.zip"
    export_to(app, world, "case", world.case_id, zip_path)
    zf = zipfile.ZipFile(zip_path)
    name = f"data/images/image-{image_id}.jpg"
    data = zf.read(f"evidence-1/{name}")
    assert data == original  # as received, EXIF and all: the evidence
    digest = hashlib.sha256(original).hexdigest()
    manifest: dict[str, str] = {}
    for line in zf.read("evidence-1/manifest-sha256.txt").decode().splitlines():
        digest_of_file, file_name = line.split(maxsplit=1)
        manifest[file_name] = digest_of_file
    assert manifest[name] == digest
    images = json.loads(zf.read("evidence-1/data/images.json"))
    assert [i["platform_image_id"] for i in images] == ["img-evidence"]
    assert images[0]["sha256"] == digest and images[0]["image_file"] == name
    assert images[0]["bank_matches"][0]["bank"] == "ncii-group"
    custody = json.loads(zf.read("evidence-1/data/custody.json"))
    assert custody["image_sha256"] == {name: digest}
    assert custody["included"]["images"] == 1
    assert verify_bundle(zip_path).ok


def _bystander_frame(world: World) -> tuple[int, int]:
    """A frame the bystander sent on a call reported in the world's case."""
    frame = store(world.platform_ids["calls"], "frame-1", "u-bystander", seed=13,
                  kind="video_frame", call="call-held")
    db.session.add(Report(platform_id=world.platform_ids["calls"], platform_report_id="r-call",
                          reporter_account_id=world.victim_account,
                          reported_account_id=world.accounts["calls:u-harasser"],
                          category="sexual_content", call_id=frame.call_id,
                          case_id=world.case_id, source="user", created_at=utcnow()))
    db.session.flush()
    return frame.id, db.session.get_one(Account, world.bystander_account).person_id


def test_a_hold_on_a_case_keeps_a_frame_of_its_call_from_erasure_until_released(
        app: Flask, world: World) -> None:
    with app.app_context():
        store_ = blob_store(settings())
        frame_id, bystander = _bystander_frame(world)
        hold = place_hold(db.session, reason="court order", reference="CS-7/2026",
                          placed_by_id=world.legal_id, case_id=world.case_id)
        request = file_erasure_request(db.session, person_id=bystander)
        db.session.commit()
        sha = db.session.get_one(Image, frame_id).blob_sha256
        display = db.session.get_one(Image, frame_id).display_sha256

        assert carry_out(db.session, store_, request, RetentionPolicy()) is False
        assert "CS-7/2026" in (request.blocked_reason or "")
        assert db.session.get(Image, frame_id) is not None and store_.exists(sha)

        release_hold(db.session, hold.id, released_by_id=world.legal_id, note="answered")
        db.session.commit()
        assert carry_out(db.session, store_, request, RetentionPolicy()) is True
        assert db.session.get(Image, frame_id) is None
        assert request.erased and request.erased["images"] == 1
        assert not store_.exists(sha) and display and not store_.exists(display)


def test_retention_deletes_an_expired_image_its_blobs_and_matches_but_not_held_or_reviewed(
        app: Flask, world: World) -> None:
    with app.app_context():
        store_ = blob_store(settings())
        calls = world.platform_ids["calls"]
        expired = store(calls, "img-old", "u-bystander", seed=14)
        entry_id = _match(expired, "scam-list", "scam_image")
        held = store(calls, "img-held", "u-victim", seed=15)
        reviewed = store(calls, "img-reviewed", "u-bystander", seed=16)
        # A pending report names this one (not yet filed in a case).
        db.session.add(Report(platform_id=calls, platform_report_id="r-pending",
                              reported_account_id=world.bystander_account, category="ncii",
                              content_ref={"image_id": "img-reviewed"}, source="user",
                              created_at=utcnow()))
        place_hold(db.session, reason="preserve", reference="FIR-9",
                   placed_by_id=world.legal_id, person_id=world.victim_id)
        db.session.commit()
        blobs = (expired.blob_sha256, expired.display_sha256)
        ids = {"expired": expired.id, "held": held.id, "reviewed": reviewed.id}

        early = run_retention(db.session, store_, RetentionPolicy(),
                              now=utcnow() + timedelta(days=179))
        assert "images" not in early.purged and all(store_.exists(b) for b in blobs if b)

        counts = run_retention(db.session, store_, RetentionPolicy(),
                               now=utcnow() + timedelta(days=181))
        assert counts.purged["images"] == 1 and counts.purged["image_matches"] == 1
        assert counts.purged["image_blobs"] == 2  # the original and its display copy
        assert counts.kept_held["images"] == 1 and counts.kept_under_review["images"] == 1
        left = set(db.session.scalars(select(Image.id)))
        assert left == {ids["held"], ids["reviewed"]}
        assert not any(store_.exists(b) for b in blobs if b)
        assert db.session.scalars(select(ImageMatch)).all() == []
        # The bank keeps the hash (it exists to catch copies) without naming the image.
        entry = db.session.get_one(BankEntry, entry_id)
        assert entry.source_image_id is None


def test_the_monthly_report_counts_bank_matches_by_bank_and_category(
        app: Flask, world: World) -> None:
    with app.app_context():
        calls = world.platform_ids["calls"]
        a = store(calls, "img-a", "u-harasser", seed=17)
        b = store(calls, "img-b", "u-harasser", seed=18)
        c = store(calls, "img-c", "u-bystander", seed=19)
        _match(a, "ncii-group", "ncii")
        _match(b, "ncii-group", "ncii")
        _match(c, "terror-gifct", "terror")
        last_month = store(calls, "img-d", "u-bystander", seed=20)
        _match(last_month, "terror-gifct", "terror")
        db.session.execute(update(ImageMatch).where(ImageMatch.image_id == last_month.id)
                           .values(created_at=utcnow() - timedelta(days=40)))
        db.session.commit()
        now = utcnow()
        matches = monthly_report(db.session, now.year, now.month)["hash_matches"]
        assert matches == {"total": 3, "by_bank": {"ncii-group": 2, "terror-gifct": 1},
                           "by_category": {"ncii": 2, "terror": 1}}
        assert monthly_report(db.session, 2001, 1)["hash_matches"] == {
            "total": 0, "by_bank": {}, "by_category": {}}
