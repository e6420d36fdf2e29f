"""Who may do what in the console: one table, checked on the server for every view.

Hiding a link is a courtesy; these checks are the rule. Each console view names the
permission it needs, and ``tests/workbench/console/test_access.py`` tries every
protected URL with every role.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import BaseView
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workbench.enums import Role
from workbench.models import AuditEvent, LegalRequest, Recording, Report, utcnow
from workbench.models.legal import LegalRequestStatus


class Permission(StrEnum):
    #: One's own settings and password.
    OWN_ACCOUNT = "own_account"
    #: The triage queue, claiming, reading and deciding cases (within the role's authority).
    TRIAGE = "triage"
    #: Reading a case without acting on it (the legal team reads cases for evidence).
    READ_CASES = "read_cases"
    #: Appeals, queue settings, dead-lettered deliveries: the seniors' desk.
    APPEALS = "appeals"
    QUEUE_SETTINGS = "queue_settings"
    #: One decision for many cases, and marking reporters who abuse reporting.
    BULK = "bulk"
    REPORTERS = "reporters"
    DELIVERIES = "deliveries"
    #: Queue depths, failed jobs and their retry.
    OPERATIONS = "operations"
    #: The audit log, read-only.
    AUDIT = "audit"
    #: Charts a lead reads at a glance.
    DASHBOARD = "dashboard"
    #: Evidence bundles, legal holds, legal requests, transparency.
    LEGAL = "legal"
    #: Console users and platforms.
    ADMINISTER = "administer"
    #: The search box and the person page: moderators within the queues they work.
    SEARCH = "search"
    #: Search beyond one's own queues.
    SEARCH_EVERYWHERE = "search_everywhere"
    #: Confirming or overturning what a model's rules did alone.
    REVIEW_AUTOMATION = "review_automation"
    #: Adding an image from a case to a hash bank.
    BANK_IMAGES = "bank_images"


_M, _S, _L, _A = Role.MODERATOR.value, Role.SENIOR.value, Role.LEGAL.value, Role.ADMIN.value

#: The roles holding each permission. Seniors do what moderators do, and more; the legal
#: team and administrators do not triage.
ROLE_PERMISSIONS: dict[Permission, frozenset[str]] = {
    Permission.OWN_ACCOUNT: frozenset({_M, _S, _L, _A}),
    Permission.TRIAGE: frozenset({_M, _S}),
    Permission.READ_CASES: frozenset({_M, _S, _L}),
    Permission.APPEALS: frozenset({_S}),
    Permission.QUEUE_SETTINGS: frozenset({_S}),
    Permission.BULK: frozenset({_S}),
    Permission.REPORTERS: frozenset({_S}),
    Permission.DELIVERIES: frozenset({_S, _A}),
    Permission.OPERATIONS: frozenset({_S, _A}),
    Permission.AUDIT: frozenset({_S, _L, _A}),
    Permission.DASHBOARD: frozenset({_S, _L, _A}),
    Permission.LEGAL: frozenset({_L}),
    Permission.ADMINISTER: frozenset({_A}),
    Permission.SEARCH: frozenset({_M, _S, _L, _A}),
    Permission.SEARCH_EVERYWHERE: frozenset({_S, _L, _A}),
    Permission.REVIEW_AUTOMATION: frozenset({_S}),
    Permission.BANK_IMAGES: frozenset({_S}),
}


def allowed(permission: Permission, role: str | None = None) -> bool:
    """Whether ``role`` (the signed-in user's by default) holds ``permission``."""
    if role is None:
        if not current_user.is_authenticated:
            return False
        role = current_user.role
    return role in ROLE_PERMISSIONS[permission]


def require(permission: Permission) -> None:
    """Stop the request with 403 unless the signed-in user holds ``permission``."""
    if not allowed(permission):
        abort(403)


#: Where each role's console opens, the first its permission allows (else the home page).
DESKS = ((Permission.TRIAGE, "queue.index"), (Permission.LEGAL, "legal.index"),
         (Permission.ADMINISTER, "staff.index"))


def desk_url(role: str) -> str | None:
    """The page ``role`` works on (the queue, the legal desk, the staff list), if any."""
    for permission, endpoint in DESKS:
        if allowed(permission, role) and endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None


class ConsoleView(BaseView):
    """A console page: signed-in users holding ``permission`` only, everything else refused."""

    permission: Permission = Permission.READ_CASES

    def is_accessible(self) -> bool:
        return allowed(self.permission)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


#: Plays of one recording by one user this close together are one listen (the player
#: asks for many ranges while seeking, and may reload the page).
LISTENING_SESSION = timedelta(minutes=30)


def may_hear(session: Session, role: str, recording_id: int) -> bool:
    """Whether ``role`` may hear this recording: never for its id alone.

    Moderators and seniors hear what a case refers to (a report of the recording, or
    of the call it was made of); the legal team hears what an active legal hold or an
    open legal request covers.
    """
    if role in ROLE_PERMISSIONS[Permission.TRIAGE]:
        call_id = select(Recording.call_id).where(Recording.id == recording_id)
        return session.execute(select(Report.id).where(
            Report.case_id.is_not(None),
            or_(Report.recording_id == recording_id,
                and_(Report.call_id.is_not(None), Report.call_id.in_(call_id.scalar_subquery())))
        ).limit(1)).first() is not None
    if role in ROLE_PERMISSIONS[Permission.LEGAL]:
        return _legally_covered(session, recording_id)
    return False


def _legally_covered(session: Session, recording_id: int) -> bool:
    # Heavy: imported on first use, not when the module loads.
    from actions.holds import cover_of, holds_covering

    if holds_covering(session, recording_id=recording_id):
        return True
    rec = session.execute(select(Recording.owner_account_id, Recording.call_id)
                          .where(Recording.id == recording_id)).one()
    requests = session.scalars(select(LegalRequest).where(
        LegalRequest.status == LegalRequestStatus.OPEN.value))
    return any(cover_of(session, r).recording_held(recording_id, rec[0], rec[1])
               for r in requests
               if r.person_id is not None or r.case_id is not None or r.account_id is not None)


def listened_lately(session: Session, moderator_id: int, recording_id: int) -> bool:
    """Whether this user's listen to this recording is already in the audit log."""
    return session.execute(select(AuditEvent.id).where(
        AuditEvent.object_type == "recording", AuditEvent.object_id == str(recording_id),
        AuditEvent.verb == "recording.played", AuditEvent.actor_type == "moderator",
        AuditEvent.actor_id == str(moderator_id),
        AuditEvent.at > utcnow() - LISTENING_SESSION).limit(1)).first() is not None
