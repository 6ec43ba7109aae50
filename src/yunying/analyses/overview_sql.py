"""The overview's weekly figures on DuckDB as plain SQL (no Ibis import at start-up): the queries the Ibis
expressions of :func:`yunying.analyses.overview._weekly_frames` compile to, every value a parameter.
tests/test_overview_sql.py checks both give the same figures."""
from __future__ import annotations

from .sql import Query
from .users import DIRECT
from .users_sql import first_signups


def _filtered_signups(q: Query, ev, weeks) -> str:
    """``WITH s …, sw``: the first signups (``week`` their week, ``channel`` their first-touch channel) of
    ``weeks``."""
    return ("WITH " + first_signups(q, ev, DIRECT) + ", sw AS (SELECT user_id, signup_ts, period AS week, channel "
            f"FROM s WHERE period IN ({q.values(weeks)})) ")


def _week_in(q: Query, weeks) -> str:
    return f"CAST(date_trunc('WEEK', {q.local()}) AS DATE) IN ({q.values(weeks)})"


def weekly(engine, spec, weeks: list) -> dict:
    """The overview's per-week figures (see ``overview._weekly_frames``) as plain rows."""
    ev = engine.workspace.config.events
    q = Query(engine)
    by_channel = q.run(_filtered_signups(q, ev, weeks) + "SELECT week, channel, count(DISTINCT user_id) FROM sw GROUP BY 1, 2")
    q = Query(engine)
    spend = q.run("SELECT CAST(date_trunc('WEEK', date) AS DATE) AS week, channel, sum(cost) FROM spend "
                  f"WHERE CAST(date_trunc('WEEK', date) AS DATE) IN ({q.values(weeks)}) GROUP BY 1, 2")
    q = Query(engine)
    act = q.run(_filtered_signups(q, ev, weeks) + "SELECT sw.week, count(DISTINCT sw.user_id) FROM sw JOIN events AS e "
                f"ON e.event = {q.value(ev.activation)} AND sw.user_id = e.user_id AND e.ts >= sw.signup_ts "
                f"AND e.ts <= sw.signup_ts + to_hours(CAST({q.value(spec.activation_hours)} AS BIGINT)) GROUP BY 1")
    q = Query(engine)
    day = f"CAST({q.local()} AS DATE)"
    week = f"CAST(date_trunc('WEEK', {q.local()}) AS DATE)"
    dau = q.run(f"SELECT week, sum(dau) FROM (SELECT {week} AS week, {day} AS day, count(DISTINCT user_id) AS dau "
                f"FROM events WHERE {_week_in(q, weeks)} GROUP BY 1, 2) GROUP BY 1")
    q = Query(engine)
    week = f"CAST(date_trunc('WEEK', {q.local()}) AS DATE)"
    wau = q.run(f"SELECT {week} AS week, count(DISTINCT user_id) FROM events WHERE {_week_in(q, weeks)} GROUP BY 1")
    q = Query(engine)
    head = _filtered_signups(q, ev, weeks)
    week = f"CAST(date_trunc('WEEK', {q.local()}) AS DATE)"
    ret = q.run(head + f", au AS (SELECT DISTINCT user_id, {week} AS week FROM events WHERE {_week_in(q, weeks)}) "
                "SELECT sw.week, count(DISTINCT sw.user_id) FROM sw JOIN au ON sw.user_id = au.user_id "
                "AND au.week = sw.week + 7 GROUP BY 1")
    q = Query(engine)
    week = f"CAST(date_trunc('WEEK', {q.local()}) AS DATE)"
    rev = f"CAST({q.prop(ev.revenue)} AS DOUBLE)"
    rev_rows = q.run(f"SELECT {week} AS week, sum({rev}), count(*), count(DISTINCT user_id) FROM events "
                     f"WHERE {_week_in(q, weeks)} AND event = {q.value(ev.purchase)} GROUP BY 1")
    return {"by_channel": by_channel, "spend": spend, "act": act, "dau": dau, "wau": wau, "ret": ret,
            "rev": rev_rows}
