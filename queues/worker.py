"""Starting a queue worker inside the app's context."""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import signal
import threading
import time
from typing import Any

import redis
from flask import current_app
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.worker import SHUTDOWN_SIGNAL, BaseWorker, WorkerStatus
from sqlalchemy.exc import DBAPIError, OperationalError

from classifiers import language
from queues.context import job_app, use_app
from queues.enforce import Recorder, delivery_policy
from queues.names import PRIORITY_ORDER, QueueName
from queues.scheduler import Ticker, periodic_jobs
from queues.sweep import sweep
from workbench.cases.review import warm_review_model
from workbench.cases.scoring import text_model
from workbench.current import redis_connection, settings
from workbench.extensions import db
from workbench.metrics import multiprocess
from workbench.metrics.definitions import JOB_SECONDS, JOBS_RUNNING
from workbench.settings import Settings

log = logging.getLogger(__name__)

#: Queues whose jobs run in the worker's own process instead of a forked child. Their
#: jobs are short and mostly wait on the network or the database; a fork per job costs
#: more than the job, and a long-lived process keeps its HTTP and database connections
#: open and SQLAlchemy's compiled statements (a forked intake job compiled each of its
#: statements again: a quarter of its samples in a py-spy profile of bench/ingest.py).
IN_PROCESS_QUEUES = frozenset({QueueName.ENFORCE.value, QueueName.INTAKE.value})

#: Linux's prctl option: the signal a process gets when the one that forked it dies.
PR_SET_PDEATHSIG = 1


class PromptUnsubscribe(BaseWorker):
    """A worker whose command channel lets go within a quarter second when it stops.

    RQ listens on its pubsub channel in a thread that waits up to 60 s at a time, and
    redis-py's ``PubSubWorkerThread.stop()`` joins that thread: a worker that stops
    before the subscription is confirmed (a burst worker with little to do, every time a
    worker is restarted) waits out the whole minute. Measured here: 1 burst run in 150
    took 60.0 s, every other under 0.03 s.
    """

    #: The longest the pubsub thread waits for a message, so the longest a stop waits.
    pubsub_wait_s: float = 0.25

    def subscribe(self) -> None:
        self.log.info("Worker %s: subscribing to channel %s", self.name,
                      self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ's __init__ sets the attribute to None, which mypy takes for its type.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=self.pubsub_wait_s, daemon=True,
            exception_handler=self._pubsub_exception_handler)


class CountedJobs(BaseWorker):
    """Times every job (``workbench_job_seconds``) and counts those running."""

    def perform_job(self, job: Job, queue: Queue) -> bool:
        running = JOBS_RUNNING.labels(queue.name)
        running.inc()
        started = time.perf_counter()
        ok = False
        try:
            ok = bool(super().perform_job(job, queue))
            return ok
        finally:
            running.dec()
            JOB_SECONDS.labels(queue.name, _job_name(job), "finished" if ok else "failed") \
                .observe(time.perf_counter() - started)


def _job_name(job: Job) -> str:
    """The job's function, without its module: ``process_batch``, ``send_deliveries``."""
    try:
        return str(job.func_name).rsplit(".", 1)[-1]
    except Exception:  # noqa: BLE001 - a job whose data cannot be read still counts
        return "unknown"


class BurstWorker(CountedJobs, PromptUnsubscribe, SimpleWorker):
    """RQ's ``SimpleWorker`` (jobs in this process) that stops promptly: what the tests
    use to drain queues in burst mode.

    The mixins derive from RQ's ``BaseWorker``, not its forking ``Worker``: were it
    before ``SimpleWorker`` in this class's order, its ``execute_job`` would fork a
    child per job after all.
    """


