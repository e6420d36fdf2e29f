"""Seniors set the named queues' routing rules: which cases go where, and who may take them."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import delete, select

from workbench.cases.filing import rescore_cases
from workbench.cases.policy import case_policy
from workbench.console.access import ConsoleView, Permission
from workbench.console.params import parse_int
from workbench.current import settings
from workbench.enums import OPEN_CASE_STATUSES, Category
from workbench.extensions import db
from workbench.models import Case, RoutingRule
from workbench.models.audit import record

QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: The most rules the table takes (and the bound of a row's number and position).
MAX_ROWS = 1000
#: Open cases re-routed per statement when the rules change.
REROUTE_BATCH = 1000


class RuleError(ValueError):
    """A submitted rule is not one the router can follow."""


def _split(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").split(",") if x.strip()]


def parse_rules(form: Any) -> list[dict[str, Any]]:
    """The rules in the submitted table, ordered, checked, ending with a catch-all."""
    rows = []
    known = {c.value for c in Category}
    indexes = {k: parse_int(k.removeprefix("queue-"), low=0, high=MAX_ROWS - 1)
               for k in form if k.startswith("queue-")}
    bad = sorted(k for k, index in indexes.items() if index is None)
    if bad:
        raise RuleError(f"{bad[0][:40]!r} is not a row of the table (rows are numbered "
                        f"0 to {MAX_ROWS - 1})")
    for index in sorted(i for i in indexes.values() if i is not None):
        queue = (form.get(f"queue-{index}") or "").strip().lower()
        if not queue:
            continue  # an empty row: not a rule
        if not QUEUE_NAME.match(queue):
            raise RuleError(f"queue name {queue!r}: lower-case letters, digits, - and _")
        categories = _split(form.get(f"categories-{index}"))
        unknown = sorted(set(categories) - known)
        if unknown:
            raise RuleError(f"unknown categories: {', '.join(unknown)}")
        live = {"yes": True, "no": False}.get(form.get(f"live-{index}", ""))
        raw_position = (form.get(f"position-{index}") or "").strip()
        position = parse_int(raw_position, low=-MAX_ROWS, high=MAX_ROWS)
        if raw_position and position is None:
            raise RuleError(f"position {raw_position[:20]!r}: a whole number from "
                            f"-{MAX_ROWS} to {MAX_ROWS}")
        rows.append((position if position is not None else MAX_ROWS + index,
                     {"queue": queue, "categories": categories or None,
                      "languages": _split(form.get(f"languages-{index}")) or None,
                      "live": live}))
    rules = [rule for _, rule in sorted(rows, key=lambda r: r[0])]
    if not rules or any(rules[-1][k] is not None for k in ("categories", "languages", "live")):
        rules.append({"queue": "general", "categories": None, "languages": None, "live": None})
    return rules


class QueueSettingsView(ConsoleView):
    """The routing rules, first match wins; saving them re-routes the open cases."""

    permission = Permission.QUEUE_SETTINGS

    @expose("/")
    def index(self) -> Any:
        policy = case_policy(settings(), db.session)
        return self.render("console/queue_settings.html", rules=policy.routing_rules,
                           categories=[c.value for c in Category])

    @expose("/", methods=["POST"])
    def save(self) -> Any:
        try:
            rules = parse_rules(request.form)
        except RuleError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        db.session.execute(delete(RoutingRule))
        for position, rule in enumerate(rules):
            db.session.add(RoutingRule(position=position, updated_by_id=current_user.id,
                                       **rule))
        record(db.session, "queues.rules_changed", "routing_rule", None,
               actor_type="moderator", actor_id=str(current_user.id), data={"rules": rules})
        db.session.flush()
        moved = reroute_open_cases()
        db.session.commit()
        flash(f"Routing saved; {moved} open cases re-routed.", "success")
        return redirect(url_for(".index"))


def reroute_open_cases() -> int:
    """Send every open case to the queue the current rules give it."""
    policy = case_policy(settings(), db.session)
    ids = list(db.session.scalars(select(Case.id).where(Case.status.in_(OPEN_CASE_STATUSES))
                                  .order_by(Case.id)))
    for start in range(0, len(ids), REROUTE_BATCH):
        rescore_cases(db.session, ids[start:start + REROUTE_BATCH], policy)
    return len(ids)
