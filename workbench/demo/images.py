"""The demo's images: profile photos, chat images and video-call frames, made by code.

Every picture is a generated "photograph" (``classifiers.images.samples``): nothing is
downloaded and none shows a person. One bank holds a picture that a chat image copies
(cropped and re-encoded), so the worker's real hashing and matching open a case from it.

No generated picture makes NudeNet flag it, and no nude image ships with the workbench,
so the flagged frame of the call in progress stands in for NudeNet's verdict: its score
and report are written as the images job writes them, and it is not scanned again.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from classifiers.images import decode_image, display_copy
from classifiers.images.nudity import MODEL_NAME, model_card
from classifiers.images.samples import ALTERATIONS, encode, photograph
from classifiers.registry import ModelRegistry
from workbench.demo.traffic import DemoCall, Thread
from workbench.demo.traffic import Person as TrafficPerson
from workbench.enums import BankCategory, Category, ContentStatus, ImageKind, ReportSource
from workbench.imagebanks.banks import add_image, create_bank
from workbench.imagebanks.scan import image_report
from workbench.models import ClassifierScore, Image, Report, utcnow
from workbench.settings import Settings
from workbench.storage import blob_store
from workbench.upserts import insert_new

#: How many of each the demo has.
PROFILE_PHOTOS = 12
CHAT_IMAGES = 8
ENDED_CALL_FRAMES = 3
#: The bank whose picture a chat image copies.
DEMO_BANK = "demo-ncii"
#: Seeds of the generated pictures (apart from the chat's and each other's).
_PROFILE_SEED, _CHAT_SEED, _FRAME_SEED, _BANKED_SEED = 3000, 3100, 3200, 3300
#: Pictures are small (a third of a second each to make on a busy two-core machine at
#: 640x480): a profile photo 320x320, a chat image 480x360, a call frame 480x270.
#: The flagged frame's stand-in verdict (NudeNet's label and score).
_FLAGGED = {"FEMALE_BREAST_EXPOSED": 0.82}


@dataclass
class DemoImages:
    """What the seeder queues: images for the images job, reports for the reports job."""

    pending_image_ids: list[int]
    report_ids: list[int]


class _Writer:
    """Keeps each picture's bytes and display copy and collects its image row."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.store = blob_store(settings)
        self.rows: list[dict[str, Any]] = []

    def add(self, owner: TrafficPerson, kind: ImageKind, picture: Any, captured_at: datetime,
            **fields: Any) -> dict[str, Any]:

        data = encode(picture, "JPEG", 88)
        decoded = decode_image(data)
        sha, size = self.store.put_stream(io.BytesIO(data))
        display, _ = self.store.put_stream(io.BytesIO(display_copy(decoded)))
        row = {"platform_id": owner.platform_id,
               "platform_image_id": f"img-{len(self.rows) + 1:04d}",
               "owner_account_id": owner.id, "kind": kind.value, "blob_sha256": sha,
               "display_sha256": display, "format": decoded.format, "width": decoded.width,
               "height": decoded.height, "size_bytes": size, "captured_at": captured_at,
               "received_at": captured_at, "status": ContentStatus.PENDING.value,
               "call_in_progress": False, **fields}
        self.rows.append(row)
        return row


def seed_images(session: Session, settings: Settings, rng: random.Random,
                accounts: list[TrafficPerson], threads: list[Thread], calls: list[DemoCall],
                now: datetime) -> DemoImages:
    """Profile photos, chat images (one a copy of a banked picture), frames of ended
    calls, and a flagged frame of the first call in progress."""

    writer = _Writer(session, settings)
    for n, owner in enumerate(rng.sample(accounts, PROFILE_PHOTOS)):
        writer.add(owner, ImageKind.PROFILE_PHOTO, photograph(_PROFILE_SEED + n, (320, 320)),
                   now - timedelta(days=rng.randint(1, 300)))
    chats = [t for t in threads if t.room_id is None and t.lines and t.call is None]
    banked = photograph(_BANKED_SEED, (480, 360))
    bank = create_bank(session, DEMO_BANK, BankCategory.NCII.value)
    add_image(session, bank, np.asarray(banked), source="a partner's NCII list (demo)")
    for n, thread in enumerate(rng.sample(chats, CHAT_IMAGES)):
        line = rng.choice(thread.lines)
        # The last chat image is the banked picture, cropped and re-encoded.
        picture = ALTERATIONS["crop_7_jpeg"](banked) if n == CHAT_IMAGES - 1 \
            else photograph(_CHAT_SEED + n, (480, 360))
        writer.add(line.sender, ImageKind.CHAT_IMAGE, picture, line.sent_at or now,
                   platform_conversation_id=thread.key)
    ended = [c for c in calls if c.ended_at is not None]
    for n, call in enumerate(ended[:ENDED_CALL_FRAMES]):
        writer.add(call.caller, ImageKind.VIDEO_FRAME, photograph(_FRAME_SEED + n, (480, 270)),
                   call.started_at + timedelta(seconds=30), call_id=call.id)
    live = next(c for c in calls if c.ended_at is None)
    flagged = writer.add(
        live.callee, ImageKind.VIDEO_FRAME, photograph(_FRAME_SEED + 50, (480, 270)),
        min(now, live.started_at + timedelta(minutes=2)), call_id=live.id,
        call_in_progress=True, status=ContentStatus.PROCESSED.value,
        nudity_score=max(_FLAGGED.values()), nudity_labels=_FLAGGED)
    ids = [r.id for r in insert_new(session, Image, writer.rows,
                                    ["platform_id", "platform_image_id"], [Image.id])]
    frame_id = ids[writer.rows.index(flagged)]
    return DemoImages([i for i in ids if i != frame_id],
                      _flagged_frame_report(session, settings, session.get_one(Image, frame_id)))


def _flagged_frame_report(session: Session, settings: Settings, frame: Image) -> list[int]:
    """The score and report the images job writes for a flagged frame of a live call."""

    version = model_card(ModelRegistry(settings.model_dir)).version
    score = frame.nudity_score or 0.0
    session.add(ClassifierScore(
        content_type="image", content_id=frame.id, model_name=MODEL_NAME,
        model_version=version, scores={Category.SEXUAL_CONTENT.value: score},
        flagged={"labels": [Category.SEXUAL_CONTENT.value], "minor": False},
        explanation={"labels": frame.nudity_labels}, created_at=utcnow()))
    row = image_report(frame, f"clf-image-{frame.id}-sexual_content",
                  Category.SEXUAL_CONTENT.value, source=ReportSource.CLASSIFIER.value,
                  model_name=MODEL_NAME, model_version=version, model_score=score,
                  call_in_progress=True)
    return [r.id for r in insert_new(session, Report, [row],
                                     ["platform_id", "platform_report_id"], [Report.id])]
