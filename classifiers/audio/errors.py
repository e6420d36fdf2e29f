"""Why a recording was refused, and why the audio pipeline could not be set up."""

from __future__ import annotations

from enum import StrEnum


class AudioErrorCode(StrEnum):
    """What was wrong with an uploaded recording; the intake API answers each with a 422."""

    EMPTY_FILE = "empty_file"
    UNSUPPORTED_FORMAT = "unsupported_format"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    TOO_LONG = "too_long"
    NOT_SEEKABLE = "not_seekable"


class AudioError(Exception):
    """A recording that cannot be analysed, for a reason the uploader can fix.

    Attributes:
        code: Machine-readable reason, one of `AudioErrorCode`.
        message: A sentence a platform developer can act on.
    """

    def __init__(self, code: AudioErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"AudioError({self.code.value!r}, {self.message!r})"


class AudioConfigError(ValueError):
    """The pipeline's own settings are wrong (a missing model path, an unknown keyword).

    This is the operator's problem, not the uploader's, so the intake API must not
    turn it into a 4xx.
    """
