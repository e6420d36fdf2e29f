"""Image uploads: refused when unsafe, kept whole, hashed, matched against banks, cased."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from flask import Flask
from PIL import Image as PILImage
from sqlalchemy import func, select

from actions.enforcement import action_payload
from classifiers.images.samples import ALTERATIONS, encode, photograph
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from workbench.extensions import db
from workbench.imagebanks.banks import add_image, create_bank
from workbench.models import Action, Case, Image, ImageMatch, OutboxBatch, Report
from workbench.storage import blob_store

META = {"id": "img-1", "owner_id": "u1", "kind": "chat_image", "conversation_id": "c-1",
        "message_id": "m-1", "captured_at": "2026-11-20T10:00:00Z"}


def _multipart(meta: object, image: bytes | None,
               boundary: str = "----workbench-image-boundary") -> tuple[bytes, str]:
    parts = []
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
                     f"{text}\r\n".encode())
    if image is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                     f'filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                     + image + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def _upload(api: PlatformApi, meta: object, image: bytes | None,
            **kw: str):
    body, ctype = _multipart(meta, image, **kw)
    return api.post("/api/v1/images", raw=body, content_type=ctype)


def _exif_jpeg() -> bytes:
    exif = PILImage.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {2: (12.0, 58.0, 1.0)}  # GPS latitude
    out = io.BytesIO()
    photograph(7).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_an_image_is_kept_whole_with_a_clean_display_copy_and_queued_once(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    data = _exif_jpeg()
    r = _upload(platforms["calls"], META, data)
    assert r.status_code == 202, r.json
    assert r.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert (r.json["width"], r.json["height"], r.json["duplicate"]) == (640, 480, False)
    with app.app_context():
        image = db.session.scalars(select(Image)).one()
        store = blob_store(app.extensions["workbench.settings"])
        with store.open(image.blob_sha256) as f:
            assert f.read() == data
        assert image.display_sha256 is not None
        with store.open(image.display_sha256) as f:
            shown = PILImage.open(io.BytesIO(f.read()))
            assert not shown.getexif() and shown.size == (640, 480)
        assert (image.kind, image.format, image.platform_message_id) == \
            ("chat_image", "jpeg", "m-1")
        assert db.session.scalars(select(OutboxBatch.kind)).all() == ["images"]
    # A retry (a new request, so a new signature) is accepted and stores nothing new.
    again = _upload(platforms["calls"], META, data, boundary="----retry")
    assert again.status_code == 202 and again.json["duplicate"] is True
    with app.app_context():
        assert db.session.execute(select(func.count(OutboxBatch.id))).scalar_one() == 1


def _bomb() -> bytes:
    out = io.BytesIO()
    PILImage.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    photograph(1, (40, 40)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("meta", "image", "status", "code"),
    [
        (META, b"", 422, "empty_image"),
        (META, b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", 422,
         "unsupported_image_format"),
        (META, _gif(), 422, "unsupported_image_format"),
        (META, encode(photograph(2))[:5000], 422, "undecodable_image"),
        (META, _bomb(), 422, "image_too_many_pixels"),
        (META, None, 422, "invalid_body"),
        (None, encode(photograph(2)), 422, "invalid_body"),
        ("{not json", encode(photograph(2)), 400, "malformed_json"),
        (dict(META, kind="avatar"), encode(photograph(2)), 422, "invalid_body"),
        (dict(META, captured_at="1999-01-01T00:00:00Z"), encode(photograph(2)), 422,
         "invalid_body"),
        (dict(META, id="x\u0000y"), encode(photograph(2)), 422, "invalid_body"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
        app: Flask, platforms: dict[str, PlatformApi], meta: object, image: bytes | None,
        status: int, code: str) -> None:
    r = _upload(platforms["calls"], meta, image)
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == code and r.json["error"]["message"]
    with app.app_context():
        assert db.session.execute(select(func.count(Image.id))).scalar_one() == 0
    blobs = app.extensions["workbench.settings"].storage_dir
    assert not [p for p in blobs.rglob("*") if p.is_file()]


def test_an_image_over_the_byte_limit_is_refused(database_url, redis_url, tmp_path) -> None:
    from tests.support.app import TEST_SECRET_KEY, reset_tables
    from workbench.app import create_app
    from workbench.platforms import register_platform

    reset_tables(database_url)
    app = create_app({"instance_dir": tmp_path / "i", "database_url": database_url,
                      "redis_url": redis_url, "secret_key": TEST_SECRET_KEY,
                      "max_image_bytes": 50_000})
    with app.app_context():
        register_platform(db.session, TEST_SECRET_KEY, "calls", secret="secret-calls-0123456789",
                          webhook_url="http://127.0.0.1:9/calls")
        db.session.commit()
    api = PlatformApi(app.test_client(), "calls", "secret-calls-0123456789")
    r = _upload(api, META, encode(photograph(3), "PNG"))
    assert r.status_code == 413 and r.json["error"]["code"] in {"body_too_large",
                                                                "image_too_large"}
    with app.app_context():
        assert db.session.execute(select(func.count(Image.id))).scalar_one() == 0
        db.session.remove()
        db.engine.dispose()


def test_json_instead_of_multipart_is_refused(platforms: dict[str, PlatformApi]) -> None:
    r = platforms["calls"].post("/api/v1/images", META)
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"


def test_a_bank_match_opens_a_report_and_case_in_the_banks_category(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    original = photograph(11)
    with app.app_context():
        bank = create_bank(db.session, "ncii-stopncii", "ncii")
        add_image(db.session, bank, np.asarray(original), source="test")
        db.session.commit()
    # A cropped, captioned copy on another platform, and an unrelated photograph.
    copy = ALTERATIONS["banner_15"](ALTERATIONS["mirror"](original))
    assert _upload(platforms["web"], dict(META, id="w-1", owner_id="bad"),
                   encode(copy)).status_code == 202
    assert _upload(platforms["web"], dict(META, id="w-2", owner_id="fine"),
                   encode(photograph(12))).status_code == 202
    run_jobs(app)
    with app.app_context():
        images = {i.platform_image_id: i for i in db.session.scalars(select(Image))}
        assert all(i.pdq and i.pdq_quality is not None and i.pdq_quality >= 50
                   for i in images.values())
        assert all(i.nudity_score is not None for i in images.values())
        match = db.session.scalars(select(ImageMatch)).one()
        assert match.image_id == images["w-1"].id and match.distance <= 31
        report = db.session.get_one(Report, match.report_id)
        assert (report.category, report.source, report.status) == ("ncii", "hash_match", "cased")
        assert report.content_ref is not None and report.description is not None
        assert report.content_ref["image_id"] == "w-1"
        assert "ncii-stopncii" in report.description
        case = db.session.get_one(Case, report.case_id)
        assert case.primary_category == "ncii"
        assert db.session.execute(select(func.count(Report.id))).scalar_one() == 1
        # The ncii bank's rule: the image is removed and its uploader suspended, both
        # automated and pending review, through the moderators' own apply_action.
        actions = {a.type: a for a in db.session.scalars(select(Action))}
        assert set(actions) == {"remove_content", "suspend"}
        assert all(a.automated and a.decided_by_rule == "bank:ncii-stopncii"
                   and a.case_id == case.id for a in actions.values())
        assert images["w-1"].status == "removed" and images["w-2"].status == "processed"
        removal = actions["remove_content"]
        [delivery] = removal.deliveries
        assert action_payload(removal, delivery, ["bad"])["image_id"] == "w-1"
        assert actions["suspend"].ends_at is not None
    # Processing the same batch again changes nothing.
    run_jobs(app)
    with app.app_context():
        assert db.session.execute(select(func.count(ImageMatch.id))).scalar_one() == 1
        assert db.session.execute(select(func.count(Action.id))).scalar_one() == 2


def test_a_custom_bank_without_a_rule_only_reports(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    original = photograph(13)
    with app.app_context():
        bank = create_bank(db.session, "memes", "custom")
        add_image(db.session, bank, np.asarray(original))
        db.session.commit()
    _upload(platforms["meet"], dict(META, id="q-1"), encode(ALTERATIONS["crop_10"](original)))
    run_jobs(app)
    with app.app_context():
        [report] = db.session.scalars(select(Report)).all()
        assert report.category == "other" and report.case_id is not None
        assert db.session.execute(select(func.count(Action.id))).scalar_one() == 0


def test_a_video_frame_flagged_for_nudity_in_a_live_call_goes_to_the_live_lane(
        app: Flask, platforms: dict[str, PlatformApi], monkeypatch) -> None:
    # No nude photograph can ship with the tests: NudeNet's verdict is stood in for here,
    # while decoding, storage, hashing, the queue and case filing are all real.
    from classifiers.images import nudity
    from workbench.imagebanks import scan

    monkeypatch.setattr(scan, "score_nudity", lambda rgbs, card=None: [
        nudity.NudityScore(0.4, {"BUTTOCKS_EXPOSED": 0.4}) for _ in rgbs])
    frame = dict(META, id="f-1", owner_id="teen", kind="video_frame", call_id="call-1",
                 call_in_progress=True)
    platforms["calls"].post("/api/v1/accounts", {"accounts": [
        {"id": "teen", "username": "t", "birth_year": 2012},
        {"id": "adult", "username": "a", "birth_year": 1990}]})
    assert _upload(platforms["calls"], frame, encode(photograph(21))).status_code == 202
    assert _upload(platforms["calls"], dict(frame, id="f-2", owner_id="adult", call_id="call-2"),
                   encode(photograph(22))).status_code == 202
    run_jobs(app)
    with app.app_context():
        [report] = db.session.scalars(select(Report)).all()  # 0.4: only the minor's threshold
        assert (report.category, report.model_name, report.call_in_progress) == \
            ("sexual_content", "nudenet", True)
        assert db.session.get_one(Case, report.case_id).live is True


def test_the_nudity_thresholds_come_from_the_model_metadata_in_the_model_dir(
        app: Flask, platforms: dict[str, PlatformApi], monkeypatch, tmp_path) -> None:
    from dataclasses import replace

    from classifiers.images import nudity
    from classifiers.registry import ModelRegistry
    from workbench.imagebanks import scan
    from workbench.settings import SETTINGS_KEY

    monkeypatch.setattr(scan, "score_nudity", lambda rgbs, card=None: [
        nudity.NudityScore(0.4, {"BUTTOCKS_EXPOSED": 0.4}) for _ in rgbs])
    registry = ModelRegistry(tmp_path / "models")
    shipped = registry.version_dir(nudity.MODEL_NAME, registry.active_version(nudity.MODEL_NAME))
    meta = json.loads((shipped / "metadata.json").read_text())
    meta.update(version="stricter", thresholds={"sexual_content": 0.3,
                                                "sexual_content_minor": 0.2})
    (tmp_path / "models" / nudity.MODEL_NAME / "stricter").mkdir(parents=True)
    (tmp_path / "models" / nudity.MODEL_NAME / "stricter" / "metadata.json").write_text(
        json.dumps(meta))
    registry.promote(nudity.MODEL_NAME, "stricter", "stricter for the test")
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY],
                                           model_dir=tmp_path / "models")
    platforms["calls"].post("/api/v1/accounts", {"accounts": [
        {"id": "adult", "username": "a", "birth_year": 1990}]})
    assert _upload(platforms["calls"], dict(META, id="f-9", owner_id="adult",
                                            kind="video_frame", call_id="call-9"),
                   encode(photograph(23))).status_code == 202
    run_jobs(app)
    with app.app_context():
        [report] = db.session.scalars(select(Report)).all()  # 0.4 >= the metadata's 0.3
        assert (report.category, report.model_version) == ("sexual_content", "stricter")


def test_a_removed_image_reuploaded_on_another_platform_is_removed_automatically(
        app: Flask, platforms: dict[str, PlatformApi]) -> None:
    from actions.enforcement import ActionRequest, apply_action
    from workbench.enums import ActionType

    original = photograph(41)
    assert _upload(platforms["calls"], dict(META, id="o-1", owner_id="poster"),
                   encode(original)).status_code == 202
    run_jobs(app)
    with app.app_context():
        image = db.session.scalars(select(Image)).one()
        person_id = image.owner.person_id
        apply_action(db.session, ActionRequest(
            type=ActionType.REMOVE_CONTENT, person_id=person_id, policy_reason="sexual_content",
            category="sexual_content", decided_by_rule="test", image_id=image.id))
        db.session.commit()
        assert image.status == "removed"
    # The same picture, smaller and mirrored, from another account on another platform.
    copy = ALTERATIONS["mirror"](ALTERATIONS["resized_50"](original))
    assert _upload(platforms["meet"], dict(META, id="o-2", owner_id="other"),
                   encode(copy, "WEBP")).status_code == 202
    run_jobs(app)
    with app.app_context():
        again = db.session.scalars(select(Image).where(Image.platform_image_id == "o-2")).one()
        assert again.status == "removed"
        [report] = db.session.scalars(select(Report).where(Report.source == "hash_match")).all()
        assert report.category == "sexual_content" and report.case_id is not None
        assert report.description is not None
        assert "removed-sexual_content" in report.description
        removal = db.session.scalars(select(Action).where(Action.image_id == again.id)).one()
        assert removal.automated and removal.decided_by_rule == "bank:removed-sexual_content"


def test_a_user_report_may_name_an_image(app: Flask, platforms: dict[str, PlatformApi]) -> None:
    r = platforms["web"].post("/api/v1/reports", {"reports": [{
        "id": "r-1", "reporter_id": "u2", "reported_user_id": "u1", "category": "ncii",
        "image_id": "img-1", "created_at": "2026-11-20T10:00:00Z"}]})
    assert r.status_code == 202, r.json
    bad = platforms["web"].post("/api/v1/reports", {"reports": [{
        "id": "r-2", "reported_user_id": "u1", "category": "ncii", "image_id": 7,
        "created_at": "2026-11-20T10:00:00Z"}]})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "reports[0].image_id"
    with app.app_context():
        assert db.session.scalars(select(Report)).one().content_ref == {"image_id": "img-1"}
