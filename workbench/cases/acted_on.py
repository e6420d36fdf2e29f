"""The content an action was taken over, for whoever reviews it: the automation queue, appeals.

A person-level action may point at the message (or recording, or call) that triggered
it; a case's action points at its case, whose reports point at the content. Both are
read here in a few queries for a page of actions, never one query per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.transcripts import untrusted
from workbench.models import (
    Account,
    Action,
    Call,
    ClassifierScore,
    Image,
    Message,
    Platform,
    Recording,
    Report,
)

#: At most this many reported items shown per action (the case page has the rest).
MAX_ITEMS = 3


@dataclass
class ActedOnItem:
    """One piece of content: ``kind`` is ``message``, ``recording``, ``call`` or ``image``."""

    kind: str
    id: int
    platform: str
    #: The message text or the recording's transcript, as the platform sent it (escape it).
    text: str | None = None
    author: str | None = None
    at: Any = None
    #: ``label -> score`` from the model that decided, when there is one.
    scores: dict[str, float] = field(default_factory=dict)
    #: A recording's ``transcript_status``: for ``no_transcript_language`` the text is the
    #: English model's guess at other-language speech, never shown as what was said.
    transcript_status: str | None = None

    @property
    def machine_guess(self) -> bool:
        """Whether ``text`` is a machine guess rather than a transcript."""
        return untrusted(self.transcript_status)


@dataclass
class ActedOn:
    """The content behind one action, and the rule's label and score when a model decided."""

    items: list[ActedOnItem] = field(default_factory=list)
    label: str | None = None
    score: float | None = None


def rule_label(rule: str | None) -> str | None:
    """The label a model rule fired on (``"spam_scam>=0.98"`` is ``spam_scam``)."""
    if not rule or ">=" not in rule:
        return None
    return rule.split(">=", 1)[0]


def acted_on(session: Session, actions: list[Action]) -> dict[int, ActedOn]:
    """For each action, the content it was taken over (its own target, else its case's)."""
    refs: dict[int, list[tuple[str, int]]] = {}
    by_case = {a.case_id for a in actions if a.case_id and not _own_target(a)}
    case_refs: dict[int, list[tuple[str, int]]] = {}
    if by_case:
        for case_id, mid, rid, cid in session.execute(
                select(Report.case_id, Report.message_id, Report.recording_id, Report.call_id)
                .where(Report.case_id.in_(by_case))
                .order_by(Report.created_at, Report.id)).all():
            assert case_id is not None  # selected by case_id.in_(by_case)
            ref = ("message", mid) if mid else ("recording", rid) if rid else \
                ("call", cid) if cid else None
            seen = case_refs.setdefault(case_id, [])
            if ref and ref not in seen and len(seen) < MAX_ITEMS:
                seen.append(ref)
    for a in actions:
        refs[a.id] = _own_target(a) or case_refs.get(a.case_id or 0, [])
    items = _load(session, {ref for r in refs.values() for ref in r},
                  {a.model_version for a in actions if a.model_version})
    out: dict[int, ActedOn] = {}
    for a in actions:
        found = [items[ref] for ref in refs[a.id] if ref in items]
        label = rule_label(a.decided_by_rule)
        score = next((i.scores[label] for i in found if label and label in i.scores), None)
        out[a.id] = ActedOn(found, label, score)
    return out


def _own_target(action: Action) -> list[tuple[str, int]]:
    if action.message_id:
        return [("message", action.message_id)]
    if action.recording_id:
        return [("recording", action.recording_id)]
    if action.call_id:
        return [("call", action.call_id)]
    if action.image_id:
        return [("image", action.image_id)]
    return []


def _load(session: Session, refs: set[tuple[str, int]],
          versions: set[str]) -> dict[tuple[str, int], ActedOnItem]:
    slugs = dict(session.execute(select(Platform.id, Platform.slug)).all())
    ids = {kind: [i for k, i in refs if k == kind]
           for kind in ("message", "recording", "call", "image")}
    out: dict[tuple[str, int], ActedOnItem] = {}
    if ids["message"]:
        for m, username in session.execute(
                select(Message, Account.username)
                .outerjoin(Account, Account.id == Message.sender_account_id)
                .where(Message.id.in_(ids["message"]))).all():
            out[("message", m.id)] = ActedOnItem("message", m.id, slugs.get(m.platform_id, "?"),
                                                 m.text, username, m.sent_at)
    if ids["recording"]:
        for r, username in session.execute(
                select(Recording, Account.username)
                .outerjoin(Account, Account.id == Recording.owner_account_id)
                .where(Recording.id.in_(ids["recording"]))).all():
            out[("recording", r.id)] = ActedOnItem(
                "recording", r.id, slugs.get(r.platform_id, "?"), r.transcript, username,
                r.recorded_at, transcript_status=r.transcript_status)
    if ids["call"]:
        for c in session.scalars(select(Call).where(Call.id.in_(ids["call"]))):
            out[("call", c.id)] = ActedOnItem("call", c.id, slugs.get(c.platform_id, "?"),
                                              None, None, c.started_at)
    if ids["image"]:
        for image, username in session.execute(
                select(Image, Account.username)
                .outerjoin(Account, Account.id == Image.owner_account_id)
                .where(Image.id.in_(ids["image"]))).all():
            # Not shown here: the image itself waits behind the case page's blur.
            out[("image", image.id)] = ActedOnItem(
                "image", image.id, slugs.get(image.platform_id, "?"),
                f"{image.kind} {image.platform_image_id}", username, image.received_at)
    if versions:
        for s in session.scalars(select(ClassifierScore).where(
                ClassifierScore.model_version.in_(versions),
                ClassifierScore.content_type.in_(["message", "recording"]),
                ClassifierScore.content_id.in_(ids["message"] + ids["recording"]))):
            item = out.get((s.content_type, s.content_id))
            if item is not None:
                item.scores = {k: float(v) for k, v in (s.scores or {}).items()
                               if isinstance(v, int | float)}
    return out
