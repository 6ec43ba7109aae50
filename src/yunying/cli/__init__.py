"""The ``yunying`` command line.

Commands live in modules of this package; each module exposes
``register(app)``. Adding a command group means adding a module to
``COMMAND_MODULES`` — nothing else in the CLI changes.
"""
from __future__ import annotations

import gc
import importlib
import os

# tiny matrices everywhere (fits, covariances): OpenBLAS's threads cost 10-40x more than they give (benchmarks/README.md)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_GC_WAS_ON = gc.isenabled()
gc.disable()  # building the command tree makes many objects and no garbage: no collection passes over them

from .common import app, run_app  # noqa: E402

COMMAND_MODULES = [
    "core",         # init, import, info, optimize, overview, demo
    "trends",       # trends (one command, with --new-users and --revenue)
    "analytics",    # funnel, retention, lifecycle, stickiness, paths (issue 3)
    "experiment",   # experiment, plan (issue 4)
    "acquisition",  # channels, placements, budget, attribution (issue 5)
    "server",       # serve, keys (issue 6)
    "users",        # rfm, repurchase (issue 11)
    "segments",     # segments create|list|show|size|export|snapshot|import|delete (issue 11)
    "customers",    # clv, winback (issue 14)
    "campaign",     # campaign create|assign|plan|pacing|review|list (issue 15)
    "alerts",       # alerts run|test|history (issue 17)
    "report",       # report (weekly / monthly, issue 17)
    "explain",      # metrics, explain (issue 17)
    "content",      # content [flags|timing|forecast], referrals, import content|content-stats (issue 16)
    "kernels",      # kernels build|status: the analysis kernels compiled ahead of time (issue 13)
    "help_i18n",    # no command: --help of every command in the user's language (issue 13)
]

try:
    for _name in COMMAND_MODULES:  # every group is part of the build: a missing one is an error, not a gap
        importlib.import_module(f"{__name__}.{_name}").register(app)
finally:
    if _GC_WAS_ON:
        gc.enable()


def main() -> None:
    # What start-up made lives as long as the process: moved out of the collector's reach, later collections
    # (and the ones at exit) pass over the command's own objects only (benchmarks/README.md, issue 18)
    gc.freeze()
    try:
        run_app()
    finally:
        gc.freeze()


__all__ = ["app", "main"]
