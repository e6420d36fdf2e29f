"""What the running app holds for the code that serves it: its settings."""

from __future__ import annotations

from flask import current_app

from workbench.settings import SETTINGS_KEY, Settings


def settings() -> Settings:
    """The running app's settings (needs an app context)."""
    value: Settings = current_app.extensions[SETTINGS_KEY]
    return value
