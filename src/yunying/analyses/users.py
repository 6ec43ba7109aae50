"""New users (拉新) and revenue (營收) series.

Definitions (docs/definitions.md#new-users, #revenue):
- A user's **signup time** is their first signup event (``events.signup`` in yunying.toml);
  users with no signup event are not new users (they may be legacy or anonymous).
- A user's **first-touch channel** is ``coalesce(channel, utm_source)`` of their earliest
  event that has one (at or before signup or later); users with none are ``direct/unknown``.
- **Revenue** is the sum of the revenue property over purchase events; **paying users**
  the distinct users with at least one purchase event in the period.

Filters (docs/users.md#where-each-filter-applies): on new users they apply to each user's *first* signup
event (a user is a new user of the filters when their first signup event passes them: ``event.PROP`` reads
that event, ``user.PROP`` / ``segment`` select users); on revenue to the purchase events. ``by`` breaks the
series down by a property of that event (``NAME`` / ``event.NAME``), the user's current profile
(``user.NAME``, derived ``user.$…`` included) or ``segment:A,B`` (a user in two listed segments counts in both).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from ..errors import SpecError, Text
from . import filtering
from .base import Result, local_date_filter, ratio
from .sql import plain_duckdb
from .table import Columns
from ..sequences.calendar import period_range

if TYPE_CHECKING:  # pragma: no cover - Ibis loads on the portable path only (filters, breakdowns, Spark)
    import ibis

DIRECT = "direct/unknown"


def touch_channel(t: ibis.Table) -> ibis.Value:
    """Channel key of an event: its ``channel``, else its ``utm_source``."""
    import ibis

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


class NewUsersSpec(filtering.FilteredSpec):
    """New users per period; ``by_channel`` = by first-touch channel, or ``by`` (see the module docstring)."""

    kind = "new_users"
    interval: Literal["day", "week", "month"] = "day"
    by_channel: bool = False
    by: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @model_validator(mode="after")
    def _one_breakdown(self):
        if self.by_channel and self.by:
            raise ValueError(Text("users.give_either_by_channel"))
        return self


class SeriesResult(Result):
    rows_key = "series"

    def chart(self):
        import plotly.express as px

        if "channel" in self.frame or "breakdown" in self.frame:
            y = "new_users" if "new_users" in self.frame else "revenue"
            return px.bar(self.frame, x="date", y=y, title=self.meta.get("title"),
                          color="channel" if "channel" in self.frame else "breakdown")
        if "revenue" in self.frame:  # money and counts on separate axes, so neither flattens the other
            import plotly.graph_objects as go

            fig = go.Figure([go.Bar(x=self.frame["date"], y=self.frame["revenue"], name="revenue"),
                             go.Scatter(x=self.frame["date"], y=self.frame["paying_users"], name="paying users",
                                        yaxis="y2", mode="lines+markers")])
            return fig.update_layout(title=self.meta.get("title"),
                                     yaxis=dict(title=f"revenue ({self.meta.get('currency', '')})"),
                                     yaxis2=dict(title="paying users", overlaying="y", side="right"))
        return px.line(self.frame, x="date", y="new_users", title=self.meta.get("title"), markers=True)


def first_signups(engine, signup_event: str) -> ibis.Table:
    """Each user's first signup event (every one of them where several share the first time), all columns."""
    import ibis

    t = engine.events()
    t = t.filter(t.event == signup_event)
    t = t.mutate(__first=t.ts.min().over(ibis.window(group_by="user_id")))
    return t.filter(t.ts == t.__first).drop("__first")


def new_users(engine, spec: NewUsersSpec | None = None, **kwargs) -> SeriesResult:
    spec = spec or NewUsersSpec.build(**kwargs)
    cfg = engine.workspace.config
    keys = ["date"] + (["channel"] if spec.by_channel else ["breakdown"] if spec.by else [])
    if plain_duckdb(engine) and not spec.filters and not spec.by:
        from . import users_sql

        rows = users_sql.new_users(engine, spec, DIRECT)
    else:
        rows = _new_users_ibis(engine, spec, keys)
    _check_by(spec, rows, f"first {cfg.events.signup!r} event")
    data = _fill(rows, keys, spec.interval, spec.date_from, spec.date_to, ["new_users"])
    title = f"new users per {spec.interval}" + (" by first-touch channel" if spec.by_channel else "") + \
        (f" by {spec.by}" if spec.by else "")
    return SeriesResult(spec, data, {"title": title, "signup_event": cfg.events.signup, "filters": spec.filters})


def _new_users_ibis(engine, spec: NewUsersSpec, keys: list[str]) -> list[tuple]:
    import ibis

    cfg = engine.workspace.config
    if spec.filters or spec.by:
        s = filtering.apply(engine, first_signups(engine, cfg.events.signup), spec.filters)
        if spec.by:
            s = _breakdown(engine, s, spec.by)
        s = s.select("user_id", signup_ts=s.ts, **({"breakdown": s.breakdown} if spec.by else {}))
    else:
        s = signups(engine, cfg.events.signup)
    s = s.mutate(date=engine.period(s.signup_ts, spec.interval), day=engine.local_ts(s.signup_ts).date())
    if spec.date_from is not None:
        s = s.filter(s.day >= spec.date_from)
    if spec.date_to is not None:
        s = s.filter(s.day <= spec.date_to)
    if spec.by_channel:
        ft = first_touch(engine)
        s = s.left_join(ft, "user_id").mutate(channel=ibis.coalesce(ft.first_channel, ibis.literal(DIRECT)))
    return _rows(engine.execute(s.group_by(keys).aggregate(new_users=s.user_id.nunique())))


