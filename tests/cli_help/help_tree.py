"""The click tree Typer builds from yunying's CLI, walked: every command path, its parameters and its context."""
from __future__ import annotations

from functools import lru_cache

import typer
from typer.testing import CliRunner

from yunying.cli import app


@lru_cache(maxsize=1)
def root():
    """The click tree, built once (Typer builds it anew on every call; help screens put back what they change)."""
    return typer.main.get_command(app)


def invoke(args: list[str], env: dict):
    """``CliRunner().invoke`` on the tree built once."""
    import typer.testing

    build = typer.testing._get_command
    typer.testing._get_command = lambda a: root() if a is app else build(a)
    try:
        return CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    finally:
        typer.testing._get_command = build


def walk():
    """(path, command, context) for every command, group and sub-command; the root's path is ("yunying",)."""
    out = []

    def visit(cmd, path, parent):
        ctx = typer.Context(cmd, info_name=path[-1] if path else "yunying", parent=parent)
        out.append((path or ("yunying",), cmd, ctx))
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            visit(sub, (*path, name), ctx)

    visit(root(), (), None)
    return out


def shown_params(cmd, ctx):
    """The parameters a help screen lists (the --help option included, hidden ones left out)."""
    return [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
