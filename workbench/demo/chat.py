"""The demo's chat: lines the team wrote as templates, filled in with a seeded generator.

The templates (``data/chat_templates.tsv``) are English, Hindi in Devanagari,
Hinglish and mixed, benign and harmful; their slots (coins, amounts, games, rooms,
cities...) come from ``data/chat_slots.json``. See ``data/README.md``.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from workbench.enums import Category

DEMO_DATA = Path(__file__).resolve().parent / "data"
TEMPLATES = DEMO_DATA / "chat_templates.tsv"
SLOTS = DEMO_DATA / "chat_slots.json"

BENIGN = "benign"
#: Harmful kinds of line, and the category a user reports each as.
HARM_CATEGORY: dict[str, Category] = {
    "abuse": Category.HARASSMENT,
    "threat": Category.VIOLENT_THREAT,
    "extortion": Category.EXTORTION,
    "scam": Category.SPAM_SCAM,
    "sexual": Category.SEXUAL_CONTENT,
}
#: How often each harmful kind comes up when a person misbehaves.
HARM_WEIGHTS: dict[str, int] = {"abuse": 6, "scam": 4, "sexual": 2, "threat": 2, "extortion": 2}
#: What people talk about, per setting (1:1 chat, a room, the chat beside a call).
TOPICS: dict[str, dict[str, int]] = {
    "dm": {"greeting": 3, "smalltalk": 5, "flirting": 3, "coins": 2, "game": 2},
    "room": {"room": 4, "greeting": 2, "smalltalk": 3, "game": 1, "coins": 1},
    "call": {"call": 5, "flirting": 2, "smalltalk": 2, "coins": 1},
}
#: How a person writes: the template languages they use, with weights.
STYLES: dict[str, dict[str, int]] = {
    "hinglish": {"hi-Latn": 70, "mixed": 20, "en": 10},
    "hindi": {"hi": 75, "hi-Latn": 15, "mixed": 10},
    "english": {"en": 85, "mixed": 10, "hi-Latn": 5},
    "mixed": {"mixed": 45, "hi-Latn": 30, "en": 20, "hi": 5},
}
#: Share of people writing in each style.
STYLE_SHARE: dict[str, int] = {"hinglish": 40, "english": 20, "hindi": 20, "mixed": 20}
#: The languages a platform sends for a person of each style (first is the main one).
STYLE_LANGUAGES: dict[str, tuple[list[str], ...]] = {
    "hinglish": (["hi", "en"], ["hi"]),
    "hindi": (["hi"], ["hi", "en"]),
    "english": (["en"], ["en", "hi"], ["en", "ta"], ["en", "bn"]),
    "mixed": (["hi", "en"], ["en", "hi"]),
}

FIRST_NAMES = (
    "aarav", "vivaan", "aditya", "arjun", "sai", "reyansh", "ayaan", "krishna", "ishaan",
    "ananya", "diya", "aadhya", "saanvi", "pari", "anika", "navya", "myra", "riya", "kavya",
    "rahul", "priya", "neha", "rohan", "sneha", "amit", "pooja", "vikram", "sunny", "pinky",
    "gurpreet", "harleen", "jaspreet", "simran", "manpreet", "arshdeep", "imran", "ayesha",
    "zoya", "faizan", "sana", "arif", "nazia", "rehan", "karthik", "lakshmi", "divya",
    "suresh", "meena", "arun", "deepa", "vignesh", "sowmya", "anirban", "moumita", "sourav",
    "tanushree", "debjani", "rupam", "pratik", "snehal", "omkar", "rutuja", "tejas", "hetal",
    "jignesh", "krupa", "dhruv", "bhavna", "joseph", "mary", "anil", "shalini", "gaurav",
    "monika", "sandeep", "kiran", "ravi", "nisha", "manoj", "babita", "pappu", "golu",
)
SURNAMES = (
    "sharma", "verma", "gupta", "singh", "yadav", "khan", "iyer", "nair", "reddy", "das",
    "banerjee", "patel", "shah", "joshi", "kulkarni", "pawar", "gill", "sandhu", "ansari",
    "qureshi", "mishra", "tiwari", "pandey", "chauhan", "rajput", "menon", "pillai", "bose",
    "mukherjee", "jain", "agarwal", "thakur", "rao", "naidu", "dsouza", "kaur", "saxena",
)
CITY_TAGS = ("dilli", "lko", "mumbai", "jaipur", "patna", "indore", "pune", "blr", "hyd",
             "kolkata", "bhopal", "knp", "ranchi", "surat", "noida", "amritsar", "chennai")
NICKNAMES = ("desi_munda", "cute_kudi", "rockstar", "dil_se", "shayar", "gamer", "chai_lover",
             "queen", "lone_wolf", "music_lover", "sweetu", "bindaas", "nawab", "pari")

_SLOT = re.compile(r"\{(\w+)\}")
#: How people end a line, per template language (harmful lines get only punctuation).
TAILS: dict[str, tuple[str, ...]] = {
    "en": (" :)", " lol", " haha", "!!", " \U0001F602", " \U0001F64F", "?", " btw"),
    "hi-Latn": (" yaar", " na", " ji", " \U0001F602", " \U0001F648", " bhai", "!!", " hai na"),
    "hi": (" \U0001F64F", " जी", " \U0001F60A", "!!", " ना", " यार"),
    "mixed": (" yaar", " lol", " \U0001F602", " na", "!!", " ji"),
}
HARSH_TAILS = ("!!", "!!!", "...", " samjha?", " \U0001F621")


@dataclass(frozen=True)
class Template:
    kind: str
    language: str  # en, hi, hi-Latn or mixed: what the team wrote it as
    text: str


@dataclass(frozen=True)
class ChatLine:
    text: str
    kind: str  # "benign" or a key of HARM_CATEGORY
    topic: str


@lru_cache(maxsize=1)
def load_templates() -> tuple[Template, ...]:
    """The team's chat templates, in file order."""
    with TEMPLATES.open(encoding="utf-8", newline="") as f:
        return tuple(Template(r["kind"], r["language"], r["text"])
                     for r in csv.DictReader(f, delimiter="\t"))


