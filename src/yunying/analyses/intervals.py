"""Intervals (間隔分析): how long from one event to the next occurrence of another.

Definitions (口徑), docs/definitions.md#intervals. For every ``first_event`` (or only each
user's first one, ``first_only``) whose time is inside the date range, the interval is the time
to the user's next ``then_event`` at or after it (same timestamp: 0 s; when both are the same
event, the next occurrence — a repurchase interval). Pairs longer than ``window`` (if given)
and first events never followed are left out; ``pairs`` counts the intervals measured.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..model.durations import format_duration, parse_duration
from .base import OptionalDuration, Result, ratio
from .table import Columns
from .filtering import FilteredSpec, filtered
from .funnel import TTC_EDGES
from ..engines.sequences import SequenceQuery
from ..sequences.calendar import utc_bound
from ..sequences.kernels.consts import I64_MAX, I64_MIN
from ..sequences.kernels.loader import interval_kernel


class IntervalsSpec(FilteredSpec):
    """>>> IntervalsSpec(first_event="purchase", then_event="purchase", window="30d").window_seconds
    2592000
    """

    kind = "intervals"
    first_event: str
    then_event: str
    window: OptionalDuration = None
    first_only: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def window_seconds(self) -> int | None:
        return parse_duration(self.window) if self.window else None


class IntervalsResult(Result):
    kind = "intervals"
    rows_key = "histogram"

    def chart(self):
        import plotly.express as px

        return px.bar(self.frame, x="label", y="count", title=self.meta.get("title", "Intervals"))


def intervals(engine, spec: IntervalsSpec | None = None, **kwargs) -> IntervalsResult:
    """Distribution of the time between two events.

    >>> intervals(ws.engine, first_event="purchase", then_event="purchase").meta["median_seconds"]  # doctest: +SKIP
    """
    spec = spec or IntervalsSpec.build(**kwargs)
    engine.require("sequences")  # before any work
    tz = engine.timezone
    names = list(dict.fromkeys([spec.first_event, spec.then_event]))
    first_mask = np.array([n == spec.first_event for n in names], np.bool_)
    then_mask = np.array([n == spec.then_event for n in names], np.bool_)
    lo = utc_bound(spec.date_from, tz) if spec.date_from else None
    hi = utc_bound(spec.date_to + dt.timedelta(days=1), tz) if spec.date_to else None
    win = (spec.window_seconds or 0) * 1_000_000
    read_hi = None if hi is None or not win else hi - 1 + win
    parts = []
    def kernel(ch):
        return interval_kernel(ch.starts, ch.ts, ch.code, first_mask, then_mask, np.int64(win),
                               np.int64(lo if lo is not None else I64_MIN),
                               np.int64(hi if hi is not None else I64_MAX), spec.first_only)

    for _, (_, secs) in engine.map_sequences(kernel, filtered(engine, spec, SequenceQuery(tuple(names), ts_lo=lo, ts_hi=read_hi))):
        parts.append(secs)
    secs = np.concatenate(parts) if parts else np.zeros(0)
    top = spec.window_seconds or (max(float(secs.max()), 1.0) if secs.size else 1.0)
    edges = [e for e in TTC_EDGES if e < top] + [top]
    rows, prev = [], 0
    for i, e in enumerate(edges):
        last = i == len(edges) - 1
        k = int(((secs >= prev) & ((secs <= e) if last else (secs < e))).sum())
        label = f"{format_duration(prev)}–{format_duration(e)}" if spec.window_seconds or not last else f"≥{format_duration(prev)}"
        rows.append({"from_seconds": prev, "to_seconds": e if (spec.window_seconds or not last) else None,
                     "label": label, "count": k, "share": ratio(k, int(secs.size))})
        prev = e
    stats = {}
    if secs.size:
        q = np.quantile(secs, [0.25, 0.5, 0.75, 0.9])
        stats = {"mean_seconds": float(secs.mean()), "p25_seconds": float(q[0]), "median_seconds": float(q[1]),
                 "p75_seconds": float(q[2]), "p90_seconds": float(q[3])}
    else:
        stats = {k: None for k in ("mean_seconds", "p25_seconds", "median_seconds", "p75_seconds", "p90_seconds")}
    meta = {"title": f"time from {spec.first_event} to {spec.then_event}", "pairs": int(secs.size), **stats}
    return IntervalsResult(spec, Columns.from_rows(rows, ["from_seconds", "to_seconds", "label", "count", "share"]),
                           meta)
