"""The short soak: the whole system under load while every kind of fault happens once.

gunicorn, three queue workers, a Redis server of the soak's own, PostgreSQL and three
platform webhook servers run as separate processes; the load, the faults and the ledger
are ``bench.soak_harness``'s, shared with ``bench/soak.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak_harness import MUST_BE_ZERO, SoakConfig, run_soak
from bench.soak_harness.report import lines


@pytest.mark.slow
@pytest.mark.timeout(480)  # 2 min of load, up to 150 s of drain on a busy machine
def test_the_system_keeps_its_promises_while_things_break(soak_database_url: str,
                                                          tmp_path: Path) -> None:
    result = run_soak(SoakConfig.short(soak_database_url, tmp_path / "instance"))
    report = "\n".join(lines(result))
    print(report)  # shown by pytest when the test fails

    summary = result.summary()
    assert {name: summary[name] for name in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0), \
        report
    # Every fault of the cycle happened, and the load and the moderators did their part.
    assert {w.name for w in result.windows} == {
        "bad_input_burst", "kill_worker", "restart_redis", "postgres_unreachable",
        "platform_down", "platform_slow"}, report
    assert not any(w.note.startswith("failed") for w in result.windows), report
    assert result.ledger.facts["items_answered_202"] > 1000, report
    assert summary["enforcement"]["moderator_actions"] > 10, report
