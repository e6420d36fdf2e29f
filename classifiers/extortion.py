"""Extortion and sextortion: a demand, held over the victim by leverage, with a threat.

On a platform of coins, gifts and 1:1 video calls, the core pattern is "pay me, or
the photo/video/recording goes to your family / goes viral". A message is scored on
three cues, in English, Hindi (Devanagari) and Hinglish:

* **demand**: money, coins, gifts, recharge, UPI and wallets, paise, an amount;
* **leverage**: photos, videos, recordings, screenshots, "leak", "viral", the
  victim's family or friends ("family ko bhej", "ghar walo ko");
* **threat**: the condition or consequence ("warna", "nahi to", "or else",
  "I will post", "viral kar dunga", "वरना").

All three make extortion near-certain; a demand with leverage that is itself a
threat of exposure ("leak", "viral") is likely; anything less is weak evidence
only (a photo of a gift, coins sent "or else I leave", is not extortion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.model import Span
from classifiers.normalise import normalise_batch, normalise_with_offsets

LABEL = "extortion"
#: Score with all three cues, with demand and exposure leverage, and with less.
SCORE_ALL = 0.95
SCORE_EXPOSURE = 0.85
SCORE_PARTIAL = 0.3

_B = r"(?<![\w\u0900-\u097f])"  # word start (Devanagari letters count as word letters)
_E = r"(?![\w\u0900-\u097f])"


def _cue(*alternatives: str) -> re.Pattern[str]:
    return re.compile(_B + "(?:" + "|".join(alternatives) + ")" + _E)


DEMAND = _cue(
    r"money", r"cash", r"pay(?:ment)?", r"coins?", r"gifts?", r"diamonds?", r"recharge",
    r"upi", r"paytm", r"g ?pay", r"phone ?pe", r"rs\.?", r"rupees?", r"rupay?e?",
    r"paise?", r"paisa", r"pai?sa", r"inr", r"transfer", r"[₹$]\s?\d+", r"\d+\s?(?:k|rs|inr)",
    r"पैसे", r"पैसा", r"रुपये", r"रुपए", r"रूपये", r"सिक्के", r"कॉइन्?स?", r"कोइन्?स?",
    r"गिफ्ट", r"रिचार्ज", r"यूपीआई", r"पेटीएम",
)
LEVERAGE = _cue(
    r"photos?", r"pics?", r"pictures?", r"selfies?", r"videos?", r"vids?", r"recordings?",
    r"recorded", r"screenshots?", r"ss", r"nudes?", r"clips?", r"mms", r"leak(?:ed)?",
    r"viral", r"your (?:family|parents|friends|husband|wife|father|mother|dad|mom)",
    r"(?:family|parents|papa|mummy|gharwal[eoa]n?|ghar wal[eoa]n?|dosto|sabko|sab) ko",
    r"insta(?:gram)? (?:pe|par)", r"fb (?:pe|par)",
    r"फोटो", r"फ़ोटो", r"फ़ोटो", r"तस्वीरें?", r"वीडियो", r"विडियो", r"रिकॉर्डिंग", r"रिकॉर्ड",
    r"स्क्रीनशॉट", r"लीक", r"वायरल", r"परिवार", r"घरवालों", r"घर वालों", r"सबको",
)
EXPOSURE = _cue(r"leak(?:ed)?", r"viral", r"लीक", r"वायरल")
THREAT = _cue(
    r"or else", r"otherwise", r"else", r"if (?:you|u) (?:don'?t|do not|dont|wont|won'?t)",
    r"unless", r"or i(?:'ll| will)", r"i(?:'ll| will) (?:leak|post|send|share|upload|show)",
    r"before (?:it'?s|its) too late", r"last chance",
    r"warna", r"varna", r"vrna", r"wrna", r"nahi? ?to(?:h)?", r"nahin to(?:h)?", r"nhi to(?:h)?",
    r"nai to(?:h)?", r"(?:kar|daal|dal|bhej|dikha|post|upload|viral|leak) (?:dunga|dungi|denge|du)",
    r"वरना", r"नहीं तो", r"नही तो", r"(?:कर|डाल|भेज|दिखा) (?:दूंगा|दूँगा|दूंगी|दूँगी|देंगे)",
)


@dataclass(frozen=True)
class ExtortionEvidence:
    """What was found in one text: a score and the spans of each cue."""

    score: float
    spans: list[Span]


def _found(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _score(cues: dict[str, list[tuple[int, int]]]) -> float:
    if cues["demand"] and cues["leverage"] and cues["threat"]:
        return SCORE_ALL
    if cues["demand"] and cues["exposure"]:
        return SCORE_EXPOSURE
    if sum(bool(cues[name]) for name in ("demand", "leverage", "threat")) >= 2:
        return SCORE_PARTIAL
    return 0.0


def _cues(normalised: str) -> dict[str, list[tuple[int, int]]]:
    return {name: _found(pattern, normalised) for name, pattern in
            (("demand", DEMAND), ("leverage", LEVERAGE), ("threat", THREAT),
             ("exposure", EXPOSURE))}


def extortion_scores(texts: list[str]) -> list[float]:
    """The extortion score of each text (no spans: one normalisation for the batch)."""
    return [_score(_cues(normalised)) for normalised in normalise_batch(texts)]


def extortion(text: str) -> ExtortionEvidence:
    """The extortion score of one text and the words that made it."""
    normalised, offsets = normalise_with_offsets(text)
    cues = _cues(normalised)
    score = _score(cues)
    if not score:
        return ExtortionEvidence(0.0, [])
    weights = {"demand": 1.0, "leverage": 1.0, "threat": 1.0, "exposure": 0.0}
    spans: dict[tuple[int, int], float] = {}
    for name, found in cues.items():
        for start, end in found:
            key = (offsets[start][0], offsets[end - 1][1])
            spans[key] = max(spans.get(key, 0.0), round(score * weights[name] / 3, 6))
    ranked = sorted(spans.items(), key=lambda item: (-item[1], item[0]))
    return ExtortionEvidence(score, [(s, e, w) for (s, e), w in ranked if w > 0])
