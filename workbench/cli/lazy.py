"""A command group that imports a subcommand's module only when that subcommand runs.

Click's pattern for lazily loading subcommands ("Lazily Loading Subcommands" in click's
documentation), with one addition: the group's ``--help`` lists each lazy command with a
summary given here, so listing them imports none (``tests/workbench/test_cli.py`` checks
each summary against its command's own).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import click

_LISTING = "workbench.cli.lazy.listing"


class LazyCommand(NamedTuple):
    """Where a subcommand lives (``"package.module:attribute"``) and its one-line help."""

    target: str
    summary: str


class LazyGroup(click.Group):
    """A group whose ``lazy_subcommands`` are imported on first use."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, LazyCommand] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_subcommands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_subcommands.get(cmd_name)
        if lazy is None:
            return super().get_command(ctx, cmd_name)
        if ctx.meta.get(_LISTING):
            # Only listed, with its summary: a stand-in, so that nothing is imported.
            return click.Command(cmd_name, help=lazy.summary)
        return self.load(cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        """Import the lazy subcommand ``cmd_name`` (once: Python keeps its module)."""
        module_name, attribute = self.lazy_subcommands[cmd_name].target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            del ctx.meta[_LISTING]
