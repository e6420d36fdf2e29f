"""The moderator console: Flask-Admin at ``/admin/`` with the project's own templates."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from jinja2 import FileSystemBytecodeCache

from workbench.console import auth, failures, params, security, text
from workbench.console.admin_views import OwnAccountView, PlatformsView, StaffView
from workbench.console.desk_views import AppealsView, DeliveriesView, StatementView
from workbench.console.queue_settings import QueueSettingsView
from workbench.console.review_views import AutomationReviewView
from workbench.console.search_views import DecidedView, PersonView, SearchView
from workbench.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    """Sign-in, defences, and every console view (each checks its own permission)."""
    # Heavy: imported on first use, not when the module loads.
    from workbench.console.depth_views import (
        AuditView,
        BulkView,
        DashboardView,
        OperationsView,
        ReportersView,
        WellnessView,
    )

    # Heavy: imported on first use, not when the module loads.
    from workbench.console.legal_views import LegalView, TransparencyView

    # Heavy: imported on first use, not when the module loads.
    from workbench.console.triage_views import CaseView, HomeView, QueueView

    # Templates compiled once are kept on disk, so a new web process loads each page's
    # compiled template instead of parsing it again on its first request (about a second
    # for the queue's templates on a busy host: the first page after signing in).
    compiled = settings.instance_dir / "compiled-templates"
    compiled.mkdir(parents=True, exist_ok=True)
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(compiled))
    params.init_app(app)
    security.init_app(app, settings)
    auth.init_app(app, settings)
    text.register(app)
    failures.init_app(app)
    # The platform API is signed per request; CSRF tokens are for browser forms.
    for name in ("api", "openapi"):
        if name in app.blueprints:
            security.csrf.exempt(app.blueprints[name])
    security.csrf.exempt("workbench.web.demo_webhook")

    admin = Admin(
        app,
        name="HARMONI Workbench",
        index_view=HomeView(name="Home", url="/admin", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="console/base.html", fluid=True),
    )
    admin.add_view(QueueView(name="Queue", endpoint="queue", url="/admin/queue"))
    admin.add_view(CaseView(name="Case", endpoint="case", url="/admin/case"))
    admin.add_view(AppealsView(name="Appeals", endpoint="appeals", url="/admin/appeals"))
    admin.add_view(QueueSettingsView(name="Queues", endpoint="queue_settings",
                                     url="/admin/queue-settings"))
    admin.add_view(DeliveriesView(name="Deliveries", endpoint="deliveries",
                                  url="/admin/deliveries"))
    admin.add_view(StatementView(name="Statement", endpoint="statement",
                                 url="/admin/statements"))
    admin.add_view(BulkView(name="Bulk", endpoint="bulk", url="/admin/bulk"))
    admin.add_view(ReportersView(name="Reporters", endpoint="reporters",
                                 url="/admin/reporters"))
    admin.add_view(DashboardView(name="Dashboard", endpoint="dashboard",
                                 url="/admin/dashboard"))
    admin.add_view(OperationsView(name="Operations", endpoint="operations",
                                  url="/admin/operations"))
    admin.add_view(AuditView(name="Audit log", endpoint="audit", url="/admin/audit"))
    admin.add_view(WellnessView(name="Wellness", endpoint="wellness", url="/admin/wellness"))
    admin.add_view(LegalView(name="Legal", endpoint="legal", url="/admin/legal"))
    admin.add_view(TransparencyView(name="Transparency", endpoint="transparency",
                                    url="/admin/transparency"))
    admin.add_view(StaffView(name="Users", endpoint="staff", url="/admin/staff",
                             category="Admin"))
    admin.add_view(PlatformsView(name="Platforms", endpoint="platforms",
                                 url="/admin/platforms", category="Admin"))
    admin.add_view(DecidedView(name="Decided", endpoint="decided", url="/admin/decided"))
    admin.add_view(SearchView(name="Search", endpoint="search", url="/admin/search"))
    admin.add_view(PersonView(name="Person", endpoint="person", url="/admin/person"))
    admin.add_view(AutomationReviewView(name="Automation", endpoint="automation",
                                        url="/admin/automation"))
    admin.add_view(OwnAccountView(name="My account", endpoint="account",
                                  url="/admin/account"))
    app.extensions["workbench.console"] = admin
