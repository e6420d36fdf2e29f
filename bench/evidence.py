"""Benchmark evidence bundles: build time and peak memory of a large bundle.

A person with 100,000 messages (sent and received, across 500 conversations) and 200
recordings is exported (person scope) into a BagIt zip, streaming. Each build runs
in this process; the figures are medians over several runs:

- build time (request to stored archive, certificate included);
- peak memory: the tracemalloc peak (Python allocations, measured in runs of their
  own, since tracing slows the build) and the growth of the resident set (VmHWM after
  the build minus VmRSS before it, with the high-water mark reset first), for the
  measured builds and for the first build in the process (imports and caches included);
- a baseline in the same run: the time to read the same message rows (same query,
  streamed, nothing written) and copy the same audio blobs to a scratch folder.

Needs PostgreSQL: ``BENCH_EVIDENCE_DATABASE_URL`` (default: database
``workbench_bench_evidence`` on the local server, dropped and recreated).
Run: ``python bench/evidence.py [--messages 100000] [--recordings 200] [--runs 3]``.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import wave
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bench.harness import SECRET_KEY, print_json, print_table  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/workbench_bench_evidence"
CONVERSATIONS = 500


def reset_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from workbench import database

    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    database.upgrade(parsed.render_as_string(hide_password=False))


def wav_bytes(seconds: float, seed: int) -> bytes:
    """A distinct 16 kHz mono WAV (noise), so every recording is its own blob."""
    import io

    samples = (np.random.default_rng(seed).normal(0, 3000, int(16000 * seconds))
               .astype("<i2").tobytes())
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples)
    return out.getvalue()


def seed(session: Any, store: Any, messages: int, recordings: int) -> dict[str, int]:
    """The subject, their counterparts, the messages and recordings; returns ids."""
    import io

    from workbench.models import Account, Conversation, Message, Person, Recording, utcnow
    from workbench.platforms import register_platform
    from workbench.staff import create_moderator

    register_platform(session, SECRET_KEY, "calls", secret="bench-secret-0123456789")
    legal = create_moderator(session, "legal@bench.local", "bench-password-1", "legal")
    now = utcnow()
    people = [Person(created_at=now) for _ in range(CONVERSATIONS + 1)]
    session.add_all(people)
    session.flush()
    accounts = [Account(platform_id=1, platform_user_id=f"user-{i}", person_id=p.id,
                        username=f"user {i}", status="active") for i, p in enumerate(people)]
    session.add_all(accounts)
    session.flush()
    conversations = [Conversation(platform_id=1, platform_conversation_id=f"c{i}",
                                  created_at=now) for i in range(CONVERSATIONS)]
    session.add_all(conversations)
    session.flush()
    subject = accounts[0].id
    start = now - timedelta(days=30)
    rows = []
    for i in range(messages):
        other = accounts[1 + i % CONVERSATIONS].id
        sender, recipient = (subject, other) if i % 2 else (other, subject)
        rows.append({"platform_id": 1, "platform_message_id": f"m{i}",
                     "conversation_id": conversations[i % CONVERSATIONS].id,
                     "sender_account_id": sender, "recipient_account_id": recipient,
                     "text": f"message {i}: " + "lorem ipsum dolor sit amet " * 3,
                     "sent_at": start + timedelta(seconds=i), "received_at": now,
                     "status": "processed"})
        if len(rows) == 5000:
            session.execute(insert(Message), rows)
            rows.clear()
    if rows:
        session.execute(insert(Message), rows)
    for i in range(recordings):
        sha, size = store.put_stream(io.BytesIO(wav_bytes(10.0, i)))
        session.add(Recording(platform_id=1, platform_recording_id=f"r{i}",
                              owner_account_id=subject, kind="call", blob_sha256=sha,
                              format="wav", size_bytes=size, duration_s=10.0,
                              transcript=f"transcript {i}", status="processed",
                              recorded_at=start, received_at=now))
    session.commit()
    return {"legal": legal.id, "person": people[0].id}


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(fn: Callable[[], object]) -> tuple[float, float]:
    """(seconds, resident growth in MiB) of one call, with the high-water mark reset."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _rss_kib("VmRSS")
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    return elapsed, (_rss_kib("VmHWM") - before) / 1024


