"""The ledger: what the workbench promised, checked against what it stored and delivered.

- every item answered 202 is stored exactly once, and nothing from a refused batch is;
- every report is in a case;
- every action reached every platform holding an account of the person (the person as
  the platforms know them: accounts sharing a phone hash), every decided case's outcome
  reached every reporting platform, and each delivery took effect once, in sequence order;
- the audit chain verifies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench.soak_harness.client import Accepted
from tests.support.platform_server import PlatformServer
from workbench.enums import ActionType, DeliveryEvent, DeliveryState, ReportSource
from workbench.models import (
    Account,
    Action,
    Appeal,
    Case,
    EnforcementDelivery,
    FraudSignal,
    Message,
    Platform,
    Recording,
    Report,
)
from workbench.models.audit import verify_chain

#: The column holding the platform's own id of each kind of item, and its platform column.
ITEM_COLUMNS: dict[str, tuple[Any, Any]] = {
    "message": (Message.platform_message_id, Message.platform_id),
    "report": (Report.platform_report_id, Report.platform_id),
    "signal": (FraudSignal.platform_signal_id, FraudSignal.platform_id),
    "recording": (Recording.platform_recording_id, Recording.platform_id),
    "account": (Account.platform_user_id, Account.platform_id),
    "appeal": (Appeal.platform_appeal_id, Appeal.platform_id),
}
#: Ids the bad-input bursts use: none of them may ever be stored.
REFUSED_IDS = {"message": ["bad-1"] + [f"b{i}" for i in range(1001)], "report": ["bad-r"],
               "signal": ["bad-s"], "account": ["bad-a"], "appeal": ["bad-ap"],
               "recording": ["bad-rec", "bad-big"]}
#: Restrictions that follow a person to an account opened later (ban evasion).
FOLLOWS = {ActionType.BAN.value, ActionType.SUSPEND.value}
CONTENT_ACTIONS = {ActionType.REMOVE_CONTENT.value, ActionType.END_CALL.value,
                   ActionType.RESTORE_CONTENT.value}


@dataclass
class Ledger:
    """Counts that must all be 0, with examples of each problem found."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    facts: dict[str, Any] = field(default_factory=dict)

    def problem(self, name: str, example: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if len(self.examples[name]) < 5:
            self.examples[name].append(example)

    def zero(self, *names: str) -> None:
        for name in names:
            self.counts.setdefault(name, 0)


def _chunks(values: list[str], n: int = 1000) -> list[list[str]]:
    return [values[i:i + n] for i in range(0, len(values), n)]


def check_items(session: Session, ledger: Ledger, accepted: list[Accepted],
                platform_ids: dict[str, int]) -> None:
    """Each item of a 202 stored exactly once; nothing of a refused batch stored."""
    ledger.zero("lost", "duplicates", "refused_but_stored")
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in accepted:
        for kind, slug, item_id in a.request.items:
            wanted[(kind, slug)].add(item_id)
    total = 0
    for (kind, slug), ids in sorted(wanted.items()):
        column, platform_column = ITEM_COLUMNS[kind]
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(ids)):
            found.update(session.execute(
                select(column, func.count()).where(platform_column == platform_ids[slug],
                                                   column.in_(chunk)).group_by(column)).all())
        total += len(ids)
        for item_id in sorted(ids - set(found)):
            ledger.problem("lost", f"{kind} {slug}/{item_id} answered 202, not stored")
        for item_id, n in found.items():
            if n > 1:
                ledger.problem("duplicates", f"{kind} {slug}/{item_id} stored {n} times")
    ledger.facts["items_answered_202"] = total
    for kind, refused in REFUSED_IDS.items():
        column, _ = ITEM_COLUMNS[kind]
        for item_id in session.scalars(select(column).where(column.in_(refused))):
            ledger.problem("refused_but_stored", f"{kind} {item_id} from a refused request")


def check_reports(session: Session, ledger: Ledger) -> None:
    ledger.zero("uncased")
    for rid, pid in session.execute(select(Report.id, Report.platform_report_id)
                                    .where(Report.case_id.is_(None))):
        ledger.problem("uncased", f"report {rid} ({pid}) is in no case")
    ledger.facts["reports"] = session.scalar(select(func.count()).select_from(Report))
    ledger.facts["cases"] = session.scalar(select(func.count()).select_from(Case))


def _people(session: Session) -> tuple[dict[int, set[str]],
                                       dict[str, list[tuple[int, datetime]]]]:
    """Phone hashes of each (database) person, and each phone's accounts with their time."""
    phones_of: dict[int, set[str]] = defaultdict(set)
    accounts_of: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for person_id, phone, platform_id, created in session.execute(
            select(Account.person_id, Account.phone_hash, Account.platform_id,
                   Account.created_at)):
        if phone:
            phones_of[person_id].add(phone)
            accounts_of[phone].append((platform_id, created))
    return phones_of, accounts_of


