"""Repurchase: 复购率 (repeat-purchase rate within a period) and 回购率 (buying again the next period).

Definitions (口徑, docs/users.md#repurchase), over purchase events (``events.purchase``), periods being
calendar months or ISO weeks (Monday) in the workspace time zone:

* **buyers** of a period: users with at least one purchase in it;
* **复购率** ``repeat_rate`` = repeat buyers / buyers, a *repeat buyer* having bought on at least two
  different local days of the period (``basis="days"``, the default) — or, with ``basis="orders"``,
  having placed at least two orders in it (purchase events, or distinct ``order_property`` values);
* **回购率** ``return_rate`` = returning buyers / buyers, a *returning buyer* of period P being a buyer of P
  who also buys in period P+1. The last period of the range has no next period inside it: its 回购率 is
  n/a (None), never 0.

Periods run from the first to the last period of the range (``date_from``/``date_to``, else the data);
a period without buyers has rates n/a. Purchases outside the range are not counted, so a range cut in
the middle of a period counts only that part of it.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd
from pydantic import field_validator, model_validator

from . import filtering
from .base import Result, Spec, ratio
from ..sequences.calendar import next_period, period_range
from .rfm import order_count, purchase_events


class RepurchaseSpec(Spec):
    """复购率 and 回购率 per month or week.

    >>> RepurchaseSpec.build(period="week", basis="orders").basis
    'orders'
    """

    kind = "repurchase"
    period: Literal["month", "week"] = "month"
    basis: Literal["days", "orders"] = "days"
    order_property: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    filters: list[dict] = []

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v):
        return filtering.spec_filters(v)

    @model_validator(mode="after")
    def _basis(self):
        if self.order_property and self.basis != "orders":
            raise ValueError("order_property counts orders: use it with basis='orders'")
        return self


class RepurchaseResult(Result):
    kind = "repurchase"
    rows_key = "periods"

    def chart(self):
        import plotly.express as px

        return px.line(self.frame, x="period", y=["repeat_rate", "return_rate"], markers=True,
                       title=self.meta.get("title"))


COLUMNS = ["period", "buyers", "repeat_buyers", "repeat_rate", "returning_buyers", "return_rate"]


def repurchase(engine, spec: RepurchaseSpec | None = None, **kwargs) -> RepurchaseResult:
    """复购率 / 回购率 per period (see the module docstring for the definitions)."""
    spec = spec or RepurchaseSpec.build(**kwargs)
    cfg = engine.workspace.config
    engine.check_events([cfg.events.purchase])
    if spec.order_property:
        filtering.check_properties(engine, engine.events(), [spec.order_property])
    t = purchase_events(engine, spec.filters, spec.date_to)
    if spec.date_from is not None:
        t = t.filter(t.__day >= spec.date_from)
    t = t.mutate(__period=engine.period(t.ts, spec.period))
    agg = t.group_by(["user_id", "__period"]).aggregate(days=t.__day.nunique(),
                                                        orders=order_count(engine, t, spec.order_property))
    df = engine.execute(agg).to_pandas()
    meta = {"title": f"repurchase per {spec.period}", "period": spec.period, "basis": spec.basis,
            "timezone": engine.timezone, "purchase_event": cfg.events.purchase}
    if df.empty and (spec.date_from is None or spec.date_to is None):
        return RepurchaseResult(spec, pd.DataFrame(columns=COLUMNS), meta)
    df["period"] = pd.to_datetime(df["__period"]).dt.date
    first = spec.date_from or min(df["period"])
    last = spec.date_to or max(df["period"])
    periods = period_range(first, last, spec.period)
    repeat = (df["days"] if spec.basis == "days" else df["orders"]) >= 2
    bought = set(zip(df["user_id"], df["period"]))
    returning = [(u, next_period(p, spec.period)) in bought for u, p in zip(df["user_id"], df["period"])]
    per = pd.DataFrame({"period": df["period"], "repeat": repeat.astype("int64"), "returning": returning})
    g = per.groupby("period").agg(buyers=("repeat", "size"), repeat_buyers=("repeat", "sum"),
                                  returning_buyers=("returning", "sum"))
    rows = []
    for i, p in enumerate(periods):
        buyers = int(g["buyers"].get(p, 0))
        rep = int(g["repeat_buyers"].get(p, 0))
        ret = int(g["returning_buyers"].get(p, 0)) if i + 1 < len(periods) else None
        rows.append({"period": p, "buyers": buyers, "repeat_buyers": rep, "repeat_rate": ratio(rep, buyers),
                     "returning_buyers": ret, "return_rate": None if ret is None else ratio(ret, buyers)})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["returning_buyers"] = pd.Series([r["returning_buyers"] for r in rows], dtype=object)  # a count, or None
    return RepurchaseResult(spec, out, meta)
