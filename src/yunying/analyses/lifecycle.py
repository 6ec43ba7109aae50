"""Lifecycle (用戶生命週期): per period, how many users are new, returning, resurrecting or dormant.

Definitions (口徑), docs/definitions.md#lifecycle. A user is *active* in a period when they did
the event (default: any event) in it, periods in the workspace time zone.

* new: the period is the user's first active period ever (over all data, not the date range);
* returning: active in this period and in the previous one;
* resurrecting: active in this period, not in the previous one, but active at some time before;
* dormant: active in the previous period, not in this one (shown negative in the chart).

``active = new + returning + resurrecting``; ``quick_ratio = (new + resurrecting) / dormant``
(growth accounting: above 1 the active base grows).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np

from .base import ANY, Result, ratio
from .table import Columns
from .filtering import FilteredSpec, filtered
from ..engines.sequences import SequenceQuery
from ..sequences.calendar import (UNITS, date_to_ordinal, local_date, next_ordinal_start, ordinal_to_date,
                                 tz_offsets, utc_bound)
from ..sequences.kernels.loader import lifecycle_kernel



class LifecycleSpec(FilteredSpec):
    """>>> LifecycleSpec(period="week").event
    '$any'
    """

    kind = "lifecycle"
    event: str = ANY
    period: Literal["day", "week", "month"] = "week"
    date_from: dt.date | None = None
    date_to: dt.date | None = None



class LifecycleResult(Result):
    kind = "lifecycle"
    rows_key = "periods"

    def chart(self):
        import plotly.graph_objects as go

        f = self.frame
        fig = go.Figure()
        for col, color in (("new", "#2ca02c"), ("returning", "#1f77b4"), ("resurrecting", "#9467bd")):
            fig.add_bar(x=f["period"], y=f[col], name=col, marker_color=color)
        fig.add_bar(x=f["period"], y=-f["dormant"], name="dormant", marker_color="#d62728")
        fig.update_layout(barmode="relative", title=self.meta.get("title", "Lifecycle"))
        return fig


COLUMNS = ["period", "new", "returning", "resurrecting", "dormant", "active", "quick_ratio"]


def lifecycle(engine, spec: LifecycleSpec | None = None, **kwargs) -> LifecycleResult:
    """New / returning / resurrecting / dormant users per period.

    >>> lifecycle(ws.engine, period="week")                                       # doctest: +SKIP
    """
    spec = spec or LifecycleSpec.build(**kwargs)
    engine.require("sequences")  # before any work
    tz = engine.timezone
    any_event = spec.event == ANY
    names = [] if any_event else [spec.event]
    lo_us, hi_us = engine.time_bounds(None)  # the data's first and last event (cheap: storage statistics)
    title = f"lifecycle of {'active users' if any_event else spec.event} per {spec.period}"
    meta = {"title": title, "period": spec.period, "timezone": tz}
    if lo_us is None and not (spec.date_from and spec.date_to):
        return LifecycleResult(spec, Columns.from_rows([], COLUMNS), meta)
    first = spec.date_from or local_date(lo_us, tz)
    last = spec.date_to or local_date(hi_us, tz)
    lo, hi = date_to_ordinal(first, spec.period), date_to_ordinal(last, spec.period)
    out = np.zeros((4, max(hi - lo + 1, 0)), np.int64)
    if hi >= lo and lo_us is not None:
        read_hi = utc_bound(next_ordinal_start(hi, spec.period), tz) - 1
        points, offsets = tz_offsets(tz, lo_us, max(hi_us, lo_us))
        mask = np.array([True], np.bool_)
        query = filtered(engine, spec, SequenceQuery(tuple(names), all_events=any_event, ts_hi=read_hi))
        for _, part in engine.map_sequences(lambda ch: lifecycle_kernel(
                ch.starts, ch.ts, ch.code, mask, any_event, points, offsets, UNITS[spec.period], lo, hi), query):
            out += part
    rows = []
    for i in range(out.shape[1]):
        new, ret, res, dor = (int(x) for x in out[:, i])
        rows.append({"period": ordinal_to_date(lo + i, spec.period), "new": new, "returning": ret,
                     "resurrecting": res, "dormant": dor, "active": new + ret + res,
                     "quick_ratio": ratio(new + res, dor)})
    return LifecycleResult(spec, Columns.from_rows(rows, COLUMNS), meta)
