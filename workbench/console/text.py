"""Showing text a platform sent: escaped, isolated, its bidi controls made visible.

Usernames, messages, transcripts, descriptions and file names are written by whoever
is being reported. Every piece is escaped here, wrapped in ``<bdi>`` so right-to-left
overrides cannot reorder the page around it, and bidi control characters are shown as
visible marks so a moderator sees what the sender did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import has_request_context
from flask_login import current_user
from markupsafe import Markup, escape

from workbench.models import utcnow

#: Characters that reorder text: embeddings, overrides, isolates and marks.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _visible_controls(text: str) -> Markup:
    """Escape ``text``, replacing each bidi control with a visible, inert mark."""
    out = []
    last = 0
    for m in BIDI_CONTROLS.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup('<span class="ctl" title="hidden control character U+{0:04X}">'
                          '[U+{0:04X}]</span>').format(ord(m.group())))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def untrusted(text: object, css: str = "") -> Markup:
    """Platform text, safe to put anywhere in a page."""
    if text is None or text == "":
        return Markup('<span class="muted">(none)</span>')
    classes = "untrusted" + (f" {css}" if css else "")
    return Markup('<bdi class="{}">{}</bdi>').format(classes, _visible_controls(str(text)))


def _merge(spans: Iterable[Sequence[float]], length: int) -> list[tuple[int, int, float]]:
    cleaned = sorted((max(0, int(s[0])), min(length, int(s[1])), float(s[2]) if len(s) > 2
                      else 1.0) for s in spans if len(s) >= 2 and int(s[1]) > int(s[0]))
    merged: list[tuple[int, int, float]] = []
    for start, end, weight in cleaned:
        if merged and start <= merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), max(prev[2], weight))
        else:
            merged.append((start, end, weight))
    return merged


def highlight(text: str | None, spans: Iterable[Sequence[float]] | None,
              label: str = "") -> Markup:
    """Platform text with the given character spans marked (classifier explanations)."""
    if not text:
        return untrusted(text)
    pieces = []
    last = 0
    for start, end, weight in _merge(spans or [], len(text)):
        pieces.append(_visible_controls(text[last:start]))
        pieces.append(Markup('<mark class="why" title="{} weight {:.2f}">{}</mark>').format(
            label, weight, _visible_controls(text[start:end])))
        last = end
    pieces.append(_visible_controls(text[last:]))
    return Markup('<bdi class="untrusted">{}</bdi>').format(Markup("").join(pieces))


def highlight_terms(text: str | None, terms: Iterable[str]) -> Markup:
    """Platform text with whole-word occurrences of ``terms`` marked (spotted keywords)."""
    words = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
    if not text or not words:
        return untrusted(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b",
                         re.IGNORECASE)
    return highlight(text, [(m.start(), m.end(), 1.0) for m in pattern.finditer(text)],
                     "spotted word")


def time_left(due_at: datetime | None, now: datetime | None = None) -> str:
    """'2h 14m left' or 'overdue 35m', the way a moderator reads a deadline."""
    if due_at is None:
        return ""
    seconds = int((due_at - (now or utcnow())).total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    else:
        text = f"{minutes}m"
    return f"{text} left" if seconds >= 0 else f"overdue {text}"


#: Where the team works: times are shown here unless a moderator chose another zone.
DEFAULT_TIME_ZONE = "Asia/Kolkata"
#: The key under ``Moderator.settings`` that holds the moderator's chosen zone.
TIME_ZONE_KEY = "time_zone"
#: ISO-style shapes for ``local_time``; no month-first dates anywhere.
TIME_STYLES = {
    "datetime": "%Y-%m-%d %H:%M",
    "date": "%Y-%m-%d",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "time": "%H:%M",
    "clock": "%H:%M:%S",
}


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (the account page's choice)."""
    return tuple(sorted(available_timezones()))


def zone_for(settings: dict[str, Any] | None) -> ZoneInfo:
    """The zone a moderator chose (in their ``settings``), else the team's default."""
    name = (settings or {}).get(TIME_ZONE_KEY) or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def viewer_zone() -> ZoneInfo:
    """The signed-in moderator's zone; the default when nobody is signed in."""

    if has_request_context() and current_user.is_authenticated:
        return zone_for(getattr(current_user, "settings", None))
    return ZoneInfo(DEFAULT_TIME_ZONE)


def local_time(value: datetime | None, style: str = "datetime",
               zone: ZoneInfo | None = None) -> str:
    """A stored (UTC) time as the moderator reads it: ``2026-12-05 14:30`` in their zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        # Every column is stored in UTC; a naive value can only have come from there.
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone or viewer_zone()).strftime(TIME_STYLES[style])


def zone_label(zone: ZoneInfo | None = None) -> str:
    """The zone's short name now (``IST``), for a note beside the times."""
    zone = zone or viewer_zone()
    return datetime.now(zone).strftime("%Z") or str(zone)


def register(app: object) -> None:
    """Make the filters available to every template."""
    env = app.jinja_env  # type: ignore[attr-defined]
    env.filters["untrusted"] = untrusted
    env.filters["highlight"] = highlight
    env.filters["highlight_terms"] = highlight_terms
    env.filters["time_left"] = time_left
    env.filters["local_time"] = local_time
    env.globals["viewer_zone"] = viewer_zone
    env.globals["zone_label"] = zone_label
    env.globals["utcnow"] = utcnow
