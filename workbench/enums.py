"""Every status, role and category the workbench stores, defined once as ``str`` enums.

Values are stored as plain strings (no native database enum), so adding a member
never needs a schema change.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a console user may do; each role includes nothing of another."""

    MODERATOR = "moderator"
    SENIOR = "senior"
    LEGAL = "legal"
    ADMIN = "admin"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    MUTED = "muted"
    RESTRICTED = "restricted"
    SUSPENDED = "suspended"
    BANNED = "banned"
    DELETED = "deleted"


class Category(StrEnum):
    """Report categories a platform may send, and the classifier may raise."""

    HARASSMENT = "harassment"
    HATE = "hate"
    SEXUAL_CONTENT = "sexual_content"
    SPAM_SCAM = "spam_scam"
    UNDERAGE_USER = "underage_user"
    SELF_HARM = "self_harm"
    VIOLENT_THREAT = "violent_threat"
    #: A demand backed by leverage ("pay, or the photo goes to your family"), sextortion too.
    EXTORTION = "extortion"
    FRAUD = "fraud"
    IMPERSONATION = "impersonation"
    NCII = "ncii"
    CHILD_SAFETY = "child_safety"
    BAN_EVASION = "ban_evasion"
    OTHER = "other"


class ReportSource(StrEnum):
    USER = "user"
    CLASSIFIER = "classifier"
    FRAUD = "fraud"
    LEGAL = "legal"
    #: Opened by the workbench itself when a new account links to a banned person.
    EVASION = "evasion"
    #: Opened by the workbench when an image matches a hash bank.
    HASH_MATCH = "hash_match"


class ReportStatus(StrEnum):
    PENDING = "pending"
    CASED = "cased"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    ACTIONED = "actioned"
    DISMISSED = "dismissed"


OPEN_CASE_STATUSES: tuple[str, ...] = (
    CaseStatus.OPEN.value,
    CaseStatus.CLAIMED.value,
    CaseStatus.ESCALATED.value,
)


class ContentStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    REMOVED = "removed"


class TranscriptStatus(StrEnum):
    """A recording's ``transcript_status``: the values ``classifiers.audio`` judges (kept
    here so the console reads them without loading the speech models)."""

    TRANSCRIBED = "transcribed"
    NO_TRANSCRIPT_LANGUAGE = "no_transcript_language"


class RecordingKind(StrEnum):
    VOICE_INTRO = "voice_intro"
    CALL = "call"
    ROOM = "room"


class ImageKind(StrEnum):
    PROFILE_PHOTO = "profile_photo"
    CHAT_IMAGE = "chat_image"
    ROOM_IMAGE = "room_image"
    VIDEO_FRAME = "video_frame"


class BankCategory(StrEnum):
    """What a hash bank holds; seniors may name others (stored as plain strings)."""

    NCII = "ncii"
    CSAM = "csam"
    TERROR = "terror"
    SCAM_IMAGE = "scam_image"
    CUSTOM = "custom"


class SignalKind(StrEnum):
    CHARGEBACK = "chargeback"
    PAYMENT_FAILURE_BURST = "payment_failure_burst"
    SHARED_DEVICE = "shared_device"
    OTP_ABUSE = "otp_abuse"
    GIFT_VELOCITY = "gift_velocity"
    MULTI_ACCOUNT = "multi_account"
    OTHER = "other"


class ActionType(StrEnum):
    WARN = "warn"
    MUTE = "mute"
    RESTRICT_CALLS = "restrict_calls"
    SUSPEND = "suspend"
    BAN = "ban"
    REMOVE_CONTENT = "remove_content"
    END_CALL = "end_call"
    #: Safety resources (helplines) for a person who may harm themselves; not a penalty.
    WELFARE_CHECK = "welfare_check"
    UNMUTE = "unmute"
    UNRESTRICT_CALLS = "unrestrict_calls"
    UNSUSPEND = "unsuspend"
    UNBAN = "unban"
    RESTORE_CONTENT = "restore_content"


class ActionStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVERSED = "reversed"


class ReviewState(StrEnum):
    """Where a model's automated action stands with the seniors who review it."""

    #: Applied by a model's rule; no person has looked at it yet.
    PENDING = "pending"
    CONFIRMED = "confirmed"
    #: Reversed on review (or on appeal) everywhere it went.
    OVERTURNED = "overturned"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class DeliveryEvent(StrEnum):
    ACTION = "action"
    OUTCOME = "outcome"
    APPEAL_OUTCOME = "appeal_outcome"


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BatchKind(StrEnum):
    """What an outbox batch carries to the queues."""

    MESSAGES = "messages"
    RECORDINGS = "recordings"
    REPORTS = "reports"
    SIGNALS = "signals"
    ACCOUNTS = "accounts"
    APPEALS = "appeals"
    IMAGES = "images"
    #: Reported messages for the review model's second opinion (workbench.cases.review).
    REVIEW = "review"
