"""New users (拉新) and revenue (營收) series.

Definitions (docs/definitions.md#new-users, #revenue):
- A user's **signup time** is their first signup event (``events.signup`` in yunying.toml);
  users with no signup event are not new users (they may be legacy or anonymous).
- A user's **first-touch channel** is ``coalesce(channel, utm_source)`` of their earliest
  event that has one (at or before signup or later); users with none are ``direct/unknown``.
- **Revenue** is the sum of the revenue property over purchase events; **paying users**
  the distinct users with at least one purchase event in the period.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import pandas as pd

from .base import Result, Spec, local_date_filter, ratio
from ..sequences.calendar import period_range

DIRECT = "direct/unknown"


def touch_channel(t: ibis.Table) -> ibis.Value:
    """Channel key of an event: its ``channel``, else its ``utm_source``."""
    return ibis.coalesce(t.channel, t.utm_source)


def signups(engine, signup_event: str) -> ibis.Table:
    """One row per user with a signup: user_id, signup_ts (first signup)."""
    t = engine.events()
    return t.filter(t.event == signup_event).group_by("user_id").aggregate(signup_ts=t.ts.min())


def first_touch(engine) -> ibis.Table:
    """One row per user that has any touch: user_id, first_channel."""
    t = engine.events()
    t = t.mutate(__ch=touch_channel(t))
    t = t.filter(t.__ch.notnull())
    return t.group_by("user_id").aggregate(first_channel=t.__ch.argmin(t.ts), first_touch_ts=t.ts.min())


class NewUsersSpec(Spec):
    kind = "new_users"
    interval: Literal["day", "week", "month"] = "day"
    by_channel: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class SeriesResult(Result):
    rows_key = "series"

    def chart(self):
        import plotly.express as px

        if "channel" in self.frame:
            return px.bar(self.frame, x="date", y="new_users", color="channel", title=self.meta.get("title"))
        if "revenue" in self.frame:  # money and counts on separate axes, so neither flattens the other
            import plotly.graph_objects as go

            fig = go.Figure([go.Bar(x=self.frame["date"], y=self.frame["revenue"], name="revenue"),
                             go.Scatter(x=self.frame["date"], y=self.frame["paying_users"], name="paying users",
                                        yaxis="y2", mode="lines+markers")])
            return fig.update_layout(title=self.meta.get("title"),
                                     yaxis=dict(title=f"revenue ({self.meta.get('currency', '')})"),
                                     yaxis2=dict(title="paying users", overlaying="y", side="right"))
        return px.line(self.frame, x="date", y="new_users", title=self.meta.get("title"), markers=True)


def new_users(engine, spec: NewUsersSpec | None = None, **kwargs) -> SeriesResult:
    spec = spec or NewUsersSpec.build(**kwargs)
    cfg = engine.workspace.config
    s = signups(engine, cfg.events.signup)
    s = s.mutate(date=engine.period(s.signup_ts, spec.interval), day=engine.local_ts(s.signup_ts).date())
    if spec.date_from is not None:
        s = s.filter(s.day >= spec.date_from)
    if spec.date_to is not None:
        s = s.filter(s.day <= spec.date_to)
    keys = ["date"]
    if spec.by_channel:
        ft = first_touch(engine)
        s = s.left_join(ft, "user_id").mutate(channel=ibis.coalesce(ft.first_channel, ibis.literal(DIRECT)))
        keys.append("channel")
    df = engine.execute(s.group_by(keys).aggregate(new_users=s.user_id.nunique())).to_pandas()
    df = _fill(df, keys, spec.interval, spec.date_from, spec.date_to, ["new_users"])
    title = f"new users per {spec.interval}" + (" by first-touch channel" if spec.by_channel else "")
    return SeriesResult(spec, df, {"title": title, "signup_event": cfg.events.signup})


class RevenueSpec(Spec):
    kind = "revenue"
    interval: Literal["day", "week", "month"] = "day"
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def revenue(engine, spec: RevenueSpec | None = None, **kwargs) -> SeriesResult:
    spec = spec or RevenueSpec.build(**kwargs)
    cfg = engine.workspace.config
    t = engine.events()
    t = t.filter(t.event == cfg.events.purchase)
    t = local_date_filter(engine, t, spec.date_from, spec.date_to)
    t = t.mutate(date=engine.period(t.ts, spec.interval), __rev=engine.prop(t, cfg.events.revenue).cast("float64"))
    agg = t.group_by("date").aggregate(revenue=t.__rev.sum(), purchases=t.count(), paying_users=t.user_id.nunique())
    df = engine.execute(agg).to_pandas()
    df = _fill(df, ["date"], spec.interval, spec.date_from, spec.date_to, ["revenue", "purchases", "paying_users"])
    df["arppu"] = [ratio(r, p) for r, p in zip(df["revenue"], df["paying_users"])]
    return SeriesResult(spec, df, {"title": f"revenue per {spec.interval}", "currency": cfg.currency})


def _fill(df: pd.DataFrame, keys, interval, date_from, date_to, value_cols) -> pd.DataFrame:
    """Zero-fill every period between the bounds (the spec's, else the data's)."""
    empty = pd.DataFrame(columns=[*keys, *value_cols])
    if not df.empty:
        df["date"] = pd.to_datetime(df["date"]).dt.date
    else:
        df = empty.astype({"date": object})
    first = date_from or (df["date"].min() if not df.empty else None)
    last = date_to or (df["date"].max() if not df.empty else None)
    if first is None or last is None or first > last or (df.empty and len(keys) > 1):
        return empty
    periods = pd.DataFrame({"date": period_range(first, last, interval)})
    if len(keys) > 1:
        others = df[keys[1:]].drop_duplicates()
        periods = periods.merge(others, how="cross")
    out = periods.merge(df, on=keys, how="left")
    for c in value_cols:
        out[c] = out[c].fillna(0)
        if c != "revenue":
            out[c] = out[c].astype("int64")
        else:
            out[c] = out[c].astype("float64")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
