"""Serving the app with gunicorn, from the CLI and the demo."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from workbench.app import create_app

        return create_app()


def run_gunicorn(host: str, port: int, workers: int, *, access_log: bool = True) -> None:
    """Serve until stopped (SIGINT or SIGTERM stop it gracefully)."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "worker_class": "gthread",
            "timeout": 120,
            "graceful_timeout": 10,
            "accesslog": "-" if access_log else None,
            "loglevel": "info",
        }
    ).run()
