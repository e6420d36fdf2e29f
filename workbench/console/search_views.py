"""Search in the header of every page, and the person page it leads to."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from workbench.cases.policy import case_policy
from workbench.cases.search import decided_cases, may_see_person, person_profile, search
from workbench.cases.triage import eligible_queues
from workbench.console.access import ConsoleView, Permission, allowed
from workbench.console.params import id_field
from workbench.current import settings
from workbench.extensions import db


def searchable_queues() -> list[str] | None:
    """The queues the signed-in user's search is limited to: a moderator's own queues;
    ``None`` (everything) for seniors, the legal team and administrators."""
    if allowed(Permission.SEARCH_EVERYWHERE):
        return None
    return eligible_queues(case_policy(settings(), db.session).routing_rules,
                           current_user.languages)


class SearchView(ConsoleView):
    """``/admin/search/?q=``: people, cases and messages."""

    permission = Permission.SEARCH

    def is_visible(self) -> bool:
        return False  # the box in the header is the way in

    @expose("/")
    def index(self) -> Any:
        query = request.args.get("q", "")
        results = search(db.session, query, queues=searchable_queues()) if query else None
        return self.render("console/search.html", query=query, results=results)


class PersonView(ConsoleView):
    """``/admin/person/<id>``: every account on every platform, and what happened to them."""

    permission = Permission.SEARCH

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("search.index"))

    @expose("/<int:person_id>")
    def view(self, person_id: int) -> Any:
        if person_id >= 2**63:
            abort(404)
        profile = person_profile(db.session, person_id)
        if profile is None or not may_see_person(db.session, person_id, searchable_queues()):
            abort(404)
        return self.render("console/person.html", p=profile,
                           can_read_cases=allowed(Permission.READ_CASES),
                           viewer=current_user)


class DecidedView(ConsoleView):
    """``/admin/decided/``: the cases I decided (seniors: anyone's), by outcome."""

    permission = Permission.TRIAGE

    @expose("/")
    def index(self) -> Any:
        everyone = allowed(Permission.BULK) and request.args.get("who") == "everyone"
        decision = request.args.get("decision") or None
        if decision not in (None, "violation", "dismissed"):
            abort(400, "decision must be violation or dismissed")
        before_id = id_field(request.args.get("before"), "before")
        rows = decided_cases(db.session, decided_by_id=None if everyone else current_user.id,
                             decision=decision, before_id=before_id)
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "before" and v}
        older = url_for(".index", **args, before=rows[-1].case_id) if len(rows) == 50 else None
        return self.render("console/decided.html", rows=rows, everyone=everyone,
                           decision=decision, can_see_everyone=allowed(Permission.BULK),
                           older=older)
