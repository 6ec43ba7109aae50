"""Stickiness (黏性): how many days a week or month users are active, and DAU / MAU.

Definitions (口徑), docs/definitions.md#stickiness. Active = did the event (default: any
event) on that local calendar day (workspace time zone).

Per period (ISO week or calendar month) inside the date range:

* ``active_users``: users active on at least one day of the period (WAU / MAU);
* ``days_active``: histogram, element k-1 = users active on exactly k days of the period;
* ``avg_daily_users``: mean DAU over the period's days inside the range and the data;
* ``stickiness`` = avg_daily_users / active_users (DAU/MAU for months, DAU/WAU for weeks).

Days outside the date range or the data (its first to last day, any event) do not count, so a
period cut by either is a partial period (``days`` says how many of its days were counted); the
``daily`` DAU series lists exactly the counted days.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np

from .table import Columns
from .base import ANY, Result, clean, ratio
from .filtering import FilteredSpec, filtered
from ..engines.sequences import SequenceQuery
from ..sequences.calendar import (EPOCH, UNITS, date_to_ordinal, local_date, ordinal_to_date, tz_offsets,
                                 utc_bound)
from ..sequences.kernels.loader import activity_kernel

COLUMNS = ["period", "days", "active_users", "avg_daily_users", "stickiness", "mean_days_active", "days_active"]


class StickinessSpec(FilteredSpec):
    """>>> StickinessSpec(period="month").event
    '$any'
    """

    kind = "stickiness"
    event: str = ANY
    period: Literal["week", "month"] = "week"
    date_from: dt.date | None = None
    date_to: dt.date | None = None



class StickinessResult(Result):
    kind = "stickiness"
    rows_key = "periods"

    def __init__(self, spec, frame, meta, daily: Columns, histogram: Columns):
        super().__init__(spec, frame, meta)
        self._daily, self._histogram = daily, histogram

    @property
    def daily(self):
        """Users per counted day (``date``, ``users``), a pandas DataFrame."""
        return self._daily.to_pandas()

    @property
    def histogram(self):
        """Users by days active (``days_active``, ``users``), a pandas DataFrame."""
        return self._histogram.to_pandas()

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["histogram"] = [clean(r) for r in self._histogram.rows()]
        out["daily"] = [clean(r) for r in self._daily.rows()]
        return out

    def to_csv(self) -> str:
        """One row per period, the days-active histogram as columns ``active 1 day`` … ``active 7 days``."""
        rows = self.records()
        data = {c: [r[c] for r in rows] for c in self.columns if c != "days_active"}
        hist = [r["days_active"] for r in rows]
        width = max((len(h) for h in hist), default=0)
        for k in range(width):
            data[f"active {k + 1} day{'s' if k else ''}"] = [h[k] if k < len(h) else 0 for h in hist]
        return Columns(data).to_csv()

    def chart(self):
        import plotly.express as px

        return px.bar(self.histogram, x="days_active", y="users", title=self.meta.get("title", "Stickiness"),
                      labels={"days_active": "active_days"})  # the axis: days active (the table's column: users)


def stickiness(engine, spec: StickinessSpec | None = None, **kwargs) -> StickinessResult:
    """Days active per week/month and DAU/MAU.

    >>> stickiness(ws.engine, period="month").to_pandas()                          # doctest: +SKIP
    """
    spec = spec or StickinessSpec.build(**kwargs)
    engine.require("sequences")  # before any work
    tz = engine.timezone
    any_event = spec.event == ANY
    names = [] if any_event else [spec.event]
    max_days = 7 if spec.period == "week" else 31
    meta = {"title": f"days active per {spec.period} ({'any event' if any_event else spec.event})",
            "period": spec.period, "timezone": tz}
    lo_us, hi_us = engine.time_bounds(None)  # the data's first and last event (cheap: storage statistics)
    empty = (Columns.from_rows([], COLUMNS), Columns({"date": [], "users": []}),
             Columns({"days_active": list(range(1, max_days + 1)), "users": [0] * max_days}))
    if lo_us is None:
        return StickinessResult(spec, *empty[:1], meta, empty[1], empty[2])
    first = spec.date_from or local_date(lo_us, tz)
    last = spec.date_to or local_date(hi_us, tz)
    # only days inside both the range and the data are counted
    first_obs = max(first, local_date(lo_us, tz))
    last_obs = min(last, local_date(hi_us, tz))
    if last < first:
        return StickinessResult(spec, *empty[:1], meta, empty[1], empty[2])
    day_lo, day_hi = (first - EPOCH).days, (last - EPOCH).days
    p_lo, p_hi = date_to_ordinal(first, spec.period), date_to_ordinal(last, spec.period)
    points, offsets = tz_offsets(tz, lo_us, hi_us)
    dau = np.zeros(day_hi - day_lo + 1, np.int64)
    period_users = np.zeros(p_hi - p_lo + 1, np.int64)
    hist = np.zeros((p_hi - p_lo + 1, max_days + 1), np.int64)
    read_lo = utc_bound(first, tz)
    read_hi = utc_bound(last + dt.timedelta(days=1), tz) - 1
    mask = np.array([True], np.bool_)
    def kernel(ch):
        return activity_kernel(ch.starts, ch.ts, ch.code, mask, any_event, points, offsets, UNITS[spec.period],
                               day_lo, day_hi, p_lo, p_hi, max_days)

    query = filtered(engine, spec, SequenceQuery(tuple(names), all_events=any_event, ts_lo=read_lo, ts_hi=read_hi))
    for _, (d, p, h) in engine.map_sequences(kernel, query):
        dau += d
        period_users += p
        hist += h
    days = [first + dt.timedelta(days=i) for i in range(day_hi - day_lo + 1)]
    observed = np.array([first_obs <= d <= last_obs for d in days], bool)
    # the daily series: the days counted (inside the range and the data), as avg_daily_users averages them
    daily = Columns({"date": [d for d, o in zip(days, observed) if o], "users": dau[observed].tolist()})
    day_period = np.array([date_to_ordinal(d, spec.period) for d in days], np.int64)
    rows = []
    for i in range(p_hi - p_lo + 1):
        o = p_lo + i
        in_p = (day_period == o) & observed
        n_days = int(in_p.sum())
        users = int(period_users[i])
        avg = float(dau[in_p].mean()) if n_days else None
        h = hist[i, 1:]
        mean_days = float((h * np.arange(1, max_days + 1)).sum() / users) if users else None
        rows.append({"period": ordinal_to_date(o, spec.period), "days": n_days, "active_users": users,
                     "avg_daily_users": avg, "stickiness": ratio(avg, users) if avg is not None else None,
                     "mean_days_active": mean_days, "days_active": [int(x) for x in h]})
    histogram = Columns({"days_active": list(range(1, max_days + 1)), "users": hist[:, 1:].sum(axis=0).tolist()})
    return StickinessResult(spec, Columns.from_rows(rows, COLUMNS), meta, daily, histogram)
