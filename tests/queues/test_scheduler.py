"""The scheduler runs once across machines: several tickers, each on its own Redis
connection (as on separate machines), against the real Redis server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from rq import Queue, get_current_job

from queues.names import QueueName
from queues.scheduler import LOCK_KEY, Periodic, Ticker
from tests.support.jobs import DrainWorker

RUNS_KEY = "test:scheduler:runs"
TICK_S = 0.05


def record_run() -> None:
    """The periodic job: note that it ran, and which ticker's enqueue it was."""
    job = get_current_job()
    assert job is not None
    job.connection.rpush(RUNS_KEY, json.dumps({"job": job.id, "at": time.time()}))


class CountingTicker(Ticker):
    """A ticker that remembers when it enqueued something, and when it took a period."""

    def __init__(self, connection: redis.Redis, jobs: list[Periodic], lock_s: float) -> None:
        super().__init__(connection, jobs, tick_s=TICK_S, lock_s=lock_s)
        self.enqueued: list[float] = []
        #: Each period taken: the time just before the claim was asked and just after it
        #: was answered. Redis took it somewhere between the two.
        self.claims: list[tuple[float, float]] = []

    def claim(self, job: Periodic) -> bool:
        before = time.monotonic()
        taken = super().claim(job)
        if taken:
            self.claims.append((before, time.monotonic()))
        return taken

    def tick(self) -> list[str]:
        names = super().tick()
        self.enqueued += [time.monotonic()] * len(names)
        return names

    def die(self) -> None:
        """Stop ticking without giving the lock back, as a killed process would."""
        self.stopping.set()
        self.join()


@pytest.fixture
def connect(redis_url: str) -> Iterator[object]:
    """New connections to an emptied Redis; each ticker gets its own, like a machine."""
    opened: list[redis.Redis] = []

    def new() -> redis.Redis:
        conn = redis.Redis.from_url(redis_url)
        opened.append(conn)
        return conn

    new().flushdb()
    yield new
    for conn in opened:
        conn.close()


def _drain(conn: redis.Redis) -> None:
    """Run what the tickers had enqueued by now, as a worker would.

    Bounded to the jobs waiting when it starts: with tickers running, a drain that waited
    for an empty queue never ends on a busy machine where each job takes longer than a
    period (it once took 145 s); what they enqueue meanwhile waits for the next drain.
    """
    waiting = Queue(QueueName.MAINTENANCE.value, connection=conn).count
    if waiting:
        DrainWorker([QueueName.MAINTENANCE.value], connection=conn).work(
            burst=True, max_jobs=waiting)


