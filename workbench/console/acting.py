"""The decisions a moderator can take from a case, their keys, and how each is carried out.

One table drives the buttons, the keyboard shortcuts, the help overlay and the server,
so what is offered and what is enforced cannot drift apart. Authority is checked on
the server by ``actions.enforcement.check_authority`` whatever the page offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from actions.decisions import CaseDecision, Decision, decide_case
from actions.enforcement import ActionRequest, apply_action, check_authority
from actions.ladder import check_stacking
from actions.statements import POLICY_REASONS
from workbench.enums import ActionType, Category, Role
from workbench.models import Case
from workbench.rules.strikes import StrikePolicy
from workbench.rules.welfare import WELFARE_REASON, WelfareError, WelfarePolicy
from workbench.settings import Settings


@dataclass(frozen=True)
class Verdict:
    """One decision on the case page."""

    key: str
    label: str
    shortcut: str
    action: ActionType | None = None
    days: float | None = None
    #: False for interventions that leave the case open (removing one message, ending a call).
    closes_case: bool = True
    senior_only: bool = False
    #: ``message``, ``recording`` or ``call``: the content it targets (a person otherwise).
    target: str | None = None


VERDICTS: tuple[Verdict, ...] = (
    Verdict("welfare_check", "Send safety resources", "s", ActionType.WELFARE_CHECK),
    Verdict("dismiss", "Dismiss: no violation", "d"),
    Verdict("warn", "Warn", "w", ActionType.WARN),
    Verdict("mute", "Mute chat 24 h", "m", ActionType.MUTE, 1),
    Verdict("restrict_calls", "Restrict calls 7 days", "r", ActionType.RESTRICT_CALLS, 7),
    Verdict("suspend_1", "Suspend 1 day", "1", ActionType.SUSPEND, 1),
    Verdict("suspend_7", "Suspend 7 days", "7", ActionType.SUSPEND, 7),
    Verdict("suspend_30", "Suspend 30 days", "3", ActionType.SUSPEND, 30),
    Verdict("ban", "Ban from every platform", "b", ActionType.BAN, senior_only=True),
    Verdict("remove_content", "Remove this content", "", ActionType.REMOVE_CONTENT,
            closes_case=False, target="content"),
    # Cutting a call in progress is for seniors (``actions.enforcement.SENIOR_ACTIONS``).
    Verdict("end_call", "End the call now", "x", ActionType.END_CALL, closes_case=False,
            senior_only=True, target="call"),
)
BY_KEY = {v.key: v for v in VERDICTS}

#: The other keys, for the help overlay (``static/console.js`` handles them).
NAVIGATION_KEYS: tuple[tuple[str, str], ...] = (
    ("n", "Claim the next case"),
    ("p", "Back to the previous case"),
    ("e", "Escalate to a senior, with a reason"),
    ("v", "Show the next blurred image (or the one in focus)"),
    ("Enter", "Confirm the open decision"),
    ("Esc", "Close the open panel"),
    ("?", "Show or hide this help"),
)
_NAV = dict(NAVIGATION_KEYS)
#: The live calls' key, on the queue (the selected row) and on the case page.
END_CALL_KEY = ("x", "End the call of the selected live case (asks once)")
ROW_KEYS = ("j / k", "Select the next or previous row")

Keys = list[tuple[str, str]]


def case_keys(verdicts: list[Verdict], *, can_triage: bool, can_act: bool,
              live_call: bool, images: bool = False) -> Keys:
    """The keys that do something on this case page, for the help overlay.

    ``can_act``: the case is open to this user's decision; ``live_call``: the user may end
    a call in progress that the case is about; ``images``: the page draws images.
    """
    keys: Keys = []
    if can_act:
        keys += [(v.shortcut, v.label) for v in verdicts
                 if v.shortcut and (v.target != "call" or live_call)]
    keys += [(k, _NAV[k]) for k in (("n", "p") if can_triage else ("p",))]
    if images:
        keys.append(("v", _NAV["v"]))
    if can_act:
        keys += [(k, _NAV[k]) for k in ("e", "Enter", "Esc")]
    return keys + [("?", _NAV["?"])]


def queue_keys(*, can_end_calls: bool) -> Keys:
    """The keys that do something on the queue page, for the help overlay."""
    keys: Keys = [("n", _NAV["n"]), ROW_KEYS]
    if can_end_calls:
        keys += [END_CALL_KEY, ("Enter", "Confirm ending the call"),
                 ("Esc", "Close the open panel")]
    return keys + [("?", _NAV["?"])]


def may_end_calls(role: str) -> bool:
    """Whether the role is offered the end-call decision (the server checks again)."""
    return BY_KEY["end_call"] in offered(role)

#: The policy reason offered first for each case category.
DEFAULT_REASON_FOR = {"ban_evasion": "other"}


class VerdictError(ValueError):
    """The form does not describe a decision the server can carry out."""


def policy_reasons(settings: Settings) -> dict[str, dict[str, str]]:
    """The configurable list of policy reasons: the defaults, then the settings' overrides."""
    return {**POLICY_REASONS, **settings.policy_reasons}


