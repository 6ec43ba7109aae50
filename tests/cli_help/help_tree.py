"""The click tree Typer builds from yunying's CLI, walked: every command path, its parameters and its context."""
from __future__ import annotations

import typer

from yunying.cli import app


def walk():
    """(path, command, context) for every command, group and sub-command; the root's path is ("yunying",)."""
    out = []

    def visit(cmd, path, parent):
        ctx = typer.Context(cmd, info_name=path[-1] if path else "yunying", parent=parent)
        out.append((path or ("yunying",), cmd, ctx))
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            visit(sub, (*path, name), ctx)

    visit(typer.main.get_command(app), (), None)
    return out


def shown_params(cmd, ctx):
    """The parameters a help screen lists (the --help option included, hidden ones left out)."""
    return [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
