"""Hindi speech is not transcribed as English: the coverage rule on real espeak-ng speech.

The clips are the ones ``bench/transcript_coverage.py`` measures the rule on; these three
sit well away from the threshold (mean word posterior about 0.69 English, 0.24 Hindi,
0.25 Hinglish), so the assertions hold across runs.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers.audio import (
    AudioConfig,
    RecordingAnalysis,
    TranscriptStatus,
    analyse_recording,
    judge_transcript,
)
from classifiers.audio.coverage import MIN_MEAN_CONFIDENCE
from tests.classifiers.test_audio_pipeline import KeywordScorer

#: (voice, text): two sentences each, like a voice note.
CLIPS = {
    "english": ("en-us+f2", "please call me back when you have a moment. "
                            "the train leaves at seven in the morning from the station"),
    "hindi": ("hi+m3", "तुम बहुत बेकार इंसान हो और सब तुमसे नफ़रत करते हैं. "
                       "आज काम के बाद मैं तुमसे कॉफ़ी की दुकान पर मिलूँगा"),
    "hinglish": ("hi+f2", "homework mein madad ke liye bahut bahut dhanyavaad. "
                          "mujhe phone karna band karo warna main police mein complaint "
                          "karunga"),
}


@dataclass(frozen=True)
class Heard:
    analysis: RecordingAnalysis
    scorer: KeywordScorer


@pytest.fixture(scope="module")
def heard(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Heard]:
    """Each clip spoken by espeak-ng and analysed once, with a text scorer attached."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("coverage")
    out = {}
    for name, (voice, text) in CLIPS.items():
        path = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(path), text],
                       check=True)
        scorer = KeywordScorer()
        out[name] = Heard(analyse_recording(Path(path), AudioConfig(), scorer), scorer)
    return out


def test_english_speech_is_transcribed_and_scored(heard: dict[str, Heard]) -> None:
    english = heard["english"]
    assert english.analysis.coverage.status is TranscriptStatus.TRANSCRIBED
    assert english.analysis.coverage.mean_confidence is not None
    assert english.analysis.coverage.mean_confidence > MIN_MEAN_CONFIDENCE + 0.1
    assert english.scorer.calls and english.analysis.max_scores
    assert {"call", "back", "train"} <= set(english.analysis.transcript.split())


@pytest.mark.parametrize("name", ["hindi", "hinglish"])
def test_hindi_speech_gets_no_transcript_and_no_scores(
        heard: dict[str, Heard], name: str) -> None:
    clip = heard[name]
    coverage = clip.analysis.coverage
    assert coverage.status is TranscriptStatus.NO_TRANSCRIPT_LANGUAGE, coverage
    assert coverage.reason == "low_confidence"
    assert coverage.mean_confidence is not None
    assert coverage.mean_confidence < MIN_MEAN_CONFIDENCE - 0.08
    # The recogniser still wrote English words down; none of them reached the scorer.
    assert len(clip.analysis.words) >= 10
    assert clip.scorer.calls == [] and clip.analysis.max_scores == {}
    assert clip.analysis.flagged == [] and all(not s.scores for s in clip.analysis.segments)


def test_the_speakers_language_decides_when_it_leaves_english_out(
        heard: dict[str, Heard]) -> None:
    words = heard["english"].analysis.words
    for speaks in (["hi"], ["hi-Latn"], ["hi", "mr"]):
        coverage = judge_transcript(words, speaks)
        assert coverage.status is TranscriptStatus.NO_TRANSCRIPT_LANGUAGE, speaks
        assert coverage.reason == "speaker_language"
    for languages in (None, [], ["en"], ["hi", "en"], ["en-IN"]):
        assert judge_transcript(words, languages).trusted, languages
    # A Hindi speaker who also speaks English is judged by what the audio says.
    assert not judge_transcript(heard["hindi"].analysis.words, ["hi", "en"]).trusted


def test_a_few_uncertain_words_are_too_little_to_judge_by() -> None:
    @dataclass(frozen=True)
    class Word:
        confidence: float

    assert judge_transcript([Word(0.1)] * 3).trusted
    assert not judge_transcript([Word(0.1)] * 4).trusted
    assert judge_transcript([]).status is TranscriptStatus.TRANSCRIBED
