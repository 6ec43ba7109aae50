"""New users and revenue per period on DuckDB as plain SQL (no Ibis import at start-up): the queries the Ibis
expressions of :mod:`.users` compile to, every value a parameter. tests/analytics/test_users_sql.py checks both
give the same rows."""
from __future__ import annotations

from .sql import Query

TRUNC = {"day": "DAY", "week": "WEEK", "month": "MONTH"}


def first_signups(q: Query, ev, direct: str | None, interval: str = "week") -> str:
    """``s``: each user with a signup - user_id, signup_ts (first signup), its period start ``period``, its local
    ``day`` and, unless ``direct`` is None, the first-touch ``channel`` (``direct`` when none). A CTE;
    parameters in text order."""
    period = f"CAST(date_trunc('{TRUNC[interval]}', {q.local('s.signup_ts')}) AS DATE)"
    day = f"CAST({q.local('s.signup_ts')} AS DATE)"
    channel = "" if direct is None else f", coalesce(ft.first_channel, {q.value(direct)}) AS channel"
    signup = q.value(ev.signup)
    touch = "" if direct is None else (
        " LEFT JOIN (SELECT user_id, first(coalesce(channel, utm_source) ORDER BY ts) AS first_channel "
        "FROM events WHERE coalesce(channel, utm_source) IS NOT NULL GROUP BY 1) AS ft ON s.user_id = ft.user_id")
    return (f"s AS (SELECT s.user_id, s.signup_ts, {period} AS period, {day} AS day{channel} "
            f"FROM (SELECT user_id, min(ts) AS signup_ts FROM events WHERE event = {signup} GROUP BY 1) AS s{touch})")


def new_users(engine, spec, direct: str) -> list[tuple]:
    """(period[, channel], new users) of the periods with signups in the spec's range."""
    q = Query(engine)
    sql = "WITH " + first_signups(q, engine.workspace.config.events, direct if spec.by_channel else None,
                                  spec.interval)
    conds = []
    if spec.date_from is not None:
        conds.append(f"day >= {q.value(spec.date_from)}::DATE")
    if spec.date_to is not None:
        conds.append(f"day <= {q.value(spec.date_to)}::DATE")
    keys = "period, channel" if spec.by_channel else "period"
    sql += f" SELECT {keys}, count(DISTINCT user_id) FROM s" + (" WHERE " + " AND ".join(conds) if conds else "")
    return q.run(sql + f" GROUP BY {keys}")


def revenue(engine, spec, none: str) -> list[tuple]:
    """(period[, breakdown], revenue, purchases, paying users) of the periods with purchases in the range; a
    breakdown by an event property (``none`` where an event has none)."""
    ev = engine.workspace.config.events
    q = Query(engine)
    cols = [f"CAST(date_trunc('{TRUNC[spec.interval]}', {q.local()}) AS DATE)"]
    if spec.by:
        name = spec.by[len("event."):] if spec.by.startswith("event.") else spec.by
        cols.append(f"coalesce(CAST({q.prop(name)} AS VARCHAR), {q.value(none)})")
    sql = (f"SELECT {', '.join(cols)}, sum(CAST({q.prop(ev.revenue)} AS DOUBLE)), count(*), count(DISTINCT user_id) "
           f"FROM events{q.where([ev.purchase], spec.date_from, spec.date_to)}")
    return q.run(sql + " GROUP BY " + ", ".join(str(i + 1) for i in range(len(cols))))
