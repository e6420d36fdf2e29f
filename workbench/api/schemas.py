"""What platforms send, as pydantic models: the single source for validation and OpenAPI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    model_validator,
)

from workbench.enums import Category, ImageKind, RecordingKind, SignalKind

#: Oldest and newest timestamps accepted (clock skew of a day is tolerated).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)
#: Ids the workbench gives out are 64-bit database keys.
MAX_ID = 2**63 - 1
#: Signal ``details`` are free-form but small: a few levels, a few KiB as JSON.
DETAILS_MAX_DEPTH = 8
DETAILS_MAX_BYTES = 16 * 1024


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no legitimate message needs one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _bounded_details(value: dict[str, Any]) -> dict[str, Any]:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > DETAILS_MAX_DEPTH:
            raise ValueError(f"must not nest deeper than {DETAILS_MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    if len(json.dumps(value, separators=(",", ":"))) > DETAILS_MAX_BYTES:
        raise ValueError(f"must be at most {DETAILS_MAX_BYTES} bytes as JSON")
    return value


def _in_range(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a timezone (e.g. 2026-11-24T10:00:00Z)")
    if not EARLIEST <= value <= datetime.now(UTC) + FUTURE_SKEW:
        raise ValueError("is out of range (2000-01-01 to now)")
    return value.astimezone(UTC)


# Documented in the schema as a pattern; checked in code for a clearer message.
_NO_NUL_SCHEMA: dict[str, Any] = {"pattern": "^[^\\u0000]*$"}
Text = Annotated[StrictStr, AfterValidator(_no_nul), Field(json_schema_extra=_NO_NUL_SCHEMA)]
PlatformId = Annotated[StrictStr, Field(min_length=1, max_length=128,
                                        json_schema_extra=_NO_NUL_SCHEMA),
                       AfterValidator(_no_nul)]
ShortText = Annotated[StrictStr, Field(max_length=200), AfterValidator(_no_nul)]
Timestamp = Annotated[datetime, AfterValidator(_in_range)]
LanguageCode = Annotated[StrictStr, Field(min_length=1, max_length=16)]


class Item(BaseModel):
    """Fields a platform adds later are ignored, not refused; wrong types are refused."""

    model_config = ConfigDict(extra="ignore", strict=False, str_strip_whitespace=False)


class MessageIn(Item):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"oneOf": [
        {"required": ["recipient_id"],
         "properties": {"recipient_id": {"type": "string"}, "room_id": {"type": "null"}}},
        {"required": ["room_id"],
         "properties": {"room_id": {"type": "string"}, "recipient_id": {"type": "null"}}},
    ]})

    id: PlatformId
    conversation_id: PlatformId
    sender_id: PlatformId
    recipient_id: PlatformId | None = None
    room_id: PlatformId | None = None
    text: Annotated[Text, Field(max_length=20_000)]
    sent_at: Timestamp
    language: Annotated[StrictStr, Field(max_length=16)] | None = None

    @model_validator(mode="after")
    def _recipient_or_room(self) -> MessageIn:
        if (self.recipient_id is None) == (self.room_id is None):
            raise ValueError("give exactly one of recipient_id and room_id")
        return self


class ReportIn(Item):
    id: PlatformId
    reporter_id: PlatformId | None = None
    reported_user_id: PlatformId
    category: Category
    message_id: PlatformId | None = None
    recording_id: PlatformId | None = None
    call_id: PlatformId | None = None
    #: The platform's id of a reported image (kept as the report's content reference).
    image_id: PlatformId | None = None
    #: True when the reported call is still going on: the case goes to the live lane.
    call_in_progress: bool = False
    description: Annotated[Text, Field(max_length=5_000)] | None = None
    created_at: Timestamp


class SignalIn(Item):
    id: PlatformId
    user_id: PlatformId
    kind: SignalKind
    score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    details: Annotated[dict[str, Any], AfterValidator(_bounded_details)] | None = None
    created_at: Timestamp | None = None


class AccountIn(Item):
    id: PlatformId
    username: Annotated[Text, Field(max_length=200)]
    phone_hash: Annotated[StrictStr, Field(min_length=8, max_length=128)] | None = None
    device_ids: Annotated[list[PlatformId], Field(max_length=50)] | None = None
    # The column is 32 characters: a longer value is refused, not truncated (nor a 500).
    gender: Annotated[StrictStr, Field(max_length=32), AfterValidator(_no_nul)] | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    languages: Annotated[list[LanguageCode], Field(max_length=20)] | None = None
    #: "deleted" when the platform deleted the account: its data is erased after the
    #: retention period, unless a legal hold covers it.
    status: Literal["active", "deleted"] | None = None


class RecordingMetadata(Item):
    id: PlatformId
    owner_id: PlatformId
    kind: RecordingKind
    call_id: PlatformId | None = None
    recorded_at: Timestamp


class ImageMetadata(Item):
    id: PlatformId
    owner_id: PlatformId
    kind: ImageKind
    conversation_id: PlatformId | None = None
    message_id: PlatformId | None = None
    room_id: PlatformId | None = None
    call_id: PlatformId | None = None
    captured_at: Timestamp
    #: Only for a video frame: the call is still going on (a flagged frame goes live).
    call_in_progress: bool = False


class AppealIn(Item):
    id: PlatformId
    user_id: PlatformId
    action_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    text: Annotated[Text, Field(min_length=1, max_length=10_000)]
    created_at: Timestamp | None = None


class MessagesBatch(BaseModel):
    messages: Annotated[list[MessageIn], Field(min_length=1, max_length=1000)]


class ReportsBatch(BaseModel):
    reports: Annotated[list[ReportIn], Field(min_length=1, max_length=1000)]


class SignalsBatch(BaseModel):
    signals: Annotated[list[SignalIn], Field(min_length=1, max_length=1000)]


class AccountsBatch(BaseModel):
    accounts: Annotated[list[AccountIn], Field(min_length=1, max_length=1000)]


class AppealsBatch(BaseModel):
    appeals: Annotated[list[AppealIn], Field(min_length=1, max_length=1000)]


class Accepted(BaseModel):
    """The answer to an accepted batch."""

    accepted: int
    duplicate: int
    batch_id: int | None = None


class AccountsAccepted(BaseModel):
    created: int
    updated: int
    batch_id: int | None = None


class RecordingAccepted(BaseModel):
    id: StrictStr
    sha256: StrictStr
    duplicate: bool
    duration_s: float | None


class ImageAccepted(BaseModel):
    id: StrictStr
    sha256: StrictStr
    duplicate: bool
    width: int
    height: int


class UserStatus(BaseModel):
    user_id: StrictStr
    status: Literal["active", "warned", "muted", "restricted", "suspended", "banned"]
    actions: list[dict[str, Any]]


class ErrorBody(BaseModel):
    code: StrictStr
    message: StrictStr
    field: StrictStr | None = None
    index: int | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
