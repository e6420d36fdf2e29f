"""The workbench's data model. Import models from here."""

from workbench.models.audit import AuditEvent
from workbench.models.base import Base, utcnow
from workbench.models.console import (
    BulkOperation,
    BulkOperationItem,
    DailyFigure,
    DashboardChart,
    ReporterMark,
)
from workbench.models.content import (
    Call,
    CallParticipant,
    Conversation,
    Message,
    Recording,
    RecordingSegment,
)
from workbench.models.enforcement import (
    Action,
    Appeal,
    EnforcementDelivery,
    StatementOfReasons,
    Strike,
)
from workbench.models.images import BankEntry, ExchangeCheckpoint, HashBank, Image, ImageMatch
from workbench.models.intake import OutboxBatch, SeenSignature
from workbench.models.legal import (
    ErasureRequest,
    EvidenceCustodyEvent,
    EvidenceExport,
    LegalHold,
    LegalRequest,
)
from workbench.models.people import Account, AccountDevice, Person
from workbench.models.platform import Platform
from workbench.models.reports import Case, CaseNote, ClassifierScore, FraudSignal, Report
from workbench.models.routing import RoutingRule
from workbench.models.staff import Moderator, SignInThrottle

__all__ = [
    "Account",
    "AccountDevice",
    "Action",
    "Appeal",
    "AuditEvent",
    "BankEntry",
    "Base",
    "BulkOperation",
    "BulkOperationItem",
    "Call",
    "CallParticipant",
    "Case",
    "CaseNote",
    "ClassifierScore",
    "Conversation",
    "DailyFigure",
    "DashboardChart",
    "EnforcementDelivery",
    "ErasureRequest",
    "EvidenceCustodyEvent",
    "EvidenceExport",
    "ExchangeCheckpoint",
    "FraudSignal",
    "HashBank",
    "Image",
    "ImageMatch",
    "LegalHold",
    "LegalRequest",
    "Message",
    "Moderator",
    "SignInThrottle",
    "OutboxBatch",
    "Person",
    "Platform",
    "Recording",
    "RecordingSegment",
    "Report",
    "RoutingRule",
    "ReporterMark",
    "SeenSignature",
    "StatementOfReasons",
    "Strike",
    "utcnow",
]