def _rows(tab) -> list[tuple]:
    """An Arrow result as rows of Python values, the first column (a period start) as a date."""
    cols = [tab.column(i).to_pylist() for i in range(tab.num_columns)]
    return [(r[0].date() if isinstance(r[0], dt.datetime) else r[0], *r[1:]) for r in zip(*cols)]


def _breakdown(engine, t: ibis.Table, by: str, checked: bool = False) -> ibis.Table:
    """``t`` with ``breakdown``: the trends breakdown (an event property, ``user.PROP``, ``segment:A,B``)."""
    from .trends import breakdown

    if not checked and not by.startswith(("user.", "segment:")):
        engine.check_properties([by[len("event."):] if by.startswith("event.") else by])
    t = breakdown(engine, t, by)
    return t.rename(breakdown="__by")


def _check_by(spec, rows: list[tuple], what: str) -> None:
    """A breakdown that puts every row in "(none)" says so instead of showing one meaningless group."""
    from .trends import NONE

    if spec.by and rows and all(r[1] == NONE for r in rows):
        hint = Text("users.first_channel_hint") if "channel" in spec.by else ""
        raise SpecError(key="users.by_set_on_any", by=spec.by, what=what, NONE=NONE, hint=hint)


class RevenueSpec(filtering.FilteredSpec):
    """Revenue, purchases, paying users and ARPPU per period of the purchase events the filters keep."""

    kind = "revenue"
    interval: Literal["day", "week", "month"] = "day"
    by: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def revenue(engine, spec: RevenueSpec | None = None, **kwargs) -> SeriesResult:
    spec = spec or RevenueSpec.build(**kwargs)
    cfg = engine.workspace.config
    keys = ["date"] + (["breakdown"] if spec.by else [])
    if spec.by and not spec.by.startswith(("user.", "segment:")):
        engine.check_properties([spec.by[len("event."):] if spec.by.startswith("event.") else spec.by])
    if plain_duckdb(engine) and not spec.filters and not (spec.by and spec.by.startswith(("user.", "segment:"))):
        from . import users_sql
        from .trends import NONE

        rows = users_sql.revenue(engine, spec, NONE)
    else:
        rows = _revenue_ibis(engine, spec, keys)
    _check_by(spec, rows, f"{cfg.events.purchase!r} event")
    data = _fill(rows, keys, spec.interval, spec.date_from, spec.date_to, ["revenue", "purchases", "paying_users"])
    data.data["arppu"] = [ratio(r, p) for r, p in zip(data.data["revenue"], data.data["paying_users"])]
    title = f"revenue per {spec.interval}" + (f" by {spec.by}" if spec.by else "")
    return SeriesResult(spec, data, {"title": title, "currency": cfg.currency, "filters": spec.filters})


def _revenue_ibis(engine, spec: RevenueSpec, keys: list[str]) -> list[tuple]:
    cfg = engine.workspace.config
    t = engine.events()
    t = t.filter(t.event == cfg.events.purchase)
    t = local_date_filter(engine, t, spec.date_from, spec.date_to)
    if spec.filters:
        t = filtering.apply(engine, t, spec.filters)
    t = t.mutate(date=engine.period(t.ts, spec.interval), __rev=engine.prop(t, cfg.events.revenue).cast("float64"))
    if spec.by:
        t = _breakdown(engine, t, spec.by, checked=True)
    return _rows(engine.execute(t.group_by(keys).aggregate(revenue=t.__rev.sum(), purchases=t.count(),
                                                          paying_users=t.user_id.nunique())))


def _fill(rows: list[tuple], keys, interval, date_from, date_to, value_cols) -> Columns:
    """Zero-fill every period between the bounds (the spec's, else the data's); rows in order of their keys."""
    empty = Columns.from_rows([], [*keys, *value_cols])
    first = date_from or (min(r[0] for r in rows) if rows else None)
    last = date_to or (max(r[0] for r in rows) if rows else None)
    if first is None or last is None or first > last or (not rows and len(keys) > 1):
        return empty
    found = {tuple(r[: len(keys)]): r[len(keys):] for r in rows}
    others = list(dict.fromkeys(tuple(r[1: len(keys)]) for r in rows)) if len(keys) > 1 else [()]
    table = sorted((p, *o) for p in period_range(first, last, interval) for o in others)
    zeros = tuple(0.0 if c == "revenue" else 0 for c in value_cols)
    data = {k: [t[i] for t in table] for i, k in enumerate(keys)}
    for j, c in enumerate(value_cols):  # a sum over no events (or of missing values only) is 0
        data[c] = [zeros[j] if (v := found.get(t, zeros)[j]) is None else (float(v) if c == "revenue" else int(v))
                   for t in table]
    return Columns(data)