@lru_cache(maxsize=1)
def load_slots() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in json.loads(SLOTS.read_text(encoding="utf-8")).items()}


_CUMULATIVE: dict[int, tuple[list[str], list[int]]] = {}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """A key drawn by weight (the tables are module constants: their sums are kept)."""
    table = _CUMULATIVE.get(id(weights))
    if table is None:
        table = _CUMULATIVE[id(weights)] = (list(weights), list(accumulate(weights.values())))
    return rng.choices(table[0], cum_weights=table[1])[0]


def username(rng: random.Random) -> str:
    """An Indian-looking username in one of the styles people pick."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    year = rng.choice(("", str(rng.randint(90, 99)), f"{rng.randint(0, 9):02d}",
                       str(rng.randint(1, 999))))
    pattern = rng.randrange(8)
    if pattern == 0:
        return f"{first}_{last}{year}"
    if pattern == 1:
        return f"{first}.{last}"
    if pattern == 2:
        return f"its_{first}{year}"
    if pattern == 3:
        return f"{first}_{rng.choice(CITY_TAGS)}"
    if pattern == 4:
        return f"{rng.choice(NICKNAMES)}_{rng.randint(1, 999)}"
    if pattern == 5:
        return f"{first.capitalize()}{last[0].upper()}{year}"
    if pattern == 6:
        return f"{first}{rng.randint(1, 9999)}"
    return f"the.{first}.{last[:3]}"


def display_name(username: str) -> str:
    """The name a partner would call someone by (the first word of the username)."""
    head = re.split(r"[._\d]", username.removeprefix("its_").removeprefix("the."))[0].lower()
    if head in FIRST_NAMES:
        return head
    # A nickname: the partner knows their name from chatting, any stable one will do.
    return FIRST_NAMES[sum(map(ord, username)) % len(FIRST_NAMES)]


class ChatWriter:
    """Fills templates deterministically from one random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slots = load_slots()
        self.by_kind: dict[tuple[str, str], list[Template]] = {}
        self.by_topic: dict[str, list[Template]] = {}
        for t in load_templates():
            self.by_kind.setdefault((t.kind, t.language), []).append(t)
            self.by_topic.setdefault(t.kind, []).append(t)

    def line(self, style: str, setting: str, harm: str | None, name: str,
             topic: str | None = None) -> ChatLine:
        """One chat line by a person of ``style``; ``harm`` is the harmful kind, if any,
        ``topic`` a benign topic to keep to (else one typical of ``setting``)."""
        topic = harm or topic or _weighted(self.rng, TOPICS[setting])
        language = _weighted(self.rng, STYLES[style])
        pool = self.by_kind.get((topic, language)) or self.by_topic[topic]
        template = self.rng.choice(pool)
        return ChatLine(self.vary(self.fill(template.text, name), template.language, harm),
                        harm or BENIGN, topic)

    def vary(self, text: str, language: str, harm: str | None) -> str:
        """What people do to a line as they type it: a tail, lower case, no full stop."""
        roll = self.rng.random()
        if roll < 0.35:
            text = text.rstrip(".!?") + self.rng.choice(HARSH_TAILS if harm else TAILS[language])
        elif roll < 0.5:
            text = text[:1].lower() + text[1:]
        elif roll < 0.6 and harm is None:
            text = text.upper() if len(text) < 30 else text
        return text

    def fill(self, text: str, name: str) -> str:
        def slot(match: re.Match[str]) -> str:
            key = match.group(1)
            return name if key == "name" else self.rng.choice(self.slots[key])

        return _SLOT.sub(slot, text)

    def harm_kind(self) -> str:
        return _weighted(self.rng, HARM_WEIGHTS)


def pick_style(rng: random.Random) -> str:
    return _weighted(rng, STYLE_SHARE)
