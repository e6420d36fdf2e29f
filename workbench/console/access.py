"""Who may do what in the console: one table, checked on the server for every view.

Hiding a link is a courtesy; these checks are the rule. Each console view names the
permission it needs, and ``tests/workbench/console/test_access.py`` tries every
protected URL with every role.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_login import current_user

from workbench.enums import Role


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
