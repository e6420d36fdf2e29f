"""The voice pipeline end to end, on speech synthesised by espeak-ng.

pocketsphinx hears espeak's voice imperfectly, so the assertions lean on keyword
spotting and on words it reliably gets (checked across runs), not on exact transcripts.
Set ``WORKBENCH_TEXT_SCORER=package.module:factory`` to also run the end-to-end check
with the real text classifier (the factory returns an object with ``score`` and
``thresholds``).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from classifiers.audio import (
    AudioConfig,
    AudioConfigError,
    KeywordHit,
    KeywordTerm,
    RecordingAnalysis,
    Segment,
    TextScorer,
    analyse_recording,
    probe,
)

#: espeak-ng's American female voice at a calm pace: the one pocketsphinx hears best.
VOICE = ["-v", "en-us+f2", "-s", "140"]
SENTENCES = {
    "insult": "you are a pathetic loser and everybody hates you",
    "threat": "shut up you worthless idiot, I will kill you",
    "callback": "please call me back when you have a moment",
    "train": "the train leaves at seven in the morning from the station",
}
ABUSIVE_TERMS = {"idiot", "stupid", "loser", "pathetic", "worthless", "disgusting", "kill you"}
SPEECH_RATE = 22050  # espeak-ng's output rate

Part = str | float  # a sentence key, or seconds of silence


class KeywordScorer:
    """A stand-in text classifier for the pipeline's plumbing: insults score high."""

    thresholds = {"abusive": 0.5, "hate": 0.5, "spam_scam": 0.5}

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        return [
            {
                "abusive": 0.9 if any(term in text for term in ABUSIVE_TERMS) else 0.05,
                "hate": 0.02,
                "spam_scam": 0.01,
            }
            for text in texts
        ]


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Each sentence spoken once by espeak-ng, as float samples at 22 050 Hz."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed for the audio tests: apt-get install espeak-ng")
    folder = tmp_path_factory.mktemp("speech")
    spoken = {}
    for key, text in SENTENCES.items():
        path = folder / f"{key}.wav"
        subprocess.run(["espeak-ng", *VOICE, "-w", str(path), text], check=True)
        samples, rate = sf.read(path, dtype="float32")
        assert rate == SPEECH_RATE
        spoken[key] = samples
    return spoken


