"""Storing an uploaded image: decoded safely, kept as a blob with a clean display copy, queued.

The upload is checked before anything is kept: only JPEG, PNG and WebP, at most
``max_image_bytes`` and ``max_image_pixels`` (a decompression bomb is refused from its
header). The original bytes are kept as they came (evidence), and a re-encoded copy
without EXIF, GPS or comments is kept for the console.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.images import ImageError, decode_image, display_copy
from workbench.api.errors import ApiError
from workbench.api.schemas import ImageMetadata
from workbench.api.store import resolve_accounts
from workbench.enums import BatchKind, ContentStatus
from workbench.models import Call, Image, OutboxBatch, utcnow
from workbench.settings import Settings
from workbench.storage import blob_store
from workbench.upserts import insert_new

#: The intake's error code for each reason the decoder refuses an image.
IMAGE_ERROR_CODES = {
    "empty_file": "empty_image",
    "unsupported_format": "unsupported_image_format",
    "too_many_pixels": "image_too_many_pixels",
    "malformed": "undecodable_image",
}


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    duplicate: bool
    width: int
    height: int
    batch_id: int | None


def _call_id(session: Session, platform_id: int, platform_call_id: str | None) -> int | None:
    if not platform_call_id:
        return None
    # Insert-or-skip: two frames of one new call may arrive at the same moment.
    insert_new(session, Call, [{"platform_id": platform_id, "platform_call_id": platform_call_id,
                                "created_at": utcnow()}],
               ["platform_id", "platform_call_id"], [Call.id])
    return session.execute(select(Call.id).where(
        Call.platform_id == platform_id, Call.platform_call_id == platform_call_id)
    ).scalar_one()


def read_upload(upload: Any, limit: int) -> bytes:
    """The uploaded part's bytes, refused with 413 past ``limit``."""
    data: bytes = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "image_too_large",
                       f"the image is over the limit of {limit} bytes", field="image")
    return data


def store_image(session: Session, settings: Settings, platform_id: int,
                meta: ImageMetadata, data: bytes) -> StoredImage:
    """Check the image, keep its bytes and display copy, and write the image row."""

    try:
        decoded = decode_image(data, settings.max_image_pixels)
    except ImageError as exc:
        raise ApiError(422, IMAGE_ERROR_CODES[exc.code.value], exc.message,
                       field="image") from None
    existing = session.execute(select(Image).where(
        Image.platform_id == platform_id, Image.platform_image_id == meta.id)
    ).scalar_one_or_none()
    if existing is not None:
        return StoredImage(existing.blob_sha256, True, existing.width, existing.height, None)
    store = blob_store(settings)
    # Blobs first: a row never names bytes that are not there (a blob left by a failed
    # commit is harmless, and the same bytes land under the same key next time).
    sha, size = store.put_stream(io.BytesIO(data))
    display_sha, _ = store.put_stream(io.BytesIO(display_copy(decoded)))
    owner = resolve_accounts(session, platform_id, [meta.owner_id])[meta.owner_id]
    # Insert-or-skip, so the same image sent twice at once is stored once, not a 500.
    inserted = insert_new(session, Image, [{
        "platform_id": platform_id, "platform_image_id": meta.id, "owner_account_id": owner,
        "kind": meta.kind.value, "platform_conversation_id": meta.conversation_id,
        "platform_message_id": meta.message_id, "room_id": meta.room_id,
        "call_id": _call_id(session, platform_id, meta.call_id), "blob_sha256": sha,
        "display_sha256": display_sha, "format": decoded.format, "width": decoded.width,
        "height": decoded.height, "size_bytes": size, "captured_at": meta.captured_at,
        "call_in_progress": meta.call_in_progress, "received_at": utcnow(),
        "status": ContentStatus.PENDING.value,
    }], ["platform_id", "platform_image_id"], [Image.id])
    if not inserted:
        return StoredImage(sha, True, decoded.width, decoded.height, None)
    batch = OutboxBatch(platform_id=platform_id, kind=BatchKind.IMAGES.value,
                        item_ids={"ids": [inserted[0].id]})
    session.add(batch)
    session.flush()
    return StoredImage(sha, False, decoded.width, decoded.height, batch.id)
