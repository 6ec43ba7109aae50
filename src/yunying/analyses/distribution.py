"""Distribution (分布分析): how many events each user did — the events-per-user histogram.

Definitions (口徑), docs/definitions.md#distribution. Over the date range (local dates), each
user who did the event at least once is counted in one bucket by their number of events:
1, 2, … 10 exactly, then 11–20, 21–50, 51–100, 101+. Mean, median and p90 are over those users.
"""
from __future__ import annotations

import datetime as dt

import numpy as np


from . import filtering
from .base import ANY, Result, local_date_filter, ratio
from .sql import Query, plain_duckdb
from .table import Columns

BUCKETS = [(k, k) for k in range(1, 11)] + [(11, 20), (21, 50), (51, 100), (101, None)]


class DistributionSpec(filtering.FilteredSpec):
    """>>> DistributionSpec(event="purchase").event
    'purchase'
    """

    kind = "distribution"
    event: str = ANY
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class DistributionResult(Result):
    kind = "distribution"
    rows_key = "histogram"

    def chart(self):
        import plotly.express as px

        return px.bar(self.frame, x="bucket", y="users", title=self.meta.get("title", "Events per user"))


def distribution(engine, spec: DistributionSpec | None = None, **kwargs) -> DistributionResult:
    """Events-per-user histogram.

    >>> distribution(ws.engine, event="purchase").to_pandas()                     # doctest: +SKIP
    """
    spec = spec or DistributionSpec.build(**kwargs)
    hist = _histogram_sql(engine, spec) if plain_duckdb(engine) and not spec.filters else _histogram(engine, spec)
    n = np.array([h[0] for h in hist], np.int64)
    users = np.array([h[1] for h in hist], np.int64)
    total = int(users.sum())
    rows = []
    for lo, hi in BUCKETS:
        m = (n >= lo) & ((n <= hi) if hi is not None else True)
        k = int(users[m].sum())
        rows.append({"bucket": str(lo) if lo == hi else (f"{lo}-{hi}" if hi else f"{lo}+"), "min_events": lo,
                     "max_events": hi, "users": k, "share": ratio(k, total)})
    meta = {"title": f"{'events' if spec.event == ANY else spec.event} per user", "users": total}
    if total:
        order = np.argsort(n)
        n_s, u_s = n[order], users[order]
        cum = np.cumsum(u_s)

        def quantile(q):  # the smallest count covering q of the users (exact, from the histogram)
            return int(n_s[np.searchsorted(cum, q * total, side="left")])

        meta.update(mean=float((n * users).sum() / total), median=quantile(0.5), p90=quantile(0.9),
                    max=int(n.max()))
    else:
        meta.update(mean=None, median=None, p90=None, max=None)
    frame = Columns.from_rows(rows, list(rows[0]))
    frame.dtypes["max_events"] = "object"  # a whole number, or None for the open last bucket
    return DistributionResult(spec, frame, meta)


def _histogram(engine, spec: DistributionSpec) -> list[tuple[int, int]]:
    """(events per user, users) through Ibis (filters, other engines)."""
    t = engine.events()
    if spec.event != ANY:
        t = t.filter(t.event == spec.event)
    t = local_date_filter(engine, t, spec.date_from, spec.date_to)
    if spec.filters:
        t = filtering.apply(engine, t, spec.filters)
    per_user = t.group_by("user_id").aggregate(n=t.count())
    hist = engine.execute(per_user.group_by("n").aggregate(users=per_user.count()))
    return list(zip(hist["n"].to_pylist(), hist["users"].to_pylist()))


def _histogram_sql(engine, spec: DistributionSpec) -> list[tuple[int, int]]:
    """The same in plain SQL on DuckDB (no Ibis import)."""
    q = Query(engine)
    where = q.where(None if spec.event == ANY else [spec.event], spec.date_from, spec.date_to)
    return q.run(f"SELECT n, count(*) FROM (SELECT user_id, count(*) AS n FROM events{where} GROUP BY user_id) "
                 "GROUP BY n")
