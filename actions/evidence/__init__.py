"""Evidence bundles: what they hold, how they are built and checked, and their custody."""

from actions.evidence.bundle import build_export
from actions.evidence.custody import (
    EvidenceError,
    custody_log,
    record_download,
    request_export,
)
from actions.evidence.scope import EvidenceScope, ScopeError, resolve_scope
from actions.evidence.verify import (
    BundleProblem,
    BundleReport,
    UnpackLimits,
    certificate_path,
    verify_bundle,
)

__all__ = [
    "BundleProblem",
    "BundleReport",
    "EvidenceError",
    "EvidenceScope",
    "ScopeError",
    "UnpackLimits",
    "build_export",
    "certificate_path",
    "custody_log",
    "record_download",
    "request_export",
    "resolve_scope",
    "verify_bundle",
]