def default_reason(category: str | None, reasons: dict[str, Any]) -> str:
    reason = DEFAULT_REASON_FOR.get(category or "", category or "other")
    return reason if reason in reasons else "other"


def welfare_policy(settings: Settings) -> WelfarePolicy:
    """The welfare categories and helplines from the settings (checked at start-up)."""
    return settings.welfare_policy


def decided_category(policy_reason: str, fallback: str | None) -> str | None:
    """The category a decision is recorded under: its policy reason when that names one."""
    return policy_reason if policy_reason in set(Category) else fallback


def offered(role: str) -> list[Verdict]:
    """The verdicts a role is shown (the server checks again on submit)."""
    return [v for v in VERDICTS if not v.senior_only or role == Role.SENIOR.value]


@dataclass
class VerdictForm:
    """The submitted fields of a decision, already parsed."""

    key: str
    policy_reason: str
    note_to_user: str | None = None
    facts: str | None = None
    target_id: int | None = None
    target_kind: str | None = None
    #: On a welfare case, why a punitive action rather than safety resources.
    why_not_welfare: str | None = None
    #: The decision means to stack a lasting action on one of the same kind in force.
    confirm_stack: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def carry_out(session: Session, case_id: int, person_id: int, form: VerdictForm, *,
              moderator_id: int, role: str, reasons: dict[str, Any],
              category: str | None, strikes: StrikePolicy | None = None,
              welfare: WelfarePolicy | None = None) -> CaseDecision:
    """Apply a verdict; the caller commits and then enqueues ``delivery_ids``.

    With ``welfare``, a case reported for a welfare category refuses a punitive verdict
    that does not say why (``form.why_not_welfare``).
    """
    verdict = BY_KEY.get(form.key)
    if verdict is None:
        raise VerdictError(f"unknown decision {form.key!r}")
    if verdict.action is None:
        return decide_case(session, case_id, moderator_id=moderator_id, role=role,
                           decision=Decision.DISMISSED, note=form.facts)
    welfare = welfare or WelfarePolicy.from_config()
    reported = session.get(Case, case_id)
    categories = set((reported.categories or {}) if reported else {}) | {category or ""}
    if verdict.action is ActionType.WELFARE_CHECK:
        if not welfare.applies(categories):
            # Offered only where it applies; it closes a case with no strike, so not elsewhere.
            raise VerdictError("safety resources close only cases reported for "
                               + ", ".join(sorted(welfare.categories)))
        return _welfare_check(session, case_id, person_id, form, moderator_id=moderator_id,
                              role=role, reasons=reasons, welfare=welfare)
    try:
        welfare.check_decision(categories, verdict.action, form.why_not_welfare)
    except WelfareError as exc:
        raise VerdictError(str(exc)) from None
    if form.why_not_welfare:
        form.facts = "; ".join(filter(None, [
            form.facts, f"Punitive rather than safety resources: {form.why_not_welfare}"]))
    if form.policy_reason not in reasons:
        raise VerdictError("choose a policy reason from the list")
    # The decision is recorded under the reason chosen, not the case's worst category.
    category = decided_category(form.policy_reason, category)
    target: dict[str, Any] = {}
    if verdict.target is not None:
        if form.target_kind not in {"message", "recording", "call", "image"} \
                or not form.target_id:
            raise VerdictError(f"{verdict.label.lower()}: say which content")
        target = {f"{form.target_kind}_id": form.target_id}
    request = ActionRequest(
        type=verdict.action, person_id=person_id, policy_reason=form.policy_reason,
        decided_by_id=moderator_id, case_id=case_id,
        duration=timedelta(days=verdict.days) if verdict.days else None,
        category=category, facts=form.facts or f"Case {case_id}: {verdict.label.lower()}",
        note_to_user=form.note_to_user or None, **target)
    check_stacking(session, request, form.confirm_stack)
    if not verdict.closes_case:
        check_authority(role, request)
        action = apply_action(session, request)
        return CaseDecision(case_id=case_id, action_id=action.id,
                            delivery_ids=[d.id for d in action.deliveries])
    return decide_case(session, case_id, moderator_id=moderator_id, role=role,
                       decision=Decision.VIOLATION, category=category, action=request,
                       note=form.facts, strikes=strikes)


def _welfare_check(session: Session, case_id: int, person_id: int, form: VerdictForm, *,
                   moderator_id: int, role: str, reasons: dict[str, Any],
                   welfare: WelfarePolicy) -> CaseDecision:
    """Send the helplines to every platform the person is on; the case closes, no strike."""
    reason = form.policy_reason if form.policy_reason in reasons else WELFARE_REASON
    request = ActionRequest(
        type=ActionType.WELFARE_CHECK, person_id=person_id, policy_reason=reason,
        decided_by_id=moderator_id, case_id=case_id, category=WELFARE_REASON,
        facts=form.facts or f"Case {case_id}: safety resources sent",
        note_to_user=form.note_to_user or None, resources=tuple(welfare.resources()))
    return decide_case(session, case_id, moderator_id=moderator_id, role=role,
                       decision=Decision.WELFARE, category=WELFARE_REASON, action=request,
                       note=form.facts)
