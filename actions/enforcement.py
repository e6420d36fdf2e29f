"""Applying a decision to a person: the action, its statement, and a delivery per platform.

One code path for the console, the CLI, automation rules and expiry. The caller
commits, then enqueues the deliveries (``queues.enforce.enqueue_deliveries``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from actions.content_bans import ban_image
from actions.identity import merged_people
from actions.statements import RESTRICTIVE, statement_of_reasons
from workbench.enums import (
    AccountStatus,
    ActionStatus,
    ActionType,
    ContentStatus,
    DeliveryEvent,
    DeliveryState,
    ReviewState,
    Role,
)
from workbench.models import (
    Account,
    Action,
    Call,
    CallParticipant,
    EnforcementDelivery,
    Image,
    Message,
    Person,
    Platform,
    Recording,
    StatementOfReasons,
    utcnow,
)
from workbench.models.audit import Entry, record_many
from workbench.upserts import one_of, update_by_id

#: The action that lifts each lasting action.
REVERSAL: dict[ActionType, ActionType] = {
    ActionType.MUTE: ActionType.UNMUTE,
    ActionType.RESTRICT_CALLS: ActionType.UNRESTRICT_CALLS,
    ActionType.SUSPEND: ActionType.UNSUSPEND,
    ActionType.BAN: ActionType.UNBAN,
    ActionType.REMOVE_CONTENT: ActionType.RESTORE_CONTENT,
}
LIFTS: dict[ActionType, ActionType] = {v: k for k, v in REVERSAL.items()}
#: Rules that only carry out a person's decision or the clock: the strike thresholds
#: (``actions.strikes.RULE``) and expiry. Their actions are never put to review.
FOLLOW_UP_RULES = frozenset({"strikes", "expiry"})
#: Actions that need an end time.
TIMED = {ActionType.SUSPEND}
#: Actions that may have an end time (otherwise they last until lifted).
MAY_END = {ActionType.SUSPEND, ActionType.MUTE, ActionType.RESTRICT_CALLS}
#: Actions on one piece of content, delivered only to that content's platform.
CONTENT_ACTIONS = {ActionType.REMOVE_CONTENT, ActionType.RESTORE_CONTENT, ActionType.END_CALL}
#: What each console role may decide. Seniors decide everything a moderator may, and more.
#: Ending a call in progress is a senior's decision (the live lane's escalation path).
MODERATOR_ACTIONS = {ActionType.WARN, ActionType.MUTE, ActionType.UNMUTE,
                     ActionType.RESTRICT_CALLS, ActionType.UNRESTRICT_CALLS, ActionType.SUSPEND,
                     ActionType.REMOVE_CONTENT, ActionType.WELFARE_CHECK}
SENIOR_ACTIONS = set(ActionType)
#: The longest suspension a moderator may give; longer ones are for seniors.
MODERATOR_MAX_SUSPENSION = timedelta(days=30)
#: The standing each lasting action gives the person's accounts, most severe first.
STATUS_FOR: tuple[tuple[ActionType, AccountStatus], ...] = (
    (ActionType.BAN, AccountStatus.BANNED),
    (ActionType.SUSPEND, AccountStatus.SUSPENDED),
    (ActionType.RESTRICT_CALLS, AccountStatus.RESTRICTED),
    (ActionType.MUTE, AccountStatus.MUTED),
)


class ActionError(ValueError):
    """The action cannot be applied as asked (a caller's mistake)."""


class AuthorityError(PermissionError):
    """The person deciding may not take this action."""


@dataclass(frozen=True)
class ActionRequest:
    """A decision to apply. Exactly one of ``decided_by_id`` and ``decided_by_rule``."""

    type: ActionType
    person_id: int
    policy_reason: str
    decided_by_id: int | None = None
    decided_by_rule: str | None = None
    model_version: str | None = None
    automated: bool = False
    case_id: int | None = None
    duration: timedelta | None = None
    message_id: int | None = None
    recording_id: int | None = None
    call_id: int | None = None
    image_id: int | None = None
    category: str | None = None
    facts: str | None = None
    note_to_user: str | None = None
    reverses_action_id: int | None = None
    #: Safety resources (helplines) a welfare check carries to the platforms.
    resources: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Reach:
    """Who an action would reach: each account as (platform slug, platform user id)."""

    accounts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def platforms(self) -> list[str]:
        return sorted({slug for slug, _ in self.accounts})

    def describe(self) -> str:
        a, p = len(self.accounts), len(self.platforms)
        return f"{a} account{'s' * (a != 1)} on {p} platform{'s' * (p != 1)}"


def check_authority(role: str, request: ActionRequest) -> None:
    """Refuse what the role may not decide (checked on the server for every path)."""
    allowed = {Role.MODERATOR.value: MODERATOR_ACTIONS,
               Role.SENIOR.value: SENIOR_ACTIONS}.get(role, set())
    if request.type not in allowed:
        raise AuthorityError(f"a {role} may not {request.type.value.replace('_', ' ')}")
    if (role == Role.MODERATOR.value and request.type is ActionType.SUSPEND
            and (request.duration is None or request.duration > MODERATOR_MAX_SUSPENSION)):
        raise AuthorityError("suspensions over 30 days are for seniors")


def reach(session: Session, person_id: int, content_platform_id: int | None = None) -> Reach:
    """The accounts an action on this person would reach (one platform for content)."""
    query = (select(Platform.slug, Account.platform_user_id)
             .join(Platform, Platform.id == Account.platform_id)
             .where(Account.person_id == person_id)
             .order_by(Platform.slug, Account.platform_user_id))
    if content_platform_id is not None:
        query = query.where(Account.platform_id == content_platform_id)
    return Reach([(slug, uid) for slug, uid in session.execute(query).all()])


def _content_platform(session: Session, request: ActionRequest) -> int | None:
    if request.type not in CONTENT_ACTIONS:
        return None
    if request.message_id:
        return session.get_one(Message, request.message_id).platform_id
    if request.recording_id:
        return session.get_one(Recording, request.recording_id).platform_id
    if request.call_id:
        return session.get_one(Call, request.call_id).platform_id
    if request.image_id:
        return session.get_one(Image, request.image_id).platform_id
    raise ActionError(f"{request.type.value} needs a message, recording, call or image")


def check_target(session: Session, request: ActionRequest) -> None:
    """Refuse content that is not the person's own, whatever the form said.

    A decision acts on the person it is about: their messages, their recordings and
    calls they took part in and their images, through any account of theirs (people merged with them
    included). Raises ``ActionError`` for content that does not exist and
    ``AuthorityError`` for content of someone else.
    """

    wanted = [(kind, content_id) for kind, content_id in (
        ("message", request.message_id), ("recording", request.recording_id),
        ("call", request.call_id), ("image", request.image_id)) if content_id is not None]
    if not wanted:
        return
    accounts = select(Account.id).where(
        Account.person_id.in_(merged_people(session, request.person_id)))
    for kind, content_id in wanted:
        exists: Any
        if kind == "message":
            exists = select(Message.sender_account_id).where(Message.id == content_id)
            theirs = exists.where(Message.sender_account_id.in_(accounts))
        elif kind == "recording":
            exists = select(Recording.owner_account_id).where(Recording.id == content_id)
            theirs = exists.where(Recording.owner_account_id.in_(accounts))
        elif kind == "image":
            exists = select(Image.owner_account_id).where(Image.id == content_id)
            theirs = exists.where(Image.owner_account_id.in_(accounts))
        else:
            exists = select(Call.id).where(Call.id == content_id)
            theirs = select(CallParticipant.call_id).where(
                CallParticipant.call_id == content_id, CallParticipant.account_id.in_(accounts))
        if session.execute(exists.limit(1)).first() is None:
            raise ActionError(f"no {kind} {content_id}")
        if session.execute(theirs.limit(1)).first() is None:
            raise AuthorityError(f"{kind} {content_id} is not this person's: a decision "
                                 f"acts only on the content of the person it is about")


def validate_request(request: ActionRequest) -> None:
    """Refuse a request that is malformed whoever decided it (``ActionError``)."""
    if (request.decided_by_id is None) == (request.decided_by_rule is None):
        raise ActionError("say who decided: a moderator or a rule, not both")
    if not request.policy_reason:
        raise ActionError("a policy reason is required")
    if request.type in TIMED and not request.duration:
        raise ActionError(f"{request.type.value} needs a duration")
    if request.duration is not None and request.type not in MAY_END:
        raise ActionError(f"{request.type.value} takes no duration")
    if request.duration is not None and request.duration <= timedelta(0):
        raise ActionError("duration must be positive")


def apply_action(session: Session, request: ActionRequest) -> Action:
    """Record the action, its statement of reasons and one delivery per platform reached."""
    validate_request(request)
    # Lock the person: sequences per platform must be handed out one action at a time.
    # NO KEY UPDATE is enough for that, and does not wait on (nor deadlock with) the
    # foreign-key checks of rows inserted for the person meanwhile (cases, accounts).
    person = session.execute(
        select(Person).where(Person.id == request.person_id).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if person is None:
        raise ActionError(f"no person {request.person_id}")
    check_target(session, request)
    now = utcnow()
    action = new_action(request, _content_platform(session, request), now)
    session.add(action)
    session.flush()
    statement = statement_for(request, action, now)
    if statement is not None:
        session.add(statement)
    _apply_to_content(session, request, now)
    # A new action's deliveries are all of them: its collection is known without a read.
    set_committed_value(action, "deliveries", create_deliveries(
        session, action, resources=list(request.resources) or None))
    refresh_account_status(session, person.id)
    record_many(session, [action_event(request, action)])
    return action


def new_action(request: ActionRequest, platform_id: int | None, now: datetime) -> Action:
    """The ``Action`` row a request records (not yet added to the session)."""
    return Action(
        type=request.type.value, person_id=request.person_id, case_id=request.case_id,
        platform_id=platform_id, message_id=request.message_id,
        recording_id=request.recording_id, call_id=request.call_id, image_id=request.image_id,
        ends_at=now + request.duration if request.duration else None,
        policy_reason=request.policy_reason, category=request.category, facts=request.facts,
        note_to_user=request.note_to_user, decided_by_id=request.decided_by_id,
        decided_by_rule=request.decided_by_rule, model_version=request.model_version,
        automated=request.automated, status=ActionStatus.ACTIVE.value,
        reverses_action_id=request.reverses_action_id, created_at=now,
        review_state=ReviewState.PENDING.value if awaits_review(request) else None,
    )


def statement_for(request: ActionRequest, action: Action,
                  now: datetime) -> StatementOfReasons | None:
    """The statement of reasons a restrictive action carries (``None`` for the rest)."""
    if request.type not in RESTRICTIVE:
        return None
    return StatementOfReasons(action_id=action.id, body=statement_of_reasons(
        request.type, request.policy_reason, request.facts or request.policy_reason,
        automated_detection=request.decided_by_rule is not None or request.automated,
        automated_decision=request.automated, applied_at=now, ends_at=action.ends_at,
        content_type=_content_type(request)))


def action_event(request: ActionRequest, action: Action) -> Entry:
    """The audit event of an applied action."""
    return Entry(f"action.{request.type.value}", "action", action.id,
                 actor_type="moderator" if request.decided_by_id else "rule",
                 actor_id=str(request.decided_by_id or request.decided_by_rule),
                 data={"person_id": action.person_id, "case_id": request.case_id,
                       "reason": request.policy_reason, "automated": request.automated,
                       "ends_at": action.ends_at.isoformat() if action.ends_at else None})


def awaits_review(request: ActionRequest) -> bool:
    """Whether a senior must review this action: a rule applied it alone (a model's
    automation rule, a hash bank's rule), not a person.

    The strike thresholds and expiry are rules too, but they follow a person's decision
    (or the clock), so there is no judgement of their own in them to check.
    """
    return (request.automated and request.decided_by_rule not in FOLLOW_UP_RULES
            and request.type not in LIFTS)


def _content_type(request: ActionRequest) -> str | None:
    if request.message_id:
        return "CONTENT_TYPE_TEXT"
    if request.recording_id or request.call_id:
        return "CONTENT_TYPE_AUDIO"
    if request.image_id:
        return "CONTENT_TYPE_IMAGE"
    return None


def _apply_to_content(session: Session, request: ActionRequest, now: datetime) -> None:
    removed = request.type is ActionType.REMOVE_CONTENT
    if request.type not in {ActionType.REMOVE_CONTENT, ActionType.RESTORE_CONTENT}:
        return
    values = {"status": ContentStatus.REMOVED.value if removed else ContentStatus.PROCESSED.value,
              "removed_at": now if removed else None}
    if request.message_id:
        session.execute(update(Message).where(Message.id == request.message_id).values(**values))
    if request.recording_id:
        session.execute(
            update(Recording).where(Recording.id == request.recording_id).values(**values))
    if request.image_id:
        session.execute(update(Image).where(Image.id == request.image_id).values(**values))
        if removed:
            ban_image(session, request.image_id, request.category or request.policy_reason)


def create_deliveries(session: Session, action: Action, only_platform_id: int | None = None,
                      resources: list[dict[str, str]] | None = None,
                      ) -> list[EnforcementDelivery]:
    """A delivery to every platform holding an account of the person, numbered in order.

    In a fixed number of statements however many platforms: the sequences in one read,
    the deliveries in one insert, their bodies (which name each delivery's id) in one
    update.
    """
    target = action.platform_id if only_platform_id is None else only_platform_id
    accounts = accounts_by_platform(session, [action.person_id], target).get(
        action.person_id, {})
    content = content_ref(session, action)
    out = new_deliveries(session, action.person_id, list(accounts), DeliveryEvent.ACTION,
                         action_id=action.id)
    write_payloads(session, [(d, payload_for(action, d, accounts[d.platform_id], content,
                                             resources)) for d in out])
    return out


def accounts_by_platform(session: Session, person_ids: list[int],
                         platform_id: int | None = None) -> dict[int, dict[int, list[str]]]:
    """Each person's platform user ids by platform, both in order (only ``platform_id``'s
    when given)."""
    out: dict[int, dict[int, list[str]]] = {}
    for person_id, platform, user_id in session.execute(
        select(Account.person_id, Account.platform_id, Account.platform_user_id)
        .where(Account.person_id.in_(person_ids),
               *([Account.platform_id == platform_id] if platform_id is not None else []))
        .order_by(Account.person_id, Account.platform_id, Account.platform_user_id)
    ).all():
        out.setdefault(person_id, {}).setdefault(platform, []).append(user_id)
    return out


def payload_for(action: Action, delivery: EnforcementDelivery, user_ids: list[str],
                content: dict[str, str] | None,
                resources: list[dict[str, str]] | None) -> dict[str, Any]:
    """The delivery's webhook body (it names the delivery's id: inserted first)."""
    # Content lives on one platform: only that platform is told which item it is.
    return action_payload(
        action, delivery, user_ids,
        content=content if delivery.platform_id == action.platform_id else None,
        resources=resources)


def write_payloads(session: Session,
                   bodies: list[tuple[EnforcementDelivery, dict[str, Any]]]) -> None:
    """Store inserted deliveries' bodies: one statement for all (on PostgreSQL), and the
    objects hold them as stored (no further write at the next flush)."""
    update_by_id(session, EnforcementDelivery,
                 [{"id": d.id, "payload": body} for d, body in bodies])
    for delivery, body in bodies:
        set_committed_value(delivery, "payload", body)


def content_ref(session: Session, action: Action) -> dict[str, str] | None:
    """The item a content action is about, as its platform knows it (``type`` and ``id``)."""
    if action.type not in {t.value for t in CONTENT_ACTIONS}:
        return None
    if action.message_id is not None:
        return {"type": "message", "id": session.get_one(
            Message, action.message_id).platform_message_id}
    if action.recording_id is not None:
        return {"type": "recording", "id": session.get_one(
            Recording, action.recording_id).platform_recording_id}
    if action.call_id is not None:
        return {"type": "call", "id": session.get_one(Call, action.call_id).platform_call_id}
    if action.image_id is not None:
        return {"type": "image", "id": session.get_one(Image, action.image_id).platform_image_id}
    return None


def new_delivery(session: Session, platform_id: int, person_id: int, event: DeliveryEvent, *,
                 action_id: int | None = None,
                 case_id: int | None = None) -> EnforcementDelivery:
    """A pending delivery, next in its person's sequence on that platform (payload to fill)."""
    (delivery,) = new_deliveries(session, person_id, [platform_id], event,
                                 action_id=action_id, case_id=case_id)
    return delivery


def new_deliveries(session: Session, person_id: int, platform_ids: list[int],
                   event: DeliveryEvent, *, action_id: int | None = None,
                   case_id: int | None = None) -> list[EnforcementDelivery]:
    """A pending delivery to each platform, next in the person's sequence there, inserted
    (so each has its id) with an empty payload for the caller to fill; one read of the
    sequences and one insert for all of them."""
    if not platform_ids:
        return []
    last = last_sequences(session, [person_id], platform_ids)
    out = [pending_delivery(platform_id, person_id, event,
                            last.get((platform_id, person_id), 0) + 1,
                            action_id=action_id, case_id=case_id)
           for platform_id in platform_ids]
    session.add_all(out)
    session.flush()
    return out


def pending_delivery(platform_id: int, person_id: int, event: DeliveryEvent, sequence: int, *,
                     action_id: int | None = None,
                     case_id: int | None = None) -> EnforcementDelivery:
    """A pending delivery with this sequence number (not yet added to the session)."""
    return EnforcementDelivery(
        action_id=action_id, case_id=case_id, platform_id=platform_id, person_id=person_id,
        event=event.value, sequence=sequence, idempotency_key=uuid.uuid4().hex, payload={},
        state=DeliveryState.PENDING.value, attempts=0, next_attempt_at=utcnow())


def last_sequences(session: Session, person_ids: list[int],
                   platform_ids: list[int] | None = None) -> dict[tuple[int, int], int]:
    """The last sequence handed out to each (platform, person) that has one."""
    return {(platform, person): int(n) for platform, person, n in session.execute(
        select(EnforcementDelivery.platform_id, EnforcementDelivery.person_id,
               func.max(EnforcementDelivery.sequence))
        .where(one_of(session, EnforcementDelivery.person_id, person_ids),
               *([one_of(session, EnforcementDelivery.platform_id, platform_ids)]
                 if platform_ids is not None else []))
        .group_by(EnforcementDelivery.platform_id, EnforcementDelivery.person_id)).all()}


def action_payload(action: Action, delivery: EnforcementDelivery, user_ids: list[str],
                   content: dict[str, str] | None = None,
                   resources: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The webhook body for one platform (no details beyond what the platform needs).

    A content action names its item (``content``: type and the platform's own id), so
    the platform knows what to remove, restore or end; a welfare check carries the
    helplines (``resources``) the platform shows the person.
    """
    body: dict[str, Any] = {
        "event": DeliveryEvent.ACTION.value,
        "delivery_id": delivery.id,
        "action_id": action.id,
        "sequence": delivery.sequence,
        "type": action.type,
        "user_ids": user_ids,
        "reason": action.policy_reason,
        "statement_url": f"/statements/{action.id}" if action.type in RESTRICTIVE else None,
    }
    if action.ends_at is not None:
        body["until"] = action.ends_at.isoformat()
    if action.reverses_action_id is not None:
        body["reverses_action_id"] = action.reverses_action_id
    if content is not None:
        body["content"] = content
    if action.image is not None:
        # The platform's own id, so it knows which image to take down.
        body["image_id"] = action.image.platform_image_id
    if resources:
        # A welfare check: the platform shows the person these helplines (and the note).
        body["resources"] = resources
        body["note_to_user"] = action.note_to_user
    return body


def refresh_account_status(session: Session, person_id: int) -> None:
    """Set the person's accounts' status from the lasting actions now in force."""
    refresh_account_statuses(session, [person_id])


def refresh_account_statuses(session: Session, person_ids: list[int]) -> None:
    """Set these people's accounts' status from the lasting actions now in force: one
    read, and one update per status."""
    now = utcnow()
    in_force: dict[int, set[str]] = {p: set() for p in person_ids}
    for person_id, kind in session.execute(
        select(Action.person_id, Action.type).where(
            Action.person_id.in_(person_ids), Action.status == ActionStatus.ACTIVE.value,
            or_(Action.ends_at.is_(None), Action.ends_at > now))).all():
        in_force[person_id].add(kind)
    people: dict[AccountStatus, list[int]] = {}
    for person_id, kinds in in_force.items():
        status = next((s for t, s in STATUS_FOR if t.value in kinds), AccountStatus.ACTIVE)
        people.setdefault(status, []).append(person_id)
    for status, group in people.items():
        session.execute(
            update(Account)
            .where(Account.person_id.in_(group), Account.status != AccountStatus.DELETED.value)
            .values(status=status.value))


def reverse_action(session: Session, action_id: int, *, policy_reason: str,
                   decided_by_id: int | None = None, decided_by_rule: str | None = None,
                   automated: bool = False, facts: str | None = None) -> Action:
    """Lift a lasting action everywhere it went; the original is marked reversed."""
    original = session.get(Action, action_id)
    if original is None:
        raise ActionError(f"no action {action_id}")
    kind = ActionType(original.type)
    if kind not in REVERSAL:
        raise ActionError(f"a {kind.value} cannot be reversed")
    if original.status != ActionStatus.ACTIVE.value:
        raise ActionError(f"action {action_id} is already {original.status}")
    lifting = apply_action(session, ActionRequest(
        type=REVERSAL[kind], person_id=original.person_id, policy_reason=policy_reason,
        decided_by_id=decided_by_id, decided_by_rule=decided_by_rule, automated=automated,
        case_id=original.case_id, message_id=original.message_id,
        recording_id=original.recording_id, facts=facts, reverses_action_id=original.id))
    original.status = ActionStatus.REVERSED.value
    original.reversed_by_action_id = lifting.id
    refresh_account_status(session, original.person_id)
    return lifting


def expire_due(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Lift every timed action whose end has passed (catching up after any downtime).

    Returns the ids of the lifting actions; the expired ones are marked ``expired``.
    """
    now = now or utcnow()
    ended = session.scalars(
        select(Action).where(Action.status == ActionStatus.ACTIVE.value,
                             Action.type.in_([t.value for t in MAY_END]),
                             Action.ends_at.is_not(None), Action.ends_at <= now)
        .order_by(Action.ends_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    lifted = []
    for action in ended:
        lifting = apply_action(session, ActionRequest(
            type=REVERSAL[ActionType(action.type)], person_id=action.person_id,
            policy_reason=action.policy_reason, decided_by_rule="expiry", automated=True,
            case_id=action.case_id, reverses_action_id=action.id,
            facts=f"{action.type} {action.id} ended at {action.ends_at:%Y-%m-%d %H:%M} UTC"))
        action.status = ActionStatus.EXPIRED.value
        action.reversed_by_action_id = lifting.id
        refresh_account_status(session, action.person_id)
        lifted.append(lifting.id)
    return lifted