def _run(conn: redis.Redis, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _drain(conn)
        time.sleep(0.01)


def _runs(conn: redis.Redis) -> list[float]:
    return [json.loads(r)["at"] for r in conn.lrange(RUNS_KEY, 0, -1)]


def test_of_several_tickers_one_enqueues_each_period_once(connect) -> None:
    every_s, seconds = 0.5, 4.0
    jobs = [Periodic("probe", record_run, every_s)]
    tickers = [CountingTicker(connect(), jobs, lock_s=2.0) for _ in range(4)]
    started = time.monotonic()
    for t in tickers:
        t.start()
    worker_conn = connect()
    _run(worker_conn, seconds)
    for t in tickers:
        t.stop()
        t.join()
    ticked_s = time.monotonic() - started  # longer than `seconds` when the machine is busy
    _drain(worker_conn)
    by_ticker = [len(t.enqueued) for t in tickers]
    # One ticker does the work while it holds the lock, but a holder whose thread does not
    # run for the lock's lifetime (a loaded machine can starve a thread for 2 s) loses it to
    # another by design. What must hold across all of them is the claim: one a period.
    enqueued = sorted(at for t in tickers for at in t.enqueued)
    claims = sorted(c for t in tickers for c in t.claims)
    # Never twice in one period. Each claim happened inside its (before, after) window,
    # so of two claims Redis took a period apart, the later one's "after" less the
    # earlier one's "before" is at least that period: that bound is what can be checked
    # on a busy machine, where a thread may wait any time between a claim and its next
    # line (times taken after each tick were once 0.42 s apart with claims a period apart).
    # Which of two claims from different tickers came first is not known, so each pair is
    # checked both ways.
    for i, (before_i, after_i) in enumerate(claims):
        for before_j, after_j in claims[i + 1:]:
            assert max(after_j - before_i, after_i - before_j) >= every_s - TICK_S, (
                by_ticker, claims)
    # At most one a period of the time the tickers really ran (plus the first at once);
    # at least every other period even on a loaded machine, where a run can still be
    # waiting at the next tick.
    assert seconds / every_s / 2 <= len(enqueued) <= ticked_s / every_s + 1, (ticked_s, enqueued)
    assert len(_runs(worker_conn)) == len(enqueued)  # and each enqueue ran once


def test_when_the_holder_dies_another_ticker_takes_over_within_the_lock_lifetime(connect) -> None:
    lock_s, every_s = 1.0, 0.3
    jobs = [Periodic("probe", record_run, every_s)]
    tickers = [CountingTicker(connect(), jobs, lock_s=lock_s) for _ in range(3)]
    for t in tickers:
        t.start()
    worker_conn = connect()
    _run(worker_conn, 1.0)
    token = worker_conn.get(LOCK_KEY)
    holder = next(t for t in tickers if t.token.encode() == token)
    assert holder.enqueued, "the holder has been enqueueing"
    holder.die()
    died = time.monotonic()
    taken_over = None
    while time.monotonic() < died + lock_s + 3.0:
        _drain(worker_conn)
        token = worker_conn.get(LOCK_KEY)
        if taken_over is None and token not in (None, holder.token.encode()):
            taken_over = time.monotonic()
        time.sleep(0.01)
    for t in tickers:
        t.stop()
        t.join()
    assert taken_over is not None, "nobody took the lock over"
    # Not before the dead holder's lock ran out (it was extended a tick or so before the
    # death), and soon after: its lifetime, plus the next tick of a ticker thread, which
    # on a busy shared machine may come late.
    assert lock_s - 0.3 <= taken_over - died <= lock_s + 1.5, taken_over - died
    assert not [at for at in holder.enqueued if at > died]
    successors = [t for t in tickers if t is not holder and t.enqueued]
    assert len(successors) == 1 and successors[0].enqueued[0] >= died + lock_s - 0.3


def test_a_holder_paused_past_its_lock_enqueues_nothing_when_it_wakes(connect) -> None:
    lock_s, every_s = 2.0, 0.2
    jobs = [Periodic("probe", record_run, every_s)]
    paused, other = (Ticker(connect(), jobs, tick_s=TICK_S, lock_s=lock_s) for _ in range(2))
    worker_conn = connect()
    assert paused.tick() == ["probe"]
    assert other.tick() == []  # the lock is the paused one's
    _drain(worker_conn)
    while worker_conn.exists(LOCK_KEY):  # the pause outlasts the lock
        time.sleep(0.05)
    assert other.tick() == ["probe"]
    _drain(worker_conn)
    time.sleep(every_s)
    # Waking up, the paused ticker neither holds the lock nor may claim a period, even on
    # the path where it had already checked the lock just before it paused.
    assert paused.tick() == []
    assert not paused.claim(jobs[0])
    assert other.tick() == ["probe"]
    _drain(worker_conn)
    assert len(_runs(worker_conn)) == 3


def test_a_new_holder_keeps_the_schedule_instead_of_running_everything_at_once(connect) -> None:
    jobs = [Periodic("probe", record_run, 2.0)]
    first, second = (Ticker(connect(), jobs, tick_s=TICK_S, lock_s=0.3) for _ in range(2))
    worker_conn = connect()
    assert first.tick() == ["probe"]
    enqueued = time.monotonic()
    _drain(worker_conn)
    time.sleep(0.4)  # the first holder is gone; its lock has expired
    assert second.holds_lock()
    while second.tick() == []:
        time.sleep(TICK_S)
    assert time.monotonic() - enqueued >= 2.0 - TICK_S


def test_stopping_hands_the_lock_over_at_once_and_never_frees_anothers(connect) -> None:
    jobs = [Periodic("probe", record_run, 60.0)]
    a, b, c = (Ticker(connect(), jobs, tick_s=TICK_S, lock_s=30.0) for _ in range(3))
    assert a.holds_lock() and not b.holds_lock()
    b.stop()  # not the holder: the lock stays a's
    assert not c.holds_lock()
    a.stop()
    assert b.holds_lock() or c.holds_lock()


def test_ticking_survives_a_redis_outage_and_resumes(connect) -> None:
    jobs = [Periodic("probe", record_run, 0.2)]
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    ticker = Ticker(dead, jobs, tick_s=TICK_S)
    ticker.start()  # every tick fails to connect; the thread logs and carries on
    time.sleep(5 * TICK_S)
    assert ticker.is_alive()
    ticker.stop()
    ticker.join()
    worker_conn = connect()
    assert Ticker(connect(), jobs, tick_s=TICK_S).tick() == ["probe"]
    _drain(worker_conn)
    assert len(_runs(worker_conn)) == 1


def test_an_inline_task_runs_in_the_ticker_once_a_period_and_its_failure_stops_nothing(
        connect) -> None:
    calls: list[redis.Redis] = []

    def note(conn: redis.Redis) -> None:
        calls.append(conn)

    def broken(conn: redis.Redis) -> None:
        raise ValueError("a bug in a periodic task")

    conn = connect()
    ticker = Ticker(conn, [Periodic("broken", broken, 60.0, inline=True),
                           Periodic("note", note, 60.0, inline=True)], tick_s=TICK_S)
    assert ticker.tick() == ["broken", "note"]
    assert calls == [conn]  # given the ticker's connection, run here: nothing enqueued
    assert conn.llen(f"rq:queue:{QueueName.MAINTENANCE.value}") == 0
    assert ticker.tick() == []  # its period is spent


def test_a_periodic_job_whose_worker_died_before_starting_it_is_enqueued_again(
        connect, monkeypatch: pytest.MonkeyPatch) -> None:
    """A periodic job that says "queued" blocks its next enqueue; one whose worker took it
    off the queue and died before starting it would have blocked it for ever."""
    import queues.abandoned

    conn = connect()
    queue_key = f"rq:queue:{QueueName.MAINTENANCE.value}"
    # A period of a millisecond: only the waiting job can hold the next enqueue back.
    ticker = Ticker(conn, [Periodic("probe", record_run, TICK_S / 2)], tick_s=TICK_S)
    assert ticker.tick() == ["probe"]
    assert conn.lpop(queue_key) == b"periodic-probe"  # taken by a worker that then died
    assert ticker.tick() == []  # seen out of its queue once: a live worker may be starting it
    monkeypatch.setattr(queues.abandoned, "STRANDED_AFTER_S", 0)
    deadline = time.monotonic() + 30
    while (enqueued := ticker.tick()) == []:
        assert time.monotonic() < deadline, "the stranded job was never enqueued again"
        time.sleep(0.01)
    assert enqueued == ["probe"] and conn.lrange(queue_key, 0, -1) == [b"periodic-probe"]
    _drain(conn)
    assert len(_runs(conn)) == 1
