"""Why an uploaded image was refused."""

from __future__ import annotations

from enum import StrEnum


class ImageErrorCode(StrEnum):
    """What was wrong with an image; the intake API answers each with a 422."""

    EMPTY_FILE = "empty_file"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    MALFORMED = "malformed"


class ImageError(Exception):
    """An image that cannot be used, for a reason the uploader can fix.

    Attributes:
        code: Machine-readable reason, one of `ImageErrorCode`.
        message: A sentence a platform developer can act on.
    """

    def __init__(self, code: ImageErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageError({self.code.value!r}, {self.message!r})"
