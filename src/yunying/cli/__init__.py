"""The ``yunying`` command line.

Commands live in modules of this package; each module exposes
``register(app)``. Adding a command group means adding a module to
``COMMAND_MODULES`` — nothing else in the CLI changes.
"""
from __future__ import annotations

import importlib

from .common import app, run_app

COMMAND_MODULES = [
    "core",         # init, import, demo, trends, optimize, info
    "analytics",    # funnel, retention, lifecycle, stickiness, paths (issue 3)
    "experiment",   # experiment, plan (issue 4)
    "acquisition",  # channels, placements, budget, attribution (issue 5)
    "server",       # serve, keys (issue 6)
    "customers",    # clv, winback (issue 14)
]

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command group not built yet
        if exc.name != f"{__name__}.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    run_app()


__all__ = ["app", "main"]
