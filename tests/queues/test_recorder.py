"""The worker's delivery recorder: it waits on answers, and sleeps when there are none.

An idle worker's recorder once looped without pause: with nothing handed off, the
sender's ``take_finished`` returned at once instead of waiting, and the next look began,
keeping a whole core busy in every worker that had sent a delivery (found measuring the
suite's CPU: the soak's three idle workers used about a core each).
"""

from __future__ import annotations

import threading
import time

from flask import Flask

from queues.enforce import Recorder, delivery_policy, sender


class CountingRecorder(Recorder):
    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.looks = 0
        self.cpu_s = 0.0

    def run(self) -> None:
        started = time.thread_time()
        try:
            super().run()
        finally:
            self.cpu_s = time.thread_time() - started

    def record(self, wait_s: float) -> bool:
        self.looks += 1
        return super().record(wait_s)


def test_an_idle_recorder_sleeps_between_looks(app: Flask) -> None:
    with app.app_context():
        own = sender(delivery_policy())  # this process has a sender, with nothing handed off
    assert own.handed_off() == 0
    recorder = CountingRecorder(app)
    recorder.start()
    window = threading.Event()
    window.wait(2.0)  # the window the looks are counted in (not a wait for a condition)
    recorder.stopping.set()
    recorder.join(timeout=30)
    assert not recorder.is_alive()
    # One look per poll interval at most (a busy machine gives fewer, never more).
    assert recorder.looks <= 2.0 / Recorder.poll_s + 2, recorder.looks
    assert recorder.cpu_s < 0.5, recorder.cpu_s
