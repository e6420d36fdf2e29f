"""When and from which commit a benchmark ran, for figures written down elsewhere."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_stamp() -> dict[str, str]:
    """UTC time of the run and the commit of the code (``+changes`` if the tree is dirty)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+changes"
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit}
