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

from .core import analyze_stats
from .result import ExperimentResult, MetricResult, VariantResult
from .spec import ExperimentSpec, MetricSpec, ValueSpec, WorkspaceExperimentSpec, parse_split
from .table import analyze_table, read_table
from .workspace import analyze_workspace, experiment

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