class WorkbenchWorker(CountedJobs, PromptUnsubscribe, Worker):
    """RQ's forking worker, except for the queues in ``in_process_queues``.

    A job from those runs as RQ's ``SimpleWorker`` runs every job: in this process, with
    the same timeout (a signal), and a thread that heartbeats for it while it runs. If
    the process dies mid-job, the job is handed back within a minute (queues.abandoned)
    and its deliveries stay leased in the database until the lease runs out, then go
    again.
    """

    in_process_queues: frozenset[str] = IN_PROCESS_QUEUES

    def __init__(self, *args: Any, heartbeat_grace_s: int = Settings.job_heartbeat_grace_s,
                 **kwargs: Any) -> None:
        kwargs.setdefault("job_monitoring_interval", Settings.job_heartbeat_s)
        super().__init__(*args, **kwargs)
        self.heartbeat_grace_s = heartbeat_grace_s

    def execute_job(self, job: Job, queue: Queue) -> None:
        if queue.name not in self.in_process_queues:
            try:
                super().execute_job(job, queue)
            finally:
                # The child has exited, however it ended: its live gauges go.
                multiprocess.job_process_ended(os.getpid())
            return
        self.prepare_execution(job)
        beating = _Heartbeats(self, job)
        beating.start()
        try:
            self.perform_job(job, queue)
        finally:
            beating.stop()
            _end_session()
        self.set_state(WorkerStatus.IDLE)

    def get_heartbeat_ttl(self, job: Job) -> int:
        # As RQ's, but with a shorter grace than its 60 s (job_heartbeat_grace_s), so that
        # the scheduler's holder finds a job whose worker died (queues.abandoned) within a
        # minute. A job run in this process is beaten for by a thread (_Heartbeats), as a
        # forked one is by this process while it waits for the child.
        every: int = self.job_monitoring_interval
        if job.origin not in self.in_process_queues and job.timeout and job.timeout > 0:
            every = int(min(job.timeout - self.current_job_working_time, every))
        return every + self.heartbeat_grace_s

    def kill_horse(self, sig: signal.Signals = SHUTDOWN_SIGNAL) -> None:
        # With no horse, RQ's forking worker would signal its own process group (pid 0):
        # a job running in this process is left to finish, as RQ's SimpleWorker does.
        if self.horse_pid:
            super().kill_horse(sig)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # The child must not use the database connections this process keeps for its
        # own jobs: drop them from the child's pool without closing them.
        from workbench.extensions import db

        # A job's child finishes its job even if the worker dies meanwhile, as it always
        # did: unlike the worker's other children it does not end with the worker
        # (``_die_with_the_worker``).
        _set_parent_death_signal(0)
        # Count in this worker's shared job files, not a new set per child (per job).
        multiprocess.count_as_job_process(os.getppid())
        with job_app().app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)
        super().main_work_horse(job, queue)


class _Heartbeats(threading.Thread):
    """Keeps a job that runs in the worker's own process marked alive while it runs.

    Without it nothing beats until the job ends, so its entry in the started registry
    had to outlast the job's whole timeout, and a worker that died mid-job left the job
    (a periodic ``deliver-due`` among them, which is not enqueued again while it counts
    as started) waiting minutes to be handed back.
    """

    def __init__(self, worker: WorkbenchWorker, job: Job) -> None:
        super().__init__(name=f"heartbeat-{job.id}", daemon=True)
        # The execution is kept here: the worker lets go of its own when the job ends,
        # which may be while this thread is beating.
        self.worker, self.job, self.execution = worker, job, worker.execution
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.worker.job_monitoring_interval):
            try:
                self.beat()
            except (redis.RedisError, OSError) as exc:
                log.warning("heartbeat for job %s failed: %s", self.job.id, exc)

    def beat(self) -> None:
        """Extend the worker's and the job's lives; an ended job's entry is not re-added."""
        worker = self.worker
        ttl = worker.get_heartbeat_ttl(self.job)
        with worker.connection.pipeline() as pipe:
            worker.heartbeat(worker.job_monitoring_interval + 60, pipeline=pipe)
            if self.execution is not None:
                self.execution.heartbeat(self.job.started_job_registry, ttl, pipeline=pipe)
            pipe.execute()

    def stop(self) -> None:
        self.done.set()
        self.join()


@functools.cache
def _prctl() -> Any:
    """libc's ``prctl`` (looked up once per process), or None where there is none."""
    return getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


