"""The whole-system soak with faults: the real system under a bounded load for N minutes
while workers are killed, Redis restarts, PostgreSQL becomes unreachable, platforms go
down or slow, and bad input arrives in bursts; then the ledger of every promise.

Run: ``make bench-soak`` or ``python bench/soak.py --minutes N`` (default 10). It starts
gunicorn, queue workers, a Redis server of its own on a free port, a scratch PostgreSQL
database (``SOAK_DATABASE_URL``, default ``workbench_soak`` on the local server) and three
platform webhook servers. The baseline is the same run's latency without faults.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.soak_harness import SoakConfig, run_soak  # noqa: E402
from bench.soak_harness.report import print_result  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/workbench_soak"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load")
    parser.add_argument("--keep", action="store_true",
                        help="keep the instance folder (process logs) and print where it is")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    instance = Path(tempfile.mkdtemp(prefix="workbench-soak-"))
    config = SoakConfig.long(args.minutes, os.environ.get("SOAK_DATABASE_URL", DEFAULT_DATABASE),
                             instance)
    result = run_soak(config)
    if args.keep:
        print(f"process logs: {instance}")
    print_result(result)
    return 1 if result.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
