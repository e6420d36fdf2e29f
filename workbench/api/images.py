"""``POST /api/v1/images``: an image and its metadata, signed like every other request.

The route joins the API blueprint (``workbench.api.routes.bp``) when this module is
imported, before the blueprint is registered: same prefix, same CSRF exemption.
"""

from __future__ import annotations

from flask import Response, request
from pydantic import ValidationError

from workbench.api.auth import authenticate
from workbench.api.errors import ApiError
from workbench.api.image_store import read_upload, store_image
from workbench.api.parsing import decode_json, raw_body, validation_error
from workbench.api.routes import _accepted, _multipart, bp
from workbench.api.schemas import ImageMetadata
from workbench.current import settings
from workbench.extensions import db

#: Room for the multipart framing and the metadata part beside the image.
ENVELOPE_BYTES = 64 * 1024


def _metadata(raw_meta: str | None) -> ImageMetadata:
    if raw_meta is None:
        raise ApiError(422, "invalid_body", "the 'metadata' part is required", field="metadata")
    raw = decode_json(raw_meta, ("metadata",))  # bounded as every other body is
    try:
        return ImageMetadata.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, ("metadata",)) from None


@bp.post("/images")
def post_images() -> tuple[Response, int]:
    s = settings()
    body = raw_body(s.max_image_bytes + ENVELOPE_BYTES)
    caller = authenticate(body)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type",
                       "send multipart/form-data with 'metadata' (JSON) and 'image' parts")
    form, files = _multipart(body)
    meta = _metadata(form.get("metadata"))
    upload = files.get("image")
    if upload is None:
        raise ApiError(422, "invalid_body", "the 'image' part is required", field="image")
    data = read_upload(upload, s.max_image_bytes)
    result = store_image(db.session, s, caller.platform_id, meta, data)
    return _accepted(
        {"id": meta.id, "sha256": result.sha256, "duplicate": result.duplicate,
         "width": result.width, "height": result.height},
        result.batch_id, "images", int(not result.duplicate), int(result.duplicate),
    )
