"""Moderator decisions as labelled texts, for retraining the text classifiers."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import Case, Message, Report

#: The classifier label each decided category teaches; unlisted categories teach nothing.
CATEGORY_LABEL = {"harassment": "abusive", "hate": "hate", "violent_threat": "abusive",
                  "sexual_content": "abusive", "extortion": "abusive",
                  "spam_scam": "spam_scam", "fraud": "spam_scam"}


def decision_labels(session: Session) -> pd.DataFrame:
    """``text, label, decided_at`` for every reported message in a decided case.

    A violation labels the message with its category's label; a dismissal labels it
    ``none``. This is how the product learns languages no public dataset covers.
    """
    rows = session.execute(
        select(Message.text, Case.decision, Case.decided_category, Case.decided_at)
        .join(Report, Report.message_id == Message.id)
        .join(Case, Case.id == Report.case_id)
        .where(Case.decision.in_(("violation", "dismissed")))
        .distinct()
    ).all()
    records = []
    for text, decision, category, decided_at in rows:
        label = "none" if decision == "dismissed" else CATEGORY_LABEL.get(category or "")
        if label is not None:
            records.append({"text": text, "label": label, "decided_at": decided_at})
    return pd.DataFrame(records, columns=["text", "label", "decided_at"])