def traced_peak(fn: Callable[[], object]) -> float:
    """The tracemalloc peak of one call, in MiB."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


class Workload:
    """The two things timed: building the bundle, and the baseline (read and copy only)."""

    def __init__(self, session: Any, store: Any, ids: dict[str, int], scratch: Path) -> None:
        self.session, self.store, self.ids, self.scratch = session, store, ids, scratch
        self.sizes: list[int] = []

    def build(self) -> None:
        from actions.evidence import build_export, request_export

        export = request_export(self.session, "person", self.ids["person"], "benchmark",
                                "BENCH-1", self.ids["legal"])
        self.session.commit()
        export = build_export(self.session, self.store, export.id, workdir=self.scratch)
        self.sizes.append(export.archive_size or 0)
        self.session.expunge_all()

    def baseline(self) -> None:
        from sqlalchemy import select

        from actions.evidence.collect import message_filter, select_content
        from actions.evidence.scope import person_scope
        from workbench.models import Message, Recording

        scope = person_scope(self.session, self.ids["person"])
        content = select_content(self.session, scope)
        for _ in self.session.execute(select(Message).where(message_filter(scope, content))
                                      .execution_options(yield_per=1000)).scalars():
            pass
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        for sha in self.session.scalars(select(Recording.blob_sha256)):
            with self.store.open(sha) as src, (folder / sha).open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        shutil.rmtree(folder)
        self.session.expunge_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--recordings", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_EVIDENCE_DATABASE_URL", DEFAULT_DATABASE)

    from workbench.app import create_app
    from workbench.extensions import db
    from workbench.storage import blob_store

    reset_database(url)
    scratch = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    app = create_app({"database_url": url, "secret_key": SECRET_KEY,
                      "instance_dir": scratch / "instance"})
    with app.app_context():
        store = blob_store(app.extensions["workbench.settings"])
        started = time.perf_counter()
        ids = seed(db.session, store, args.messages, args.recordings)
        seed_s = time.perf_counter() - started
        work = Workload(db.session, store, ids, scratch)
        # The first build warms up imports, caches and the database's buffers; its resident
        # growth is what a fresh worker pays once.
        first = measure(work.build)
        builds = [measure(work.build) for _ in range(args.runs)]
        bases = [measure(work.baseline) for _ in range(args.runs)]
        build_peaks = [traced_peak(work.build) for _ in range(args.runs)]
        base_peaks = [traced_peak(work.baseline) for _ in range(args.runs)]
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(scratch, ignore_errors=True)
    report(args, seed_s, first, builds, bases, build_peaks, base_peaks, work.sizes[-1])


def report(args: argparse.Namespace, seed_s: float, first: tuple[float, float],
           builds: list[tuple[float, float]],
           bases: list[tuple[float, float]], build_peaks: list[float],
           base_peaks: list[float], archive_size: int) -> None:
    med = statistics.median
    figures = {
        "messages": args.messages, "recordings": args.recordings, "runs": args.runs,
        "archive_mib": round(archive_size / 2**20, 1), "seed_s": round(seed_s, 1),
        "build_s": round(med(b[0] for b in builds), 2),
        "baseline_s": round(med(b[0] for b in bases), 2),
        "build_rss_growth_mib": round(med(b[1] for b in builds), 1),
        "first_build_s": round(first[0], 2),
        "first_build_rss_growth_mib": round(first[1], 1),
        "baseline_rss_growth_mib": round(med(b[1] for b in bases), 1),
        "build_tracemalloc_peak_mib": round(med(build_peaks), 1),
        "baseline_tracemalloc_peak_mib": round(med(base_peaks), 1),
    }
    figures["build_vs_baseline"] = round(figures["build_s"] / figures["baseline_s"], 2)
    print_table(f"Evidence bundle: {args.messages:,} messages, {args.recordings} recordings "
                f"(median of {args.runs})", [
                    ("build (request to stored archive)", f"{figures['build_s']} s"),
                    ("baseline (read the rows, copy the blobs)", f"{figures['baseline_s']} s"),
                    ("build / baseline", f"{figures['build_vs_baseline']}x"),
                    ("build: tracemalloc peak", f"{figures['build_tracemalloc_peak_mib']} MiB"),
                    ("baseline: tracemalloc peak",
                     f"{figures['baseline_tracemalloc_peak_mib']} MiB"),
                    ("build: resident growth", f"{figures['build_rss_growth_mib']} MiB"),
                    ("first build in the process: resident growth",
                     f"{figures['first_build_rss_growth_mib']} MiB"),
                    ("baseline: resident growth", f"{figures['baseline_rss_growth_mib']} MiB"),
                    ("archive", f"{figures['archive_mib']} MiB"),
                ])
    print_json(figures)


if __name__ == "__main__":
    main()
