"""Trends (事件分析): counts, unique users and property aggregates per day/week/month.

Definitions (口徑) are in docs/definitions.md#trends.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import pandas as pd
from pydantic import model_validator

from ..errors import SpecError
from .base import Result, Spec
from .periods import period_range

Measure = Literal["count", "users", "sum", "avg", "min", "max", "median", "per_user"]
OTHER = "(other)"
NONE = "(none)"


class TrendsSpec(Spec):
    """One time series (optionally broken down by a property).

    ``event`` counts one event; ``active=True`` counts any event (active users).
    ``date_from``/``date_to`` are inclusive local dates in the workspace zone.
    """

    kind = "trends"
    event: str | None = None
    active: bool = False
    measure: Measure = "count"
    property: str | None = None
    interval: Literal["day", "week", "month"] = "day"
    by: str | None = None
    top: int = 20
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    fill_zeros: bool = True

    @model_validator(mode="after")
    def _check(self):
        if (self.event is None) == (not self.active):
            raise ValueError("give exactly one of event=NAME or active=True")
        if self.measure in ("sum", "avg", "min", "max", "median") and not self.property:
            raise ValueError(f"measure {self.measure!r} needs property=NAME")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.top < 1:
            raise ValueError("top must be at least 1")
        return self


class TrendsResult(Result):
    kind = "trends"
    rows_key = "series"

    def records(self):
        recs = super().records()
        by = self.spec.by if self.spec else None
        if by:
            for r in recs:
                if by not in ("date", "value"):
                    r[by] = r["breakdown"]
        return recs

    def chart(self):
        import plotly.express as px

        title = self.meta.get("title", "Trends")
        if "breakdown" in self.frame:
            return px.line(self.frame, x="date", y="value", color="breakdown", title=title, markers=True)
        return px.line(self.frame, x="date", y="value", title=title, markers=True)


def _measure_expr(engine, t: ibis.Table, spec: TrendsSpec):
    if spec.measure == "count":
        return t.count()
    if spec.measure == "users":
        return t.user_id.nunique()
    if spec.measure == "per_user":
        return t.count().cast("float64") / t.user_id.nunique().cast("float64")
    val = engine.prop(t, spec.property).cast("float64")
    return {
        "sum": val.sum,
        "avg": val.mean,
        "min": val.min,
        "max": val.max,
        "median": val.median,
    }[spec.measure]()


def local_date_filter(engine, t: ibis.Table, date_from, date_to) -> ibis.Table:
    if date_from is None and date_to is None:
        return t
    day = engine.local_ts(t.ts).date()
    if date_from is not None:
        t = t.filter(day >= date_from)
    if date_to is not None:
        t = t.filter(day <= date_to)
    return t


def trends(engine, spec: TrendsSpec | None = None, **kwargs) -> TrendsResult:
    """Compute a trend series.

    >>> import yunying
    >>> ws = yunying.demo_workspace()                       # doctest: +SKIP
    >>> yunying.trends(ws.engine, active=True, measure="users", interval="week").to_pandas()  # doctest: +SKIP
    """
    spec = spec or TrendsSpec.build(**kwargs)
    t = engine.events()
    if not spec.active:
        t = t.filter(t.event == spec.event)
    t = local_date_filter(engine, t, spec.date_from, spec.date_to)
    t = t.mutate(__period=engine.period(t.ts, spec.interval))
    keys = ["__period"]
    if spec.by:
        t = t.mutate(__by=engine.prop(t, spec.by).cast("string").fill_null(NONE))
        keys.append("__by")
    agg = t.group_by(keys).aggregate(value=_measure_expr(engine, t, spec))
    df = engine.execute(agg).to_pandas()
    df = df.rename(columns={"__period": "date", "__by": "breakdown"})
    if not df.empty:
        df["date"] = pd.to_datetime(df["date"]).dt.date
    int_measure = spec.measure in ("count", "users")
    if spec.by and not df.empty:
        totals = df.groupby("breakdown")["value"].sum().sort_values(ascending=False, kind="stable")
        keep = list(totals.index[: spec.top])
        if len(totals) > spec.top:
            if spec.measure in ("count", "sum"):
                df.loc[~df["breakdown"].isin(keep), "breakdown"] = OTHER
                df = df.groupby(["date", "breakdown"], as_index=False)["value"].sum()
                keep.append(OTHER)
            else:  # distinct counts and averages cannot be added: show only the top values
                df = df[df["breakdown"].isin(keep)]
        groups = keep
    else:
        groups = [None]
    if spec.fill_zeros:
        first = spec.date_from or (min(df["date"]) if not df.empty else None)
        last = spec.date_to or (max(df["date"]) if not df.empty else None)
        if first is not None and last is not None:
            periods = period_range(first, last, spec.interval)
            if spec.by:
                full = pd.MultiIndex.from_product([periods, groups], names=["date", "breakdown"]).to_frame(index=False)
                df = full.merge(df, on=["date", "breakdown"], how="left")
            else:
                df = pd.DataFrame({"date": periods}).merge(df, on="date", how="left")
            if spec.measure in ("count", "users", "sum"):
                df["value"] = df["value"].fillna(0)
    sort = ["date", "breakdown"] if spec.by else ["date"]
    df = df.sort_values(sort, kind="stable").reset_index(drop=True)
    if int_measure and not df.empty:
        df["value"] = df["value"].astype("int64")
    label = "active users" if spec.active else spec.event
    title = f"{spec.measure} of {label} per {spec.interval}" + (f" by {spec.by}" if spec.by else "")
    cols = ["date", "breakdown", "value"] if spec.by else ["date", "value"]
    return TrendsResult(spec, df[cols] if not df.empty else pd.DataFrame(columns=cols),
                        {"title": title, "interval": spec.interval, "timezone": engine.timezone})
