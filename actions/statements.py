"""Statements of reasons: what a restricted user is told, in the DSA transparency fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workbench.enums import ActionType

#: Policy reasons a decision may cite: the terms' clause, and the law where content is illegal.
POLICY_REASONS: dict[str, dict[str, str]] = {
    "harassment": {"clause": "Community Guidelines 4.1: harassment and bullying",
                   "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE"},
    "hate": {"clause": "Community Guidelines 4.2: hateful conduct",
             "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
             "law": "Bharatiya Nyaya Sanhita 2023 s.196 (promoting enmity between groups)"},
    "sexual_content": {"clause": "Community Guidelines 5.1: sexual content",
                       "category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"},
    "ncii": {"clause": "Community Guidelines 5.2: intimate images shared without consent",
             "category": "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
             "law": "IT Act 2000 s.66E; IT Rules 2021 r.3(2)(b)"},
    "spam_scam": {"clause": "Community Guidelines 6.1: spam and scams",
                  "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"},
    "fraud": {"clause": "Terms of Service 9: payments and coin fraud",
              "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"},
    "impersonation": {"clause": "Community Guidelines 6.2: impersonation",
                      "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"},
    "underage_user": {"clause": "Terms of Service 2: minimum age 18",
                      "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"},
    "violent_threat": {"clause": "Community Guidelines 4.3: threats of violence",
                       "category": "STATEMENT_CATEGORY_VIOLENCE",
                       "law": "Bharatiya Nyaya Sanhita 2023 s.351 (criminal intimidation)"},
    "extortion": {"clause": "Community Guidelines 4.4: extortion and sextortion",
                  "category": "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
                  "law": "Bharatiya Nyaya Sanhita 2023 s.308 (extortion); IT Act 2000 s.66E"},
    "self_harm": {"clause": "Community Guidelines 7: self-harm",
                  "category": "STATEMENT_CATEGORY_SELF_HARM"},
    "child_safety": {"clause": "Community Guidelines 8: child safety",
                     "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                     "law": "POCSO Act 2012; IT Act 2000 s.67B"},
    "other": {"clause": "Terms of Service 8: acceptable use",
              "category": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"},
}

#: Actions that restrict a user and therefore owe them a statement of reasons.
RESTRICTIVE = {ActionType.WARN, ActionType.MUTE, ActionType.RESTRICT_CALLS, ActionType.SUSPEND,
               ActionType.BAN, ActionType.REMOVE_CONTENT, ActionType.END_CALL}

_ACCOUNT = {ActionType.SUSPEND: "DECISION_ACCOUNT_SUSPENDED",
            ActionType.BAN: "DECISION_ACCOUNT_TERMINATED"}
_PROVISION = {ActionType.MUTE: "DECISION_PROVISION_PARTIAL_SUSPENSION",
              ActionType.RESTRICT_CALLS: "DECISION_PROVISION_PARTIAL_SUSPENSION",
              ActionType.END_CALL: "DECISION_PROVISION_PARTIAL_SUSPENSION"}
_VISIBILITY = {ActionType.REMOVE_CONTENT: ["DECISION_VISIBILITY_CONTENT_REMOVED"]}


def statement_of_reasons(
    action_type: ActionType,
    policy_reason: str,
    facts: str,
    *,
    automated_detection: bool,
    automated_decision: bool,
    applied_at: datetime,
    ends_at: datetime | None,
    content_type: str | None,
) -> dict[str, Any]:
    """A statement with the DSA transparency database's field names and no personal data."""
    reason = POLICY_REASONS.get(policy_reason, POLICY_REASONS["other"])
    illegal = "law" in reason
    body: dict[str, Any] = {
        "decision_visibility": _VISIBILITY.get(action_type, []),
        "decision_monetary": None,
        "decision_provision": _PROVISION.get(action_type),
        "decision_account": _ACCOUNT.get(action_type),
        "account_type": "ACCOUNT_TYPE_PRIVATE",
        "decision_ground": ("DECISION_GROUND_ILLEGAL_CONTENT" if illegal
                            else "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
        "illegal_content_legal_ground": reason.get("law"),
        "illegal_content_explanation": facts if illegal else None,
        "incompatible_content_ground": None if illegal else reason["clause"],
        "incompatible_content_explanation": None if illegal else facts,
        "category": reason["category"],
        "decision_facts": facts,
        "content_type": [content_type] if content_type else ["CONTENT_TYPE_OTHER"],
        "territorial_scope": ["IN"],
        "automated_detection": "Yes" if automated_detection else "No",
        "automated_decision": ("AUTOMATED_DECISION_FULLY" if automated_decision
                               else "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "source_type": "SOURCE_ARTICLE_16",
        "application_date": applied_at.date().isoformat(),
        "end_date_account_restriction": (
            ends_at.date().isoformat() if ends_at and action_type in _ACCOUNT else None),
        "end_date_service_restriction": (
            ends_at.date().isoformat() if ends_at and action_type in _PROVISION else None),
        "redress": ["REDRESS_INTERNAL_MECHANISM", "REDRESS_JUDICIAL",
                    "REDRESS_OUT_OF_COURT_SETTLEMENT"],
        "redress_explanation": (
            "You may appeal within 20 days in the app; a different moderator decides. "
            "You may also approach a Grievance Appellate Committee under the IT Rules 2021."),
    }
    return body
