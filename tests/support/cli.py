"""The ``workbench`` command line in tests: in a subprocess, as a person runs it, or in this
process with click's runner, which calls the same ``main`` without another start-up.

A test runs its first command in a subprocess (the entry point, argv, exit code and
standard error as a person sees them); the commands it runs after that (the same
command refusing bad input, a listing to check what it wrote) run in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from tests.support.app import TEST_SECRET_KEY, reset_tables
from workbench.cli import main


def cli_environment(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Empty tables, and this process's environment with the workbench's variables set."""
    reset_tables(database_url)
    return dict(os.environ, WORKBENCH_INSTANCE_DIR=str(tmp_path / "instance"),
                WORKBENCH_DATABASE_URL=database_url, WORKBENCH_REDIS_URL=redis_url,
                WORKBENCH_SECRET_KEY=TEST_SECRET_KEY)


def run(env: dict[str, str], *args: str, stdin: str = "", cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``workbench ARGS`` in a new process with the environment ``env``."""
    return subprocess.run([sys.executable, "-m", "workbench", *args], env=env, input=stdin,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def invoke(env: dict[str, str], *args: str, stdin: str = "") -> Result:
    """``workbench ARGS`` in this process, configured by the ``WORKBENCH_*`` of ``env``."""
    own = {k: v for k, v in env.items() if k.startswith("WORKBENCH_")}
    # What this process has and ``env`` lacks is unset while the command runs.
    unset: dict[str, str | None] = {k: None for k in os.environ
                                    if k.startswith("WORKBENCH_") and k not in own}
    return CliRunner().invoke(main, list(args), input=stdin, env={**unset, **own},
                              catch_exceptions=False)
