"""Template Hinglish messages with moderator decisions, for the text classifier tests."""

from __future__ import annotations

import random

import pandas as pd

HINGLISH_INSULTS = ["kamina", "harami", "kutta", "gadha", "bewakoof", "ullu ka pattha",
                    "nalayak", "ghatiya insaan", "badtameez", "chutiya", "suar", "kaminey"]
HINGLISH_ABUSE = ["tu {x} hai", "tum ek number ke {x} ho", "abe {x}, chup kar",
                  "saala {x} kahin ka", "tera bhai bhi {x} hai", "{x} log yahan mat aao",
                  "tu sach mein {x} hai yaar", "nikal yahan se {x}"]
HINGLISH_BENIGN = ["kal milte hai yaar", "khana kha liya kya", "bhai match dekha kya",
                   "aaj mausam bahut acha hai", "mujhe {y} pasand hai", "tum kab aa rahe ho",
                   "{y} ke liye shukriya", "chalo {y} karte hai", "mera {y} kaam nahi kar raha",
                   "yeh {y} bahut sahi hai bhai"]
HINGLISH_THINGS = ["chai", "cricket", "gaana", "phone", "kitaab", "film", "safar", "khana",
                   "padhai", "shopping"]


def hinglish_decisions(count: int, seed: int = 7) -> pd.DataFrame:
    """Moderator decisions on template Hinglish messages: half abusive, half dismissed."""
    rng = random.Random(seed)
    rows = []
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for index in range(count):
        if index % 2 == 0:
            text = rng.choice(HINGLISH_ABUSE).format(x=rng.choice(HINGLISH_INSULTS))
            label = "abusive"
        else:
            text = rng.choice(HINGLISH_BENIGN).format(y=rng.choice(HINGLISH_THINGS))
            label = "none"
        rows.append({"text": text, "label": label,
                     "decided_at": (start + pd.Timedelta(minutes=index)).isoformat()})
    return pd.DataFrame(rows)
