"""Benchmark the voice-recording pipeline: speed (real-time factor) and memory.

Speed: a mix of calls synthesised with espeak-ng (sentences with pauses, and one with
no pauses at all) goes through `analyse_recording`; the real-time factor is processing
seconds per audio second, the median over several runs. Baselines in the same run:
decoding alone, and the same recogniser and keyword search over every second of the
call without speech detection (what skipping the silences saves).

Memory: a long call (a sentence once a minute, hiss between) is analysed in a fresh
subprocess, after a one-minute warm-up call; it reports its resident memory with the
models loaded, the peak resident memory during the analysis (VmHWM, reset first), and
the tracemalloc peak. A call a tenth as long shows whether memory grows with length.

Run: ``python bench/recordings.py [--runs 3] [--long-minutes 30]``. The last line
printed is one JSON object with every figure. Needs espeak-ng.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from classifiers.audio import AudioConfig, analyse_recording, load_engine  # noqa: E402
from classifiers.audio.decode import stream_16k_mono  # noqa: E402
from classifiers.audio.sphinx import KeywordSpotter, SphinxTranscriber  # noqa: E402

RATE = 22050  # espeak-ng's output rate
VOICES = (["-v", "en-us+f2", "-s", "140"], ["-v", "en-us", "-s", "160"])
SENTENCES = (
    "you are a pathetic loser and everybody hates you",
    "shut up you worthless idiot, I will kill you",
    "send me your password and your bank account number",
    "please call me back when you have a moment",
    "the train leaves at seven in the morning from the station",
    "thank you for the lovely birthday present yesterday",
    "the weather is nice today, see you at dinner",
)


def speak(text: str, voice: list[str], folder: Path) -> np.ndarray:
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", *voice, "-w", str(path), text], check=True)
    samples, rate = sf.read(path, dtype="float32")
    if rate != RATE:
        sys.exit(f"espeak-ng wrote {rate} Hz audio; this benchmark expects {RATE} Hz")
    return np.asarray(samples)


def make_calls(folder: Path) -> dict[str, Path]:
    """Six calls of sentences with pauses (0.5-4 s), and one without pauses."""
    rng = np.random.default_rng(0)
    spoken = [speak(s, v, folder) for v in VOICES for s in SENTENCES]
    calls = {}
    for i in range(6):
        parts: list[np.ndarray] = []
        for j in rng.choice(len(spoken), size=5, replace=False):
            gap = rng.uniform(0.5, 4.0)
            parts += [hiss(gap, rng), spoken[j]]
        parts.append(hiss(1.0, rng))
        calls[f"call-{i}"] = write(folder / f"call-{i}.wav", parts)
    calls["no-pauses"] = write(folder / "no-pauses.wav", spoken)
    return calls


def hiss(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(int(seconds * RATE)) * 2e-3).astype(np.float32)


def write(path: Path, parts: list[np.ndarray]) -> Path:
    sf.write(path, np.concatenate(parts), RATE, subtype="PCM_16")
    return path


def timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def decode_only(path: Path) -> None:
    for _ in stream_16k_mono(path, 10.0):
        pass


def no_vad(transcriber: SphinxTranscriber, spotter: KeywordSpotter, path: Path) -> None:
    """The baseline: recognise and spot keywords over the whole call, silences too."""
    samples = np.concatenate(list(stream_16k_mono(path, 10.0)))
    transcriber.transcribe(samples, 0.0)
    spotter.spot(samples, 0.0)


def speed(calls: dict[str, Path], runs: int) -> dict[str, Any]:
    config = AudioConfig()
    load_engine(config)
    transcriber, spotter = SphinxTranscriber(config.sphinx), KeywordSpotter(config.keywords)
    audio_s = {name: sf.info(path).duration for name, path in calls.items()}
    rows: dict[str, dict[str, float]] = {}
    for name, path in calls.items():
        pipeline = [timed(analyse_recording, path, config) for _ in range(runs)]
        decode = [timed(decode_only, path) for _ in range(runs)]
        whole = [timed(no_vad, transcriber, spotter, path) for _ in range(runs)]
        speech_ratio = analyse_recording(path, config).speech_ratio
        rows[name] = {
            "audio_s": round(audio_s[name], 2),
            "speech_ratio": speech_ratio,
            "rtf_pipeline": statistics.median(pipeline) / audio_s[name],
            "rtf_decode_only": statistics.median(decode) / audio_s[name],
            "rtf_no_vad": statistics.median(whole) / audio_s[name],
        }
    total = sum(audio_s.values())
    mix = {
        key: sum(r[key] * r["audio_s"] for r in rows.values()) / total
        for key in ("rtf_pipeline", "rtf_decode_only", "rtf_no_vad")
    }
    return {"per_call": rows, "mix": mix, "audio_s": round(total, 1)}


def make_long_call(folder: Path, minutes: int, name: str) -> Path:
    """A long FLAC written a minute at a time: a sentence, then hiss, every minute."""
    rng = np.random.default_rng(1)
    spoken = [speak(s, VOICES[0], folder) for s in SENTENCES]
    path = folder / f"{name}.flac"
    with sf.SoundFile(path, "w", RATE, 1, "PCM_16", format="FLAC") as out:
        for m in range(minutes):
            minute = hiss(60.0, rng)
            said = spoken[m % len(spoken)]
            minute[RATE : RATE + len(said)] += said
            out.write(minute)
    return path


def rss_mb() -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of this process, in MB."""
    figures = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                figures[key] = int(value.split()[0]) / 1024
    return figures


