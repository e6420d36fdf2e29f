"""The worker's log leaves out the routine every-2-seconds sweep, never its failures."""

from __future__ import annotations

import logging

import pytest

from queues.worker import _quiet_routine_runs


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("rq.worker", level, __file__, 1, message, None, None)


@pytest.mark.parametrize(("level", "message", "shown"), [
    (logging.INFO, "enforce: queues.enforce.deliver_due() (periodic-deliver-due)", False),
    (logging.INFO, "Successfully completed queues.enforce.deliver_due() job in 0:00:00", False),
    (logging.INFO, "job periodic-deliver-due result is kept for 60 seconds", False),
    (logging.ERROR, "enforce: periodic-deliver-due failed: OperationalError", True),
    (logging.INFO, "intake: queues.jobs.process_batch(1) (batch-1)", True),
])
def test_only_the_routine_sweep_is_left_out(level: int, message: str, shown: bool) -> None:
    assert _quiet_routine_runs(_record(level, message)) is shown
