"""Experiment (A/B test) analysis.

Two entry points produce the same :class:`ExperimentResult`:

* :func:`analyze_table` — a per-unit table (CSV, Parquet, JSONL or a
  DataFrame): one row per unit with its variant and metric columns.
* :func:`analyze_workspace` — an event workspace: the first exposure event
  assigns each user to a variant and metrics are computed from events after
  exposure (conversion within a window, count or sum per user, ratios).

Data are reduced to per-variant sufficient statistics and handed to the pure
functions of :mod:`yunying.stats`; see ``docs/experiments.md`` for every
definition.
"""
from __future__ import annotations

import importlib

# name -> its module: each loads on first use (the table mode needs pandas, the workspace mode its queries)
_WHERE = {"analyze_stats": "core", "ExperimentResult": "result", "MetricResult": "result", "VariantResult": "result",
          "ExperimentSpec": "spec", "MetricSpec": "spec", "ValueSpec": "spec", "WorkspaceExperimentSpec": "spec",
          "parse_split": "spec", "analyze_table": "table", "read_table": "table", "analyze_workspace": "workspace",
          "experiment": "workspace"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ValueSpec",
    "MetricSpec",
    "ExperimentSpec",
    "WorkspaceExperimentSpec",
    "experiment",
    "ExperimentResult",
    "MetricResult",
    "VariantResult",
    "analyze_table",
    "analyze_workspace",
    "analyze_stats",
    "parse_split",
    "read_table",
]
