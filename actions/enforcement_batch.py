"""Applying many decisions at once: what ``apply_action`` does for each, set-based.

For rules acting on a whole batch (classifier automation): the people are locked in id
order (two batches on the same people wait for each other instead of deadlocking), and
the actions, statements, deliveries and audit events are each written in one multi-row
insert. The rows are those ``apply_action`` writes for the same requests in the same
order: the pieces that build them (``new_action``, ``statement_for``,
``pending_delivery``, ``payload_for``, ``write_payloads``, ``action_event``,
``refresh_account_statuses``) are ``actions.enforcement``'s own. Moderators' decisions
keep going through ``apply_action``, one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from actions.enforcement import (
    CONTENT_ACTIONS,
    ActionError,
    ActionRequest,
    accounts_by_platform,
    action_event,
    apply_action,
    check_target,
    last_sequences,
    new_action,
    payload_for,
    pending_delivery,
    refresh_account_statuses,
    statement_for,
    validate_request,
    write_payloads,
)
from workbench.enums import DeliveryEvent
from workbench.models import (
    Account,
    Action,
    EnforcementDelivery,
    Message,
    Person,
    utcnow,
)
from workbench.models.audit import record_many


@dataclass(frozen=True)
class Applied:
    """An applied action and its deliveries (for the caller to enqueue after commit)."""

    action: Action
    deliveries: list[EnforcementDelivery]


def apply_actions(session: Session, requests: list[ActionRequest]) -> list[Applied]:
    """Apply the requests in order, with the outcome of ``apply_action`` on each in turn.

    Content actions (removing, restoring, ending a call) change the content and name it
    to its platform: a batch holding one goes through ``apply_action`` item by item.

    Raises:
        ActionError, AuthorityError: as ``apply_action`` would for the first bad request.
    """
    if any(r.type in CONTENT_ACTIONS for r in requests):
        return [_one(session, r) for r in requests]
    if not requests:
        return []
    for request in requests:
        validate_request(request)
    people = sorted({r.person_id for r in requests})
    # NO KEY UPDATE, in id order: see apply_action.
    found = set(session.scalars(select(Person.id).where(Person.id.in_(people))
                                .order_by(Person.id).with_for_update(key_share=True)))
    for request in requests:
        if request.person_id not in found:
            raise ActionError(f"no person {request.person_id}")
    _check_targets(session, requests)
    now = utcnow()
    actions = [new_action(r, None, now) for r in requests]
    session.add_all(actions)
    session.flush()
    session.add_all([s for s in (statement_for(r, a, now)
                                 for r, a in zip(requests, actions, strict=True))
                     if s is not None])
    out = _deliveries(session, requests, actions, people)
    refresh_account_statuses(session, people)
    record_many(session, [action_event(r, a) for r, a in zip(requests, actions, strict=True)])
    return out


def _one(session: Session, request: ActionRequest) -> Applied:
    action = apply_action(session, request)
    return Applied(action, list(action.deliveries))


def _check_targets(session: Session, requests: list[ActionRequest]) -> None:
    """``check_target`` for each request; one query for the usual case, a message sent
    by the person's own account (anything else is checked in full)."""
    senders = dict(session.execute(
        select(Message.id, Account.person_id)
        .join(Account, Account.id == Message.sender_account_id)
        .where(Message.id.in_({r.message_id for r in requests if r.message_id is not None}))
    ).all())
    for r in requests:
        only_message = r.recording_id is None and r.call_id is None and r.image_id is None
        if only_message and (r.message_id is None or senders.get(r.message_id) == r.person_id):
            continue
        check_target(session, r)


def _deliveries(session: Session, requests: list[ActionRequest], actions: list[Action],
                people: list[int]) -> list[Applied]:
    """A delivery per platform reached for each action, numbered on from each person's
    last sequence there in the order of the requests; one insert, then the payloads
    (which name the delivery's id)."""
    accounts = accounts_by_platform(session, people)
    last = last_sequences(session, people)
    out: list[Applied] = []
    for action in actions:
        deliveries = []
        for platform_id in accounts.get(action.person_id, {}):
            key = (platform_id, action.person_id)
            last[key] = last.get(key, 0) + 1
            deliveries.append(pending_delivery(platform_id, action.person_id,
                                               DeliveryEvent.ACTION, last[key],
                                               action_id=action.id))
        out.append(Applied(action, deliveries))
    session.add_all([d for applied in out for d in applied.deliveries])
    session.flush()
    write_payloads(session, [
        (delivery, payload_for(applied.action, delivery,
                               accounts[applied.action.person_id][delivery.platform_id],
                               None, list(request.resources) or None))
        for request, applied in zip(requests, out, strict=True)
        for delivery in applied.deliveries])
    for applied in out:
        set_committed_value(applied.action, "deliveries", applied.deliveries)
    return out
