"""A worker starts ready: what every classify job needs is loaded before it forks a
child per job, and a database outage at start does not stop it.

Found by the soak: each forked job loaded py3langid's model again (about 2 s on a busy
machine), so a batch of 20 messages took 3 to 5 s and the classify queue fell behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import redis
from flask import Flask

from classifiers import language
from queues.worker import _warm_up, run_worker
from tests.support.app import TEST_SECRET_KEY
from workbench.app import create_app


def test_a_forked_job_finds_the_language_identifier_already_loaded(app: Flask) -> None:
    language._identifier.cache_clear()
    language.hinglish_words.cache_clear()
    assert not language.loaded()
    with app.app_context():
        _warm_up()
    pid = os.fork()
    if pid == 0:  # the job's child: it must not have to load the model itself
        os._exit(0 if language.loaded() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_forked_job_finds_the_lexicon_layer_already_loaded(app: Flask) -> None:
    """Each forked classify job imported the lexicon layer and built the lexicon again
    (about 60 ms per job, more than scoring 500 messages takes)."""
    from classifiers.lexicon import shipped_lexicon

    shipped_lexicon.cache_clear()
    with app.app_context():
        _warm_up()
    pid = os.fork()
    if pid == 0:
        loaded = ("classifiers.text_lexicon" in sys.modules
                  and shipped_lexicon.cache_info().currsize == 1)
        os._exit(0 if loaded else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_forked_job_finds_what_scoring_loads_on_first_use_already_loaded(app: Flask) -> None:
    """Found by profiling a classify worker: a forked job read the Unicode confusables
    (the homoglyph table) again for its first text outside ASCII (200 of the 470
    samples of jobs in a py-spy profile)."""
    from classifiers.normalise import homoglyph_table

    homoglyph_table.cache_clear()
    with app.app_context():
        _warm_up()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if homoglyph_table.cache_info().currsize == 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_worker_started_while_the_database_is_unreachable_serves_its_queues(
        tmp_path: Path, redis_url: str) -> None:
    """Found by the soak: a worker (re)started during a database outage crashed in its
    start-up sweep, and its supervisor restarted it again and again until the outage
    ended, each start costing the model loading."""
    redis.Redis.from_url(redis_url).flushdb()  # no job left from another test to run
    unreachable = create_app({"instance_dir": tmp_path / "instance", "redis_url": redis_url,
                              "database_url": f"sqlite:///{tmp_path / 'no' / 'such.db'}",
                              "secret_key": TEST_SECRET_KEY})
    with unreachable.app_context():
        assert run_worker(["intake"], burst=True) is False  # served, found nothing to do
