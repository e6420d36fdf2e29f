"""Benchmark the image pipeline: speed, match latency at a million hashes, robustness.

Speed: generated photographs (``classifiers.images.samples``), as JPEG bytes, go
through decode and hashing (the eight dihedral PDQ hashes and two banner crops), then
also NudeNet scoring in batches; images per second in one process (one worker).
Banking an image (the whole plus 12 crop hashes) is timed too.

Match latency: the index holds ``--bank`` random whole-image hashes plus the banked
test images with their crop hashes; one image's ten query hashes are searched against
all of it (an exact scan, with faiss when installed and with numpy), median over
``--runs``.

Robustness: each alteration of every banked original is checked three ways, PDQ alone
(the whole-image hash against the banked one), PDQ with its dihedral hashes (what HMA
does), and the workbench's matcher (dihedral, crop and banner hashes); unrelated
photographs are checked for false matches the same three ways.

The growth curve: the same search against banks of each ``--curve`` size up to ``--bank``
(10,000, 100,000 and 1,000,000 random hashes by default), with each size's time against
the smallest's (``latency_growth``).

Run: ``python bench/images.py [--images 24] [--bank 1000000] [--curve 10000,100000]
[--runs 5]``. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from classifiers.images import (  # noqa: E402
    MATCH_THRESHOLD,
    HashIndex,
    bank_hashes,
    decode_image,
    hash_image,
    hex_to_bytes,
    query_hashes,
)
from classifiers.images.nudity import score_nudity  # noqa: E402
from classifiers.images.samples import ALTERATIONS, encode, photograph  # noqa: E402


def _distance(a: str, b: str) -> int:
    return int(np.unpackbits(hex_to_bytes(a) ^ hex_to_bytes(b)).sum())


def speed(jpegs: list[bytes]) -> dict[str, float]:
    score_nudity([decode_image(jpegs[0]).rgb])  # load the model outside the timing
    start = time.perf_counter()
    decoded = [decode_image(data).rgb for data in jpegs]
    for rgb in decoded:
        query_hashes(rgb)
    hashed = time.perf_counter() - start
    start = time.perf_counter()
    score_nudity(decoded)
    nudity = time.perf_counter() - start
    start = time.perf_counter()
    for rgb in decoded[:8]:
        bank_hashes(rgb)
    banking = (time.perf_counter() - start) / min(8, len(decoded))
    n = len(jpegs)
    return {"decode_hash_per_s": round(n / hashed, 1),
            "decode_hash_nudity_per_s": round(n / (hashed + nudity), 1),
            "nudity_per_s": round(n / nudity, 1), "bank_one_image_ms": round(banking * 1000, 1)}


def latency(originals: list[Any], bank_size: int, runs: int) -> dict[str, float]:
    index = HashIndex()
    rng = np.random.default_rng(7)
    step = 250_000
    for first in range(0, bank_size, step):
        count = min(step, bank_size - first)
        index.add_packed(list(range(first, first + count)),
                         rng.integers(0, 256, (count, 32), dtype=np.uint8))
    for i, image in enumerate(originals):
        index.add(("banked", i), [(h.region, h.hex) for h in bank_hashes(np.asarray(image))])
    query = query_hashes(np.asarray(ALTERATIONS["crop_5"](originals[0])))
    out: dict[str, float] = {"bank_hashes": len(index)}
    for scan in ("faiss", "numpy"):
        index.use_faiss = scan == "faiss"
        try:
            index.search(query)  # builds the matrix (and the faiss index)
        except (ImportError, AttributeError):
            continue
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            found = index.search(query)
            times.append(time.perf_counter() - start)
        assert found and found[0].key == ("banked", 0), "the cropped copy was not found"
        out[f"{scan}_match_ms_median"] = round(statistics.median(times) * 1000, 3)
        out[f"{scan}_matches_per_s"] = round(1 / statistics.median(times), 2)
    return out


def robustness(originals: list[Any], strangers: list[Any]) -> dict[str, dict[str, float]]:
    banked = [np.asarray(image) for image in originals]
    whole = [hash_image(rgb).hex for rgb in banked]
    index = HashIndex()
    for i, rgb in enumerate(banked):
        index.add(i, [(h.region, h.hex) for h in bank_hashes(rgb)])

    def verdicts(image: Any) -> tuple[set[int], set[int], set[Hashable]]:
        rgb = decode_image(encode(image, "JPEG", 85)).rgb
        hashes = query_hashes(rgb)
        alone = {i for i, h in enumerate(whole) if _distance(h, hashes[0].hex) <= MATCH_THRESHOLD}
        dihedral = {i for i, h in enumerate(whole)
                    if min(_distance(h, q.hex) for q in hashes[:8]) <= MATCH_THRESHOLD}
        ours = {m.key for m in index.search(hashes)}
        return alone, dihedral, ours

    table: dict[str, dict[str, float]] = {}
    n = len(originals)
    for name, alter in ALTERATIONS.items():
        hits = [verdicts(alter(image)) for image in originals]
        table[name] = {method: round(sum(i in found[k] for i, found in enumerate(hits)) / n, 3)
                       for k, method in enumerate(("pdq", "pdq_dihedral", "workbench"))}
    false = [verdicts(image) for image in strangers]
    table["unrelated_false_matches"] = {
        method: sum(len(found[k]) for found in false)
        for k, method in enumerate(("pdq", "pdq_dihedral", "workbench"))}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--bank", type=int, default=1_000_000,
                        help="random hashes in the bank the headline latency is measured at")
    parser.add_argument("--curve", default="10000,100000",
                        help="smaller banks also timed (the growth curve up to --bank)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    originals = [photograph(seed) for seed in range(args.images)]
    strangers = [photograph(seed) for seed in range(10_000, 10_000 + args.images)]
    figures: dict[str, Any] = {"images": args.images}
    figures["speed"] = speed([encode(image, "JPEG", 90) for image in originals])
    print("one process: " + ", ".join(f"{k} {v}" for k, v in figures["speed"].items()))
    sizes = sorted({int(n) for n in args.curve.split(",") if n} | {args.bank})
    curve = {}
    for size in sizes:
        lat = curve[size] = latency(originals, size, args.runs)
        print(f"match against {lat['bank_hashes']:,} hashes, ms median per image: "
              f"faiss {lat.get('faiss_match_ms_median', 'not installed')}, "
              f"numpy {lat['numpy_match_ms_median']}")
    figures["latency"] = curve[args.bank]
    # The growth curve: each bank's match time against the smallest bank's, same run.
    first = curve[sizes[0]]
    figures["latency_growth"] = {
        str(size): {**{k: lat[k] for k in lat if k.endswith("_match_ms_median")},
                    **{f"{k.removesuffix('_match_ms_median')}_ratio_to_{sizes[0]}":
                       round(lat[k] / first[k], 2) if first[k] else None
                       for k in lat if k.endswith("_match_ms_median")}}
        for size, lat in curve.items()}
    figures["robustness"] = robustness(originals, strangers)
    print(f"{'alteration':<24}{'pdq':>8}{'dihedral':>10}{'workbench':>11}")
    for name, row in figures["robustness"].items():
        print(f"{name:<24}{row['pdq']:>8}{row['pdq_dihedral']:>10}{row['workbench']:>11}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