@pytest.fixture(scope="session")
def make_call(
    speech: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """Write sentences and silences, in order, into one recording."""
    folder = tmp_path_factory.mktemp("calls")

    def make(name: str, parts: list[Part], fmt: str = "WAV", subtype: str = "PCM_16") -> Path:
        pieces = [
            speech[p] if isinstance(p, str) else np.zeros(int(p * SPEECH_RATE), np.float32)
            for p in parts
        ]
        path = folder / f"{name}.{fmt.lower()}"
        sf.write(path, np.concatenate(pieces), SPEECH_RATE, format=fmt, subtype=subtype)
        return path

    return make


@pytest.fixture(scope="session")
def abusive_call(make_call: Callable[..., Path]) -> Path:
    return make_call("abusive", [1.5, "insult", 2.0, "threat", 1.0])


@pytest.fixture(scope="session")
def benign_call(make_call: Callable[..., Path]) -> Path:
    return make_call("benign", [1.0, "callback", 2.0, "train", 1.0])


def terms(hits: list[KeywordHit]) -> set[str]:
    return {h.term for h in hits}


def test_abusive_call_gives_a_timeline_with_words_hits_and_scores(abusive_call: Path) -> None:
    scorer = KeywordScorer()
    result = analyse_recording(abusive_call, AudioConfig(), scorer)
    assert result.format == "WAV" and result.sample_rate == SPEECH_RATE
    assert [len(result.segments)] == [2], result.segments
    first, second = result.segments
    assert first.start == pytest.approx(1.5, abs=0.3)  # after 1.5 s of silence
    assert second.start > first.end
    assert terms(first.keyword_hits) & {"pathetic", "loser"}
    assert "worthless" in terms(second.keyword_hits)
    assert {"loser", "worthless"} <= set(result.transcript.split())
    assert 0.4 < result.speech_ratio < 0.85
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration_s
    assert all(first.start <= h.start < first.end for h in first.keyword_hits)
    assert result.flagged == ["abusive"]
    assert result.max_scores["abusive"] == 0.9
    assert all(s.scores["abusive"] == 0.9 for s in result.segments)


def test_benign_call_spots_no_abuse_and_is_not_flagged(benign_call: Path) -> None:
    result = analyse_recording(benign_call, AudioConfig(), KeywordScorer())
    assert len(result.segments) == 2
    assert not terms(result.keyword_hits) & ABUSIVE_TERMS, result.keyword_hits
    assert {"please", "morning"} & set(result.transcript.split()), result.transcript
    assert result.flagged == []


def test_scorer_is_called_once_for_every_stretch_and_the_whole_call(abusive_call: Path) -> None:
    scorer = KeywordScorer()
    result = analyse_recording(abusive_call, AudioConfig(), scorer)
    assert len(scorer.calls) == 1
    texts = scorer.calls[0]
    assert len(texts) == len(result.segments) + 1
    assert texts[-1] == " ".join(texts[:-1])


def test_spotted_terms_the_transcript_missed_are_scored_too() -> None:
    hits = [KeywordHit("idiot", 1.0, 1.4), KeywordHit("loser", 2.0, 2.3)]
    segment = Segment(0.5, 3.0, "you are a loser", hits)
    assert segment.scored_text() == "you are a loser idiot"


def test_without_a_scorer_scores_stay_empty(benign_call: Path) -> None:
    result = analyse_recording(benign_call)
    assert result.max_scores == {} and result.flagged == []
    assert all(s.scores == {} for s in result.segments)
    assert result.recogniser == "pocketsphinx-en-us"


def test_silent_recording_has_no_speech(make_call: Callable[..., Path], tmp_path: Path) -> None:
    hiss = (np.random.default_rng(1).standard_normal(SPEECH_RATE * 6) * 1e-3).astype(np.float32)
    path = tmp_path / "silent.wav"
    sf.write(path, hiss, SPEECH_RATE)
    result = analyse_recording(path, AudioConfig(), KeywordScorer())
    assert result.speech_ratio < 0.05
    assert result.segments == [] and result.transcript == "" and result.words == []
    assert result.duration_s == pytest.approx(6.0)


def test_flac_and_ogg_of_one_sentence_agree(make_call: Callable[..., Path]) -> None:
    flac = make_call("insult_flac", [0.5, "insult", 0.5], fmt="FLAC")
    ogg = make_call("insult_ogg", [0.5, "insult", 0.5], fmt="OGG", subtype="VORBIS")
    assert probe(flac).duration_s == pytest.approx(probe(ogg).duration_s, abs=0.001)
    for path in (flac, ogg):
        result = analyse_recording(path)
        assert result.speech_ratio > 0.5
        assert terms(result.keyword_hits) & {"pathetic", "loser"}, (path, result.keyword_hits)


def test_file_object_gives_the_same_analysis_as_its_path(benign_call: Path) -> None:
    by_path = analyse_recording(benign_call)
    by_file = analyse_recording(io.BytesIO(benign_call.read_bytes()))
    assert by_file.transcript == by_path.transcript
    assert by_file.segments == by_path.segments


def test_speech_deep_in_a_twenty_minute_call_is_found_at_its_time(
    speech: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "twenty_minutes.flac"
    at = {300: speech["insult"], 900: speech["callback"]}
    minute = np.zeros(SPEECH_RATE * 60, dtype=np.float32)
    with sf.SoundFile(path, "w", SPEECH_RATE, 1, "PCM_16", format="FLAC") as out:
        for m in range(20):
            block = minute.copy()
            if m * 60 in at:
                said = at[m * 60]
                block[: len(said)] = said
            out.write(block)
    result = analyse_recording(path)
    assert result.duration_s == 1200
    assert [round(s.start) for s in result.segments] == [300, 900]
    assert terms(result.keyword_hits) & {"pathetic", "loser"}
    assert all(300 <= h.start < 305 for h in result.keyword_hits)
    assert {"please", "moment"} & set(result.segments[1].transcript.split())


def test_missing_speech_model_folder_is_a_clear_config_error(
    abusive_call: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-whisper"
    with pytest.raises(AudioConfigError, match="no-such-whisper.*does not exist"):
        analyse_recording(abusive_call, AudioConfig(asr_model_path=missing))


def test_keyword_outside_the_dictionary_is_a_config_error(abusive_call: Path) -> None:
    config = AudioConfig(keywords=(KeywordTerm("idiot"), KeywordTerm("zzqxv loser")))
    with pytest.raises(AudioConfigError, match="zzqxv"):
        analyse_recording(abusive_call, config)


def real_scorer(tmp_path: Path) -> TextScorer:
    """The shipped default text model (an empty registry root falls back to it)."""
    from classifiers.registry import ModelRegistry

    scorer: TextScorer = ModelRegistry(tmp_path).load("text")
    return scorer


def test_real_text_classifier_flags_the_abusive_call_only(
    abusive_call: Path, benign_call: Path, tmp_path: Path
) -> None:
    scorer = real_scorer(tmp_path)
    abusive: RecordingAnalysis = analyse_recording(abusive_call, AudioConfig(), scorer)
    benign: RecordingAnalysis = analyse_recording(benign_call, AudioConfig(), scorer)
    assert "abusive" in abusive.flagged, abusive.max_scores
    assert "abusive" not in benign.flagged, benign.max_scores
    assert abusive.max_scores["abusive"] > benign.max_scores["abusive"]


DEMO = Path(__file__).resolve().parents[2] / "workbench" / "demo" / "data" / "recordings"


def test_demo_recordings_are_small_16k_files_and_abuse_is_spotted_in_them() -> None:
    listing = json.loads((DEMO / "recordings.json").read_text())
    assert {item["abusive"] for item in listing} == {True, False}
    for item in listing:
        path = DEMO / item["file"]
        info = probe(path)
        assert (info.sample_rate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.size_bytes < 200_000
        hits = terms(analyse_recording(path).keyword_hits)
        assert bool(hits & ABUSIVE_TERMS) == item["abusive"], (item, hits)
