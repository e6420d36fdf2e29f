"""How well the transcript-coverage rule tells English speech from Hindi and Hinglish.

Thirty two-sentence voice notes are synthesised with espeak-ng: 10 English (three voices),
10 Hindi in Devanagari and 10 romanised Hinglish, both read by the Hindi voice (three
variants). Each goes through `analyse_recording` with no speaker language, and the
signals the rule could use are printed per clip: mean word posterior (what the rule
uses), words per second of speech, mean word length, and, with ``--data``, the share of
recognised words among the 2,000 commonest English words of the Toxic Spans comments
(CC0; words the recogniser's dictionary knows). Then, per signal, each group's range and
the margin between them (negative: they overlap), and the rule's counts.

Run: ``python bench/transcript_coverage.py [--data ../shared/data]``. The last line
printed is one JSON object with every figure. Needs espeak-ng. Takes about 3 CPU minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.audio import AudioConfig, analyse_recording  # noqa: E402
from classifiers.audio.coverage import MIN_MEAN_CONFIDENCE  # noqa: E402

ENGLISH = (
    "please call me back when you have a moment",
    "the train leaves at seven in the morning from the station",
    "you are a pathetic loser and everybody hates you",
    "I will meet you at the coffee shop after work today",
    "send me the money tonight or I will tell everyone",
    "my brother is coming home for the holidays next week",
    "can you hear me now the line is very bad",
    "thank you so much for helping me with the homework",
    "stop calling me or I will report you to the police",
    "we should go to the park on sunday if the weather is nice",
)
HINDI = (
    "मुझे बाद में फ़ोन करना जब तुम्हारे पास समय हो",
    "ट्रेन सुबह सात बजे स्टेशन से निकलती है",
    "तुम बहुत बेकार इंसान हो और सब तुमसे नफ़रत करते हैं",
    "आज काम के बाद मैं तुमसे कॉफ़ी की दुकान पर मिलूँगा",
    "आज रात पैसे भेज दो वरना मैं सबको बता दूँगा",
    "मेरा भाई अगले हफ़्ते छुट्टियों के लिए घर आ रहा है",
    "क्या तुम मुझे सुन सकते हो लाइन बहुत ख़राब है",
    "होमवर्क में मदद करने के लिए बहुत बहुत धन्यवाद",
    "मुझे फ़ोन करना बंद करो वरना मैं पुलिस में शिकायत करूँगा",
    "अगर मौसम अच्छा हो तो हम रविवार को पार्क चलेंगे",
)
HINGLISH = (
    "mujhe baad mein phone karna jab tumhare paas time ho",
    "train subah saat baje station se nikalti hai",
    "tum bahut bekaar insaan ho aur sab tumse nafrat karte hain",
    "aaj kaam ke baad main tumse coffee shop par milunga",
    "aaj raat paise bhej do warna main sabko bata dunga",
    "mera bhai agle hafte chutti ke liye ghar aa raha hai",
    "kya tum mujhe sun sakte ho line bahut kharab hai",
    "homework mein madad ke liye bahut bahut dhanyavaad",
    "mujhe phone karna band karo warna main police mein complaint karunga",
    "agar mausam achha ho to hum ravivaar ko park chalenge",
)
GROUPS = {"english": (ENGLISH, ("en-us+f2", "en-us", "en-gb+m3")),
          "hindi": (HINDI, ("hi", "hi+f2", "hi+m3")),
          "hinglish": (HINGLISH, ("hi", "hi+f2", "hi+m3"))}
SIGNALS = ("mean_confidence", "words_per_s", "mean_word_length", "common_share")


def common_words(data: Path, top: int = 2000) -> set[str]:
    """The ``top`` words found in most Toxic Spans comments that the recogniser knows."""
    from pocketsphinx import get_model_path

    known = {re.sub(r"\(\d+\)$", "", line.split(maxsplit=1)[0])
             for line in open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict")}
    counts: Counter[str] = Counter()
    token = re.compile(r"[a-z]+(?:'[a-z]+)?")
    with open(data / "toxic-spans-civilcomments" / "data_comments.csv", newline="") as f:
        for row in csv.DictReader(f):
            counts.update(set(token.findall(row["comment_text"].lower())))
    return set([w for w, _n in counts.most_common() if w in known][:top])


def measure(folder: Path, common: set[str] | None) -> list[dict[str, Any]]:
    rows = []
    for group, (sentences, voices) in GROUPS.items():
        for i, sentence in enumerate(sentences):
            path = folder / f"{group}-{i:02d}.wav"
            text = f"{sentence}. {sentences[(i + 1) % len(sentences)]}"
            subprocess.run(["espeak-ng", "-v", voices[i % len(voices)], "-s", "140",
                            "-w", str(path), text], check=True)
            result = analyse_recording(path, AudioConfig())
            words = [w.word for w in result.words]
            speech = sum(s.end - s.start for s in result.segments) or 1.0
            rows.append({
                "clip": path.stem, "group": group, "words": len(words),
                "status": result.coverage.status.value,
                "mean_confidence": result.coverage.mean_confidence or 0.0,
                "words_per_s": round(len(words) / speech, 2),
                "mean_word_length": round(statistics.mean(map(len, words)), 2) if words else 0,
                "common_share": round(sum(w in common for w in words) / len(words), 2)
                if common and words else None,
                "transcript": result.transcript[:60],
            })
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def separation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for signal in SIGNALS:
        english = [r[signal] for r in rows if r["group"] == "english" and r[signal] is not None]
        hindi = [r[signal] for r in rows if r["group"] != "english" and r[signal] is not None]
        if not english or not hindi:
            continue
        out[signal] = {"english": [min(english), max(english)],
                       "hindi": [min(hindi), max(hindi)],
                       "margin": round(min(english) - max(hindi), 3)}
    english = [r for r in rows if r["group"] == "english"]
    hindi = [r for r in rows if r["group"] != "english"]
    out["rule"] = {
        "threshold": MIN_MEAN_CONFIDENCE,
        "english_transcribed": sum(r["status"] == "transcribed" for r in english),
        "english": len(english),
        "hindi_no_transcript": sum(r["status"] != "transcribed" for r in hindi),
        "hindi": len(hindi),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the shared data folder (word-list share)")
    args = parser.parse_args()
    common = common_words(args.data) if args.data else None
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(Path(folder), common)
    print(json.dumps(separation(rows)))


if __name__ == "__main__":
    main()
