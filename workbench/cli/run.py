"""The commands that serve the app or run its jobs: ``serve``, ``worker`` and ``demo``.

They build the whole app (``workbench.app.create_app``), so they live apart from the
commands that need only the database (imported lazily by ``workbench.cli``).
"""

from __future__ import annotations

import sys

import click

from queues.worker import run_worker
from workbench.app import create_app
from workbench.cli import build_app, demo_size_options
from workbench.current import settings
from workbench.demo import run_demo
from workbench.demo.seed import DemoSize
from workbench.metrics import multiprocess
from workbench.serving import run_gunicorn
from workbench.settings import SETTINGS_KEY


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option("--control-socket", default=None, metavar="PATH",
              help="gunicorn's control socket for this instance (default: none)")
def serve(host: str, port: int, workers: int, access_log: bool,
          control_socket: str | None) -> None:
    """Serve the console and the API with gunicorn (a production WSGI server)."""

    app = build_app(create_app)  # fail fast on bad configuration, with one line
    # Before gunicorn forks its workers, so that one scrape adds up all of them.
    multiprocess.start(app.extensions[SETTINGS_KEY].metrics_dir, "web")
    run_gunicorn(host, port, workers, access_log=access_log, control_socket=control_socket)


@click.command()
@click.option("--queues", "queue_names", help="Comma-separated queues, highest priority first.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queue_names: str | None, burst: bool) -> None:
    """Run a queue worker."""
    # The whole app: jobs run in its context (queues.context).
    with build_app(create_app).app_context():
        # Before the first job: its figures join the web processes' at /metrics.
        multiprocess.start(settings().metrics_dir, "worker")
        names = [q.strip() for q in queue_names.split(",")] if queue_names else None
        run_worker(names, burst=burst)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--exit-after-start", is_flag=True, help="Stop once the console answers.")
@demo_size_options
def demo(host: str, port: int, exit_after_start: bool, people: int, messages: int,
         reports: int) -> None:
    """Migrate, seed (once) and run the console with a worker; Ctrl-C stops it all."""
    # The demo's platforms are its own webhook sink, on this machine over plain HTTP.
    app = build_app(create_app, {"allow_private_webhooks": True, "allow_http_webhooks": True})
    size = DemoSize(people=people, messages=messages, reports=reports)
    sys.exit(run_demo(app, host, port, size=size, exit_after_start=exit_after_start))
