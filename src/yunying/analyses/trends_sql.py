"""Trends on DuckDB as plain SQL: the same query the Ibis expressions of :mod:`.trends` compile to, written as
one SQL string with every value passed as a parameter (event names, dates, the time zone, JSON paths) and
column names taken from the events table itself, double-quoted. Importing Ibis costs most of a second at every
CLI start; a trend without ``--where`` / ``user.`` / ``segment:`` breakdowns on the DuckDB engine never needs it.
tests/analytics/test_trends_sql.py checks both paths give the same rows on random data.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .sql import Query, plain_duckdb

TRUNC = {"day": "DAY", "week": "WEEK", "month": "MONTH"}


def applies(engine, spec) -> bool:
    """Whether a trend of ``spec`` can run as SQL here: the DuckDB engine over its whole events table, no
    filters, and no breakdown reading another table."""
    return (plain_duckdb(engine) and not spec.filters
            and not (spec.by and spec.by.startswith(("user.", "segment:"))))


def _measure(q: Query, s) -> str:
    if s.measure == "count":
        return "count(*)"
    if s.measure == "users":
        return "count(DISTINCT user_id)"
    if s.measure == "per_user":
        return "CAST(count(*) AS DOUBLE) / CAST(count(DISTINCT user_id) AS DOUBLE)"
    fn = {"sum": "sum", "avg": "avg", "min": "min", "max": "max"}[s.measure]
    return f"{fn}(CAST({q.prop(s.property)} AS DOUBLE))"


def raw_series(engine, s, spec, date_from, date_to, percentiles: dict, none: str) -> dict[tuple, object]:
    """``(period[, breakdown]) -> value`` of the periods (and values) with data, in the order DuckDB returns
    them; percentiles (``percentiles``: measure -> q) interpolated in NumPy from the values, as on every engine."""
    q = Query(engine)
    cols = [f"CAST(date_trunc('{TRUNC[spec.interval]}', {q.local()}) AS DATE)"]
    if spec.by:
        name = spec.by[len("event."):] if spec.by.startswith("event.") else spec.by
        cols.append(f"coalesce(CAST({q.prop(name)} AS VARCHAR), {q.value(none)})")
    keys = ", ".join(f"{c} AS k{i}" for i, c in enumerate(cols))
    if s.measure in percentiles:
        v = f"CAST({q.prop(s.property)} AS DOUBLE)"
        sql = f"SELECT {keys}, {v} AS v FROM events"
        inner = sql + q.where(None if s.active else [s.event], date_from, date_to)
        rows = q.run(f"SELECT * FROM ({inner}) WHERE v IS NOT NULL")
        return quantiles(rows, len(cols), percentiles[s.measure])
    sql = f"SELECT {keys}, {_measure(q, s)} AS value FROM events"
    sql += q.where(None if s.active else [s.event], date_from, date_to)
    sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(cols)))
    return {tuple(r[:-1]): r[-1] for r in q.run(sql)}


def quantiles(rows: list[tuple], n_keys: int, q: float) -> dict[tuple, float]:
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(r[:n_keys]), []).append(r[n_keys])
    return {k: float(np.quantile(np.sort(np.asarray(v, np.float64)), q)) for k, v in groups.items()}


def data_range(engine, series) -> tuple[dt.date | None, dt.date | None]:
    """First and last local day of the series' events (any event when a series counts active users)."""
    q = Query(engine)
    sql = f"SELECT min(CAST({q.local()} AS DATE)), max(CAST({q.local()} AS DATE)) FROM events"
    events = None if any(s.active for s in series) else [s.event for s in series]
    lo, hi = q.run(sql + q.where(events, None, None))[0]
    return lo, hi
