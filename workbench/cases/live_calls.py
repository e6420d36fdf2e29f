"""Where a reported live call stands: in progress, ending, ended, or the platform not reached.

Nothing new is stored for it. A call is in progress until someone decides to end it; the
``end_call`` action's delivery to the call's platform then says the rest: pending and not
tried yet is "ending", delivered (the platform answered 2xx) is "ended", a failed attempt
or a dead-lettered delivery is "ending, platform not reached yet". A call the platform
itself reported over (``Call.ended_at``) is ended too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.enums import ActionStatus, ActionType, DeliveryState
from workbench.models import Action, Call, EnforcementDelivery, Report


class CallState(StrEnum):
    IN_PROGRESS = "in_progress"
    #: Decided, the delivery to the platform not attempted yet.
    ENDING = "ending"
    #: Decided, but the platform has not been reached: attempts failed, or it gave up.
    NOT_REACHED = "not_reached"
    ENDED = "ended"


#: What the console says for each state (the case page, the queue, the live lane).
STATE_TEXT = {
    CallState.IN_PROGRESS: "in progress",
    CallState.ENDING: "ending",
    CallState.NOT_REACHED: "ending — platform not reached yet",
    CallState.ENDED: "ended",
}


@dataclass(frozen=True)
class LiveCall:
    """One call a case is about, and where it stands."""

    call_id: int
    state: CallState
    #: The failed delivery's last error class or status, when the platform was not reached.
    last_error: str | None = None

    @property
    def text(self) -> str:
        return STATE_TEXT[self.state]

    @property
    def can_end(self) -> bool:
        return self.state is CallState.IN_PROGRESS


def _state(deliveries: list[EnforcementDelivery]) -> tuple[CallState, str | None]:
    if any(d.state == DeliveryState.DELIVERED.value for d in deliveries):
        return CallState.ENDED, None
    failed = [d for d in deliveries
              if d.state == DeliveryState.DEAD.value or d.attempts > 0]
    if failed:
        last = failed[-1]
        error = last.last_error or (f"HTTP {last.last_status_code}"
                                    if last.last_status_code else None)
        return CallState.NOT_REACHED, error
    return CallState.ENDING, None


def call_states(session: Session, call_ids: Iterable[int]) -> dict[int, LiveCall]:
    """Where each call stands, in two queries whatever the number of calls."""
    ids = sorted(set(call_ids))
    if not ids:
        return {}
    ended = dict(session.execute(select(Call.id, Call.ended_at).where(Call.id.in_(ids))).all())
    decided: dict[int, list[EnforcementDelivery]] = {}
    rows = session.execute(
        select(Action.call_id, EnforcementDelivery)
        .outerjoin(EnforcementDelivery, EnforcementDelivery.action_id == Action.id)
        .where(Action.call_id.in_(ids), Action.type == ActionType.END_CALL.value,
               Action.status != ActionStatus.REVERSED.value)
        .order_by(Action.id, EnforcementDelivery.id)).all()
    for call_id, delivery in rows:
        assert call_id is not None  # selected by call_id.in_(ids)
        decided.setdefault(call_id, [])
        if delivery is not None:
            decided[call_id].append(delivery)
    out = {}
    for call_id in ids:
        if call_id not in ended:
            continue
        if ended[call_id] is not None:
            out[call_id] = LiveCall(call_id, CallState.ENDED)
        elif call_id in decided:
            state, error = _state(decided[call_id])
            out[call_id] = LiveCall(call_id, state, error)
        else:
            out[call_id] = LiveCall(call_id, CallState.IN_PROGRESS)
    return out


def lock_call(session: Session, call_id: int) -> None:
    """Hold the call's row until the transaction ends, so that two people deciding at once
    to end it are taken one after the other: the second then sees the first's decision.

    ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has no row locks, but the console's
    claim has already written by then, and SQLite lets one writer in at a time.
    """
    session.execute(select(Call.id).where(Call.id == call_id).with_for_update())


def live_calls_of_cases(session: Session, case_ids: Iterable[int]) -> dict[int, LiveCall]:
    """For each case reported about a call in progress, that call and where it stands."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    pairs = session.execute(
        select(Report.case_id, Report.call_id)
        .where(Report.case_id.in_(ids), Report.call_id.is_not(None), Report.call_in_progress)
        .order_by(Report.case_id, Report.call_id)).all()
    states = call_states(session, {call_id for _case, call_id in pairs if call_id is not None})
    out: dict[int, LiveCall] = {}
    for case_id, call_id in pairs:
        assert case_id is not None and call_id is not None  # both selected as not NULL
        state = states.get(call_id)
        # A case about two calls shows the one still to be dealt with first.
        if state is not None and (case_id not in out
                                  or (state.can_end and not out[case_id].can_end)):
            out[case_id] = state
    return out