def child_memory(path: str, warm_up: str) -> None:
    """Run in a fresh process: analyse one file, print memory figures as JSON.

    A short call is analysed first, so one-time costs (lazy imports such as
    scipy.signal, the models' first inference) are not counted; then the peak-RSS mark
    is reset (``/proc/self/clear_refs``), so the peak below is what the analysis of
    ``path`` itself reached.
    """
    config = AudioConfig(max_duration_s=4 * 3600)
    analyse_recording(Path(warm_up), config)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = rss_mb()["VmRSS"]
    tracemalloc.start()
    started = time.perf_counter()
    result = analyse_recording(Path(path), config)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    after = rss_mb()
    figures = {
        "duration_s": result.duration_s,
        "segments": len(result.segments),
        "rtf": elapsed / result.duration_s,
        "rss_models_mb": before,
        "rss_peak_mb": after["VmHWM"],
        "rss_growth_mb": after["VmHWM"] - before,
        "tracemalloc_peak_mb": peak / 1e6,
    }
    print(json.dumps(figures))


def memory(folder: Path, minutes: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    warm_up = make_long_call(folder, 1, "warm-up")
    for label, length in (("short", max(1, minutes // 10)), ("long", minutes)):
        path = make_long_call(folder, length, f"{label}-{length}min")
        out = subprocess.run(
            [sys.executable, __file__, "--child-memory", str(path), str(warm_up)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures[label] = {"minutes": length, **json.loads(out.stdout.strip().splitlines()[-1])}
    seconds = minutes * 60
    figures["whole_file_float32_16k_mb"] = seconds * 16000 * 4 / 1e6
    return figures


def print_tables(speed_figures: dict[str, Any], mem: dict[str, Any]) -> None:
    print(f"{'recording':<11}{'audio s':>9}{'speech':>8}{'pipeline':>10}{'decode':>9}{'no VAD':>9}")
    for name, r in speed_figures["per_call"].items():
        print(
            f"{name:<11}{r['audio_s']:>9.1f}{r['speech_ratio']:>8.2f}{r['rtf_pipeline']:>10.3f}"
            f"{r['rtf_decode_only']:>9.3f}{r['rtf_no_vad']:>9.3f}"
        )
    mix = speed_figures["mix"]
    print(
        f"{'mix':<11}{speed_figures['audio_s']:>9.1f}{'':>8}{mix['rtf_pipeline']:>10.3f}"
        f"{mix['rtf_decode_only']:>9.3f}{mix['rtf_no_vad']:>9.3f}"
    )
    print(
        f"real-time factor: median seconds per audio second; pipeline / no-VAD = "
        f"{mix['rtf_pipeline'] / mix['rtf_no_vad']:.2f}"
    )
    print()
    print(
        f"{'memory':<8}{'minutes':>8}{'RSS models MB':>15}{'RSS peak MB':>13}"
        f"{'growth MB':>11}{'tracemalloc MB':>16}{'rtf':>7}"
    )
    for label in ("short", "long"):
        m = mem[label]
        print(
            f"{label:<8}{m['minutes']:>8}{m['rss_models_mb']:>15.0f}{m['rss_peak_mb']:>13.0f}"
            f"{m['rss_growth_mb']:>11.1f}{m['tracemalloc_peak_mb']:>16.1f}{m['rtf']:>7.3f}"
        )
    print(
        f"(holding the long call decoded at 16 kHz would take "
        f"{mem['whole_file_float32_16k_mb']:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--long-minutes", type=int, default=30)
    parser.add_argument("--child-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory)
        return
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        speed_figures = speed(make_calls(folder), args.runs)
        mem = memory(folder, args.long_minutes)
    print_tables(speed_figures, mem)
    mix = speed_figures["mix"]
    print(
        json.dumps(
            {
                "rtf_pipeline_mix": round(mix["rtf_pipeline"], 4),
                "rtf_decode_only_mix": round(mix["rtf_decode_only"], 4),
                "rtf_no_vad_mix": round(mix["rtf_no_vad"], 4),
                "pipeline_vs_no_vad": round(mix["rtf_pipeline"] / mix["rtf_no_vad"], 3),
                "rtf_pipeline_no_pauses": round(
                    speed_figures["per_call"]["no-pauses"]["rtf_pipeline"], 4
                ),
                "mix_audio_s": speed_figures["audio_s"],
                "runs": args.runs,
                "memory": mem,
            }
        )
    )


if __name__ == "__main__":
    main()
