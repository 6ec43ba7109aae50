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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import model_validator

from . import filtering
from .base import Result, ratio
from ..sequences.calendar import period_range
from .rfm import order_count, purchase_events
from .sql import Query, plain_duckdb
from .table import Columns
from ..errors import Text


class RepurchaseSpec(filtering.FilteredSpec):
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

    @model_validator(mode="after")
    def _basis(self):
        if self.order_property and self.basis != "orders":
            raise ValueError(Text("repurchase.order_property_counts_orders"))
        return self


class RepurchaseResult(Result):
    kind = "repurchase"
    rows_key = "periods"

    def chart(self):
        import plotly.express as px

        return px.line(self.frame, x="period", y=["repeat_rate", "return_rate"], markers=True,
                       title=self.meta.get("title"))


COLUMNS = ["period", "buyers", "repeat_buyers", "repeat_rate", "returning_buyers", "return_rate"]


def _user_periods(engine, spec: RepurchaseSpec) -> pa.Table:
    """One row per (buyer, period): user_id, period (its first day), repeat (bool)."""
    if plain_duckdb(engine) and not (spec.filters or spec.order_property):
        return _user_periods_sql(engine, spec)
    t = purchase_events(engine, spec.filters, spec.date_to)
    if spec.date_from is not None:
        t = t.filter(t.__day >= spec.date_from)
    t = t.mutate(__period=engine.period(t.ts, spec.period))
    keys = ["user_id", "__period"]
    if spec.basis == "days":  # distinct days in two steps: cheaper than a distinct count per group
        d = t.group_by([*keys, "__day"]).aggregate(n=t.count())
        agg = d.group_by(keys).aggregate(repeat=d.count() >= 2)
    else:
        agg = t.group_by(keys).aggregate(repeat=order_count(engine, t, spec.order_property) >= 2)
    return engine.execute(agg.select("user_id", period=agg.__period, repeat=agg.repeat))


def _user_periods_sql(engine, spec: RepurchaseSpec) -> pa.Table:
    """The same in plain SQL on DuckDB (no filters; orders = purchase events): no Ibis import."""
    q = Query(engine)
    unit = {"month": "MONTH", "week": "WEEK"}[spec.period]
    inner = (f"SELECT user_id, CAST(date_trunc('{unit}', {q.local()}) AS DATE) AS period, CAST({q.local()} AS DATE) "
             f"AS day FROM events{q.where([engine.workspace.config.events.purchase], spec.date_from, spec.date_to)}")
    if spec.basis == "days":  # distinct days: two steps, as the Ibis query
        inner = f"SELECT user_id, period, day FROM ({inner}) GROUP BY 1, 2, 3"
    return q.arrow(f"SELECT user_id, period, count(*) >= 2 AS repeat FROM ({inner}) GROUP BY 1, 2")


def _ordinal(days: np.ndarray, period: str) -> np.ndarray:
    """Period number of period-start dates given as days since 1970-01-01 (consecutive periods: +1)."""
    if period == "month":
        return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (days.astype(np.int64) - 4) // 7  # 1970-01-05 was a Monday


def repurchase(engine, spec: RepurchaseSpec | None = None, **kwargs) -> RepurchaseResult:
    """复购率 / 回购率 per period (see the module docstring for the definitions)."""
    spec = spec or RepurchaseSpec.build(**kwargs)
    cfg = engine.workspace.config
    engine.check_events([cfg.events.purchase])
    if spec.order_property:
        filtering.check_properties(engine, engine.events(), [spec.order_property])
    table = _user_periods(engine, spec)
    meta = {"title": f"repurchase per {spec.period}", "period": spec.period, "basis": spec.basis,
            "timezone": engine.timezone, "purchase_event": cfg.events.purchase}
    if not table.num_rows and (spec.date_from is None or spec.date_to is None):
        return RepurchaseResult(spec, Columns.from_rows([], COLUMNS), meta)
    days = table["period"].cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    epoch = dt.date(1970, 1, 1)
    first = spec.date_from or epoch + dt.timedelta(days=int(days.min()))
    last = spec.date_to or epoch + dt.timedelta(days=int(days.max()))
    periods = period_range(first, last, spec.period)
    base = _ordinal(np.array([(p - epoch).days for p in periods]), spec.period)[0]
    slot = _ordinal(days, spec.period) - base                      # 0 .. len(periods) - 1
    user = pc.dictionary_encode(table["user_id"].combine_chunks(), null_encoding="encode").indices  # codes
    user = user.to_numpy(zero_copy_only=False).astype(np.int64)
    key = user * (len(periods) + 1) + slot
    order = np.argsort(key, kind="stable")                         # keys are unique: buyer, then period
    ranked = key[order]
    returning = np.zeros(len(key), dtype=bool)
    returning[order[:-1]] = ranked[1:] == ranked[:-1] + 1          # same buyer, next period
    repeat = table["repeat"].to_numpy(zero_copy_only=False).astype(bool)
    n = len(periods)
    buyers = np.bincount(slot, minlength=n)
    repeats = np.bincount(slot, weights=repeat, minlength=n).astype(np.int64)
    returns = np.bincount(slot, weights=returning, minlength=n).astype(np.int64)
    rows = []
    for i, p in enumerate(periods):
        ret = int(returns[i]) if i + 1 < n else None
        rows.append({"period": p, "buyers": int(buyers[i]), "repeat_buyers": int(repeats[i]),
                     "repeat_rate": ratio(int(repeats[i]), int(buyers[i])), "returning_buyers": ret,
                     "return_rate": None if ret is None else ratio(ret, int(buyers[i]))})
    out = Columns.from_rows(rows, COLUMNS)
    out.dtypes["returning_buyers"] = "object"  # a count, or None
    return RepurchaseResult(spec, out, meta)