def check_action_reach(session: Session, ledger: Ledger) -> None:
    """Every action has a delivery to every platform holding an account of its person."""
    ledger.zero("undelivered")
    phones_of, accounts_of = _people(session)
    reached: dict[int, set[int]] = defaultdict(set)
    for action_id, platform_id in session.execute(
            select(EnforcementDelivery.action_id, EnforcementDelivery.platform_id)
            .where(EnforcementDelivery.event == DeliveryEvent.ACTION.value)):
        if action_id is not None:
            reached[action_id].add(platform_id)
    actions = session.execute(select(Action.id, Action.type, Action.person_id, Action.created_at,
                                     Action.ends_at)).all()
    for action_id, kind, person_id, created, ends in actions:
        if kind in CONTENT_ACTIONS:
            continue
        expected = set()
        for phone in phones_of.get(person_id, set()):
            for platform_id, opened in accounts_of[phone]:
                follows = kind in FOLLOWS and (ends is None or ends > opened)
                if opened <= created or follows:
                    expected.add(platform_id)
        for platform_id in sorted(expected - reached[action_id]):
            ledger.problem("undelivered", f"action {action_id} ({kind}) has no delivery to "
                                          f"platform {platform_id}")
    ledger.facts["actions"] = len(actions)


def check_outcomes(session: Session, ledger: Ledger) -> None:
    """Every decided case told each platform whose users reported it."""
    told = {(case_id, platform_id) for case_id, platform_id in session.execute(
        select(EnforcementDelivery.case_id, EnforcementDelivery.platform_id)
        .where(EnforcementDelivery.event == DeliveryEvent.OUTCOME.value))}
    rows = session.execute(
        select(Case.id, Report.platform_id).join(Report, Report.case_id == Case.id)
        .where(Case.decided_at.is_not(None), Case.decision != "merged",
               Report.source == ReportSource.USER.value).distinct()).all()
    for case_id, platform_id in rows:
        if (case_id, platform_id) not in told:
            ledger.problem("undelivered", f"case {case_id}: no outcome to platform {platform_id}")


def check_deliveries(session: Session, ledger: Ledger,
                     servers: dict[str, PlatformServer], platform_ids: dict[str, int]) -> None:
    """Delivered once in effect (the platform applied its key), in sequence order."""
    ledger.zero("out_of_order", "undelivered", "duplicates")
    rows = session.execute(select(
        EnforcementDelivery.id, EnforcementDelivery.platform_id, EnforcementDelivery.person_id,
        EnforcementDelivery.sequence, EnforcementDelivery.idempotency_key,
        EnforcementDelivery.state)).all()
    by_key = {r.idempotency_key: r for r in rows}
    by_id = {r.id: r for r in rows}
    received = 0
    for slug, server in servers.items():
        with server.lock:
            applied, order = set(server.applied_keys), list(server.received)
            received += sum(server.keys.values())
        for key in applied - set(by_key):
            ledger.problem("duplicates", f"{slug} applied key {key}, which no delivery has")
        first: dict[int, int] = {}
        for i, payload in enumerate(order):
            first.setdefault(int(payload["delivery_id"]), i)
        last_seq: dict[int, tuple[int, int]] = {}
        for delivery_id in sorted(first, key=first.__getitem__):
            r = by_id.get(delivery_id)
            if r is None or r.platform_id != platform_ids[slug]:
                continue
            prev = last_seq.get(r.person_id)
            if prev is not None and r.sequence < prev[1]:
                ledger.problem("out_of_order", f"{slug}: delivery {delivery_id} (sequence "
                               f"{r.sequence}) after delivery {prev[0]} (sequence {prev[1]})")
            last_seq[r.person_id] = (delivery_id, max(r.sequence, prev[1] if prev else 0))
        for r in rows:
            if r.platform_id == platform_ids[slug] and r.state == DeliveryState.DELIVERED.value \
                    and r.idempotency_key not in applied:
                ledger.problem("undelivered", f"delivery {r.id} is marked delivered but "
                                              f"{slug} never applied it")
    for r in rows:
        if r.state != DeliveryState.DELIVERED.value:
            ledger.problem("undelivered", f"delivery {r.id} is {r.state}")
    ledger.facts["deliveries"] = len(rows)
    ledger.facts["webhook_requests_received"] = received


def check_audit(session: Session, ledger: Ledger) -> None:
    result = verify_chain(session)
    ledger.counts["audit_chain_broken"] = 0 if result.ok else 1
    ledger.facts["audit_events_checked"] = result.checked
    if result.problem is not None:
        ledger.examples["audit_chain_broken"].append(result.problem.message)


def build(engine: Engine, accepted: list[Accepted],
          servers: dict[str, PlatformServer]) -> Ledger:
    ledger = Ledger()
    with Session(engine) as session:
        platform_ids = dict(session.execute(select(Platform.slug, Platform.id)).all())
        check_items(session, ledger, accepted, platform_ids)
        check_reports(session, ledger)
        check_action_reach(session, ledger)
        check_outcomes(session, ledger)
        check_deliveries(session, ledger, servers, platform_ids)
        check_audit(session, ledger)
    return ledger