def _set_parent_death_signal(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies (0: none);
    nothing on a system without ``prctl``."""
    prctl = _prctl()
    if prctl is not None and prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())


#: Processes whose children end with them (``_children_die_with_this_process``), and the
#: process that made the latest fork (copied into the child, which so knows its parent).
_DYING_WITH: set[int] = set()
_FORKED_BY = [0]


def _children_die_with_this_process() -> None:
    """Every process forked from this one from now on ends when this one ends (once per
    process; a job's child undoes it, see ``main_work_horse``)."""
    me = os.getpid()
    if me not in _DYING_WITH:
        _DYING_WITH.add(me)
        _prctl()  # looked up here, so that each child finds it already
        os.register_at_fork(before=_note_forker,
                            after_in_child=functools.partial(_die_with_the_worker, me))


def _note_forker() -> None:
    _FORKED_BY[0] = os.getpid()


def _die_with_the_worker(worker_pid: int) -> None:
    """In a process the worker forks (RQ's scheduler): end when the worker ends.

    A forked child shares the worker's open sockets, its database connections among
    them. Killed mid-job, the worker would leave its transaction, and the row locks it
    holds, open for as long as its scheduler lived (PostgreSQL sees no end of a
    connection one process still holds), and the job's redo would wait behind them. The
    scheduler also kept the scheduling lock, so no other worker's took over.
    """
    if _FORKED_BY[0] != worker_pid:  # forked by another process (a job's child)
        return
    _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the signal was asked for
        os._exit(0)


def _end_session() -> None:
    """End the session a job ran in this process used, whatever became of it.

    Jobs run here share this process's app context, so its session outlives each job;
    one whose connection the database ended mid-transaction (an outage, a restart) would
    otherwise leave it unusable ("Can't reconnect until invalid transaction is rolled
    back") and fail every job after it. Its connection goes back to the pool.
    """


    try:
        db.session.remove()
    except DBAPIError as exc:
        log.warning("database connection lost after a job: %s", exc.orig)
        db.session.remove()


def _quiet_routine_runs(record: logging.LogRecord) -> bool:
    """Drop RQ's INFO lines about the sweep that runs every 2 s; its failures still show."""
    return record.levelno > logging.INFO or "deliver-due" not in record.getMessage() \
        and "deliver_due()" not in record.getMessage()


def run_worker(names: list[str] | None = None, *, burst: bool = False) -> bool:
    """Serve the queues (all, most urgent first, unless ``names`` says which) until stopped."""
    valid = [q.value for q in QueueName]
    chosen = names or [q.value for q in PRIORITY_ORDER]
    unknown = sorted(set(chosen) - set(valid))
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(valid)}")
    # Jobs run here or in forked children; both use this process's app (queues.context).
    use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    _children_die_with_this_process()
    conn = redis_connection()
    if QueueName.CLASSIFY.value in chosen:
        _warm_up()
    # What is loaded now stays for the process's life: out of the collector's sight, so
    # a job's child does not walk (and so copy) every page of it on its first collection.
    gc.freeze()
    _catch_up()
    ticker = None
    if not burst:
        ticker = Ticker(conn, periodic_jobs())
        ticker.start()
    recorder = None
    if QueueName.ENFORCE.value in chosen:
        recorder = Recorder(current_app._get_current_object())  # type: ignore[attr-defined]
        recorder.start()
    s = settings()
    worker = WorkbenchWorker([Queue(n, connection=conn) for n in chosen], connection=conn,
                             job_monitoring_interval=s.job_heartbeat_s,
                             heartbeat_grace_s=s.job_heartbeat_grace_s)
    logging.getLogger("rq.worker").addFilter(_quiet_routine_runs)
    log.info("worker serving %s", ", ".join(chosen))
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        if ticker is not None:
            ticker.stop()
        if recorder is not None:
            recorder.stop(drain_s=delivery_policy().timeout_s)


#: Texts a classify worker scores before it forks (``_warm_up``): English, Hinglish,
#: Devanagari, look-alike letters, and an insult (so that explaining runs too).
WARM_UP_TEXTS = ("hello, how are you?", "tu kahan hai yaar, call kar",
                 "\u0924\u0941\u092e \u0915\u0939\u093e\u0901 \u0939\u094b?",
                 "\uff48\uff45\uff4c\uff4c\uff4f \u0430\u0440\u0440", "you are an idiot")


def _warm_up() -> None:
    """Load the text model, its lexicon layer, the language identifier and the review
    model before forking, so each job's child starts with them loaded (loading them costs
    seconds, in every child; the lexicon layer alone about 60 ms; of the review model,
    its parts and libraries: each child builds its torch network, ``warm_review_model``)."""

    try:
        model = text_model(settings())
        language.warm_up()
        # Whatever scoring loads on first use, loaded here too: the homoglyph table
        # (a job's child read it again for its first text outside ASCII: 200 of the 470
        # samples of jobs in a py-spy profile of a worker), the patterns.
        for scores, text in zip(model.score(list(WARM_UP_TEXTS)), WARM_UP_TEXTS, strict=True):
            for label in model.flagged(scores):
                model.explain_spans(text, label)
    except Exception as exc:  # noqa: BLE001 - a missing model must not stop the worker
        log.warning("text model not preloaded: %s", exc)
    if settings().review_text_model:
        try:
            warm_review_model(settings())
        except Exception as exc:  # noqa: BLE001 - as above
            log.warning("review model not preloaded: %s", exc)


def _catch_up() -> None:
    """At start, enqueue whatever the outbox holds (work that waited out a Redis outage).

    A database that cannot be reached yet does not stop the worker: it serves the queues
    and the periodic sweep catches up once the database is back.
    """


    try:
        sweep()
    except (redis.RedisError, OSError, OperationalError) as exc:
        db.session.rollback()
        log.warning("start-up sweep skipped: %s", exc)
