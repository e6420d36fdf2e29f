"""Images for tests: uploaded through the intake's own code, reported in a case.

Call inside an app context, with the platform registered (the console world's
``upload`` and ``report_image`` after ``tests.support.console_world.build_world``).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image as PILImage
from sqlalchemy import select

from classifiers.images.samples import photograph
from tests.support.console_world import World
from workbench.api.image_store import store_image
from workbench.api.schemas import ImageMetadata
from workbench.current import settings
from workbench.enums import ImageKind, ReportSource
from workbench.extensions import db
from workbench.models import Account, Image, Report, utcnow


def exif_jpeg(seed: int) -> bytes:
    """A photograph as a JPEG carrying a camera maker and a GPS position."""
    exif = PILImage.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {2: (12.0, 58.0, 1.0)}
    out = io.BytesIO()
    photograph(seed).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def store(platform_id: int, platform_image_id: str, owner: str, *, seed: int = 1,
          kind: str = "chat_image", call: str | None = None, data: bytes | None = None,
          captured_at: datetime | None = None) -> Image:
    """An image of ``owner`` (the platform's user id), kept as intake keeps it."""
    meta = ImageMetadata(id=platform_image_id, owner_id=owner, kind=ImageKind(kind), call_id=call,
                         captured_at=captured_at or utcnow() - timedelta(minutes=2))
    stored = store_image(db.session, settings(), platform_id, meta,
                         data if data is not None else exif_jpeg(seed))
    db.session.flush()
    return db.session.scalars(select(Image).where(
        Image.platform_id == platform_id, Image.platform_image_id == platform_image_id,
        Image.blob_sha256 == stored.sha256)).one()


def upload(world: World, platform_image_id: str, *, seed: int = 1, kind: str = "chat_image",
           owner: str = "c-100", call: str | None = None, data: bytes | None = None) -> Image:
    """An image of the console world's reported person (``owner``) on the calls platform."""
    return store(world.platform_ids["calls"], platform_image_id, owner, seed=seed, kind=kind,
                 call=call, data=data)


def report_image(world: World, image: Image, category: str = "ncii",
                 case_id: int | None = None) -> Report:
    """A user's report about the image, filed in the world's case (or ``case_id``)."""
    victim = db.session.scalars(select(Account.id).where(
        Account.platform_user_id == "c-200")).one()
    return file_image_report(image, victim, case_id or world.case_id, category)


def file_image_report(image: Image, reporter_account_id: int, case_id: int,
                      category: str = "ncii") -> Report:
    """A user's report naming the image by the platform's id, in ``case_id``."""
    report = Report(platform_id=image.platform_id,
                    platform_report_id=f"r-image-{image.platform_image_id}",
                    reporter_account_id=reporter_account_id,
                    reported_account_id=image.owner_account_id,
                    category=category, content_ref={"image_id": image.platform_image_id},
                    case_id=case_id, description="he posted my photo",
                    source=ReportSource.USER.value, created_at=utcnow())
    db.session.add(report)
    db.session.flush()
    return report
