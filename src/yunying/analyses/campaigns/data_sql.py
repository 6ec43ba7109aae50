"""The campaign data on DuckDB as plain SQL (no Ibis import at start-up, issue 13): the queries the Ibis
expressions of :mod:`yunying.analyses.campaigns.data` build, every value a parameter. A set of users travels as a
:class:`Sel` (SQL text with its parameters) where the Ibis path passes a table expression. The Ibis expressions
stay for filtered engines and Spark; tests/campaigns/test_campaign_sql_oracle.py checks both give the same data."""
from __future__ import annotations

import datetime as dt

from ...errors import SpecError
from ...engines.base import SIMPLE_NAME
from ..sql import Query

REACTIVATION_GAP_DAYS = 30


class Sel:
    """A query selecting users (``user_id`` first, maybe more columns), as SQL text and its parameters."""

    def __init__(self, sql: str, params: list):
        self.sql, self.params = sql, list(params)


def sub(q: Query, s: Sel) -> str:
    """``s``'s text to paste into ``q`` at this point (its parameters join ``q``'s in text order)."""
    q.params.extend(s.params)
    return s.sql


def json_text(q: Query, name: str) -> str:
    """The text of a property (``Engine.json_text``): a typed column, else the key of ``properties`` — a JSON
    path for simple names, a JSON Pointer (any characters) for the others."""
    if SIMPLE_NAME.fullmatch(name):
        return q.prop(name)
    return f"json_extract_string(properties, {q.value('/' + name.replace('~', '~0').replace('/', '~1'))})"


def day(q: Query) -> str:
    return f"CAST({q.local('ts')} AS DATE)"


def _events(q: Query, users: Sel | None, extra: str = "", only: tuple | None = None) -> str:
    """user_id, event, ts (``extra`` columns, their parameters already added) and the local ``day`` of events with
    a user (of ``users`` when given); ``only``: (event, first day, last day), those events of those days alone."""
    sql = (f"SELECT user_id, event, ts, {extra + ', ' if extra else ''}{day(q)} AS day FROM events "
           "WHERE user_id IS NOT NULL")
    if only is not None:
        sql += (f" AND event = {q.value(only[0])} AND {day(q)} >= {q.value(only[1])}::DATE AND "
                f"{day(q)} <= {q.value(only[2])}::DATE")
    if users is not None:
        sql += f" AND user_id IN (SELECT user_id FROM ({sub(q, users)}))"
    return sql


def audience(engine, camp) -> Sel:
    a = camp.audience
    if a.segment is not None:
        if not engine.has_table("segment_members"):
            raise SpecError(key="campaigns.data.campaign_audience_segment_needs", name=camp.name, segment=a.segment)
        out = Sel("SELECT DISTINCT user_id FROM segment_members WHERE segment = ?", [a.segment])
        if not _any(engine, out):
            raise SpecError(key="campaigns.data.campaign_audience_segment_has", name=camp.name, segment=a.segment)
        return out
    q = Query(engine)
    sql = f"SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL AND {day(q)} <= {q.value(camp.end)}::DATE"
    if a.event is not None:
        engine.check_events([a.event])
        sql += f" AND event = {q.value(a.event)}"
        if a.property is not None:
            sql += f" AND {json_text(q, a.property)} = {q.value(a.value)}"
    return Sel(sql, q.params)


def _any(engine, s: Sel) -> bool:
    q = Query(engine)
    return bool(q.run(f"SELECT 1 FROM ({sub(q, s)}) LIMIT 1"))


def assignment(engine, camp) -> Sel | None:
    if not engine.has_table("campaign_assignments"):
        return None
    mine = Sel("SELECT user_id, grp FROM campaign_assignments WHERE campaign = ?", [camp.name])
    if not _any(engine, mine):
        return None
    q = Query(engine)
    sql = f"SELECT a.user_id, a.grp FROM ({sub(q, mine)}) AS a JOIN ({sub(q, audience(engine, camp))}) AS b " \
          "ON a.user_id = b.user_id"
    return Sel(sql, q.params)


def users_ids(engine, s: Sel) -> list:
    q = Query(engine)
    return [r[0] for r in q.run(f"SELECT user_id FROM ({sub(q, s)})")]


def per_user(engine, camp, d0: dt.date, d1: dt.date, users: Sel | None, line):
    """The Arrow table of ``data.per_user`` (before its zeros are filled in)."""
    evs = engine.workspace.config.events
    q = Query(engine)
    rev = q.prop(evs.revenue)
    agg = (f"SELECT user_id, count(*) AS purchases, sum(CAST({rev} AS DOUBLE)) AS revenue FROM events WHERE user_id "
           f"IS NOT NULL AND {day(q)} >= {q.value(d0)}::DATE AND {day(q)} <= {q.value(d1)}::DATE AND "
           f"event = {q.value(evs.purchase)} GROUP BY user_id")
    cols = ["purchases", "revenue"]
    if line is not None:
        c = (f"SELECT user_id, sum(CAST({json_text(q, line.property)} AS DOUBLE)) AS coupons FROM events WHERE "
             f"user_id IS NOT NULL AND {day(q)} >= {q.value(d0)}::DATE AND {day(q)} <= {q.value(d1)}::DATE AND "
             f"event = {q.value(line.event or evs.purchase)} GROUP BY user_id")
        agg = (f"SELECT coalesce(p.user_id, c.user_id) AS user_id, p.purchases, p.revenue, c.coupons FROM ({agg}) AS p "
               f"FULL OUTER JOIN ({c}) AS c ON p.user_id = c.user_id")
        cols.append("coupons")
    if users is None:
        return q.arrow(agg)
    out = Query(engine)
    sql = f"SELECT u.*, {', '.join('g.' + c for c in cols)} FROM ({sub(out, users)}) AS u LEFT JOIN "
    return out.arrow(sql + f"({sub(out, Sel(agg, q.params))}) AS g ON u.user_id = g.user_id")


def holdout_rows(engine, users: Sel, d0: dt.date, d1: dt.date, p0: dt.date, p1: dt.date):
    """Arrays (user_id, grp, purchases, revenue, pre_purchases, pre_revenue) of the assigned ``users``: their
    purchases and revenue in ``[d0, d1]`` and in ``[p0, p1]`` (0 without any), in one scan (``per_user`` twice).
    Pieces are built in the order they are read, so their parameters line up."""
    evs = engine.workspace.config.events
    q = Query(engine)
    rows = (f"SELECT user_id, day, CAST(rev AS DOUBLE) AS rev FROM (SELECT user_id, {q.prop(evs.revenue)} AS rev, "
            f"{day(q)} AS day FROM events WHERE user_id IS NOT NULL AND event = {q.value(evs.purchase)}) WHERE "
            f"day >= {q.value(min(d0, p0))}::DATE AND day <= {q.value(max(d1, p1))}::DATE")
    u = sub(q, users)

    def within(a: dt.date, b: dt.date) -> str:
        return f"day >= {q.value(a)}::DATE AND day <= {q.value(b)}::DATE"

    sums = (f"SELECT user_id, count(*) FILTER (WHERE {within(d0, d1)}) AS purchases, sum(rev) FILTER (WHERE "
            f"{within(d0, d1)}) AS revenue, count(*) FILTER (WHERE {within(p0, p1)}) AS pre_purchases, sum(rev) "
            f"FILTER (WHERE {within(p0, p1)}) AS pre_revenue FROM r GROUP BY user_id")
    cols = ", ".join(f"CAST(coalesce(s.{c}, 0) AS DOUBLE) AS {c}"
                     for c in ("purchases", "revenue", "pre_purchases", "pre_revenue"))
    return _numpy(q, f"WITH r AS ({rows}) SELECT u.user_id, u.grp, {cols} FROM ({u}) AS u LEFT JOIN ({sums}) AS s "
                     "ON u.user_id = s.user_id")


def _numpy(q: Query, sql: str) -> dict:
    """The result as NumPy arrays by column (DuckDB's own conversion: Arrow's would import pandas)."""
    with q.engine.workspace.lock:
        return q.engine.con.execute(sql, q.params).fetchnumpy()


def coupons_total(engine, line, d0: dt.date, d1: dt.date, users: Sel | None) -> float:
    evs = engine.workspace.config.events
    q = Query(engine)
    sql = (f"SELECT sum(CAST({json_text(q, line.property)} AS DOUBLE)) FROM events WHERE user_id IS NOT NULL AND "
           f"{day(q)} >= {q.value(d0)}::DATE AND {day(q)} <= {q.value(d1)}::DATE AND "
           f"event = {q.value(line.event or evs.purchase)}")
    if users is not None:
        sql += f" AND user_id IN (SELECT user_id FROM ({sub(q, users)}))"
    return float(q.run(sql)[0][0] or 0.0)


def media_total(engine, campaign: str, d0: dt.date, d1: dt.date) -> float:
    q = Query(engine)
    v = q.run(f"SELECT sum(CAST(cost AS DOUBLE)) FROM spend WHERE campaign = {q.value(campaign)} AND "
              f"date >= {q.value(d0)}::DATE AND date <= {q.value(d1)}::DATE")[0][0]
    return float(v or 0.0)


def daily_counts(engine, d0: dt.date, d1: dt.date, users: Sel | None, want: set) -> dict[str, list[tuple]]:
    """Per wanted metric, its (day, value) rows over ``[d0, d1]`` (days without any left out), as ``data.daily``
    defines them, in one query."""
    evs = engine.workspace.config.events
    q = Query(engine)
    # purchase metrics alone read the purchases of the window alone (a filter the scan applies; the others need
    # every event): the CTE is read by several parts, so its rows are not narrowed by their conditions otherwise
    only = (evs.purchase, d0, d1) if want <= {"purchases", "revenue", "purchasers"} else None
    ev = _events(q, users, f"{q.prop(evs.revenue)} AS rev", only)

    def win() -> str:  # its parameters are added where it is pasted
        return f"day >= {q.value(d0)}::DATE AND day <= {q.value(d1)}::DATE"

    parts = []
    if want & {"purchases", "revenue"}:
        parts.append(f"SELECT 'purchases' AS m, day, count(*)::DOUBLE AS v FROM ev WHERE {win()} AND "
                     f"event = {q.value(evs.purchase)} GROUP BY day")
        parts.append(f"SELECT 'revenue' AS m, day, sum(CAST(rev AS DOUBLE)) AS v FROM ev WHERE "
                     f"{win()} AND event = {q.value(evs.purchase)} GROUP BY day")
    if "purchasers" in want:
        parts.append(f"SELECT 'purchasers' AS m, day, count(*)::DOUBLE AS v FROM (SELECT user_id, min(day) AS day "
                     f"FROM ev WHERE {win()} AND event = {q.value(evs.purchase)} GROUP BY user_id) GROUP BY day")
    if "new_users" in want:
        parts.append(f"SELECT 'new_users' AS m, day, count(*)::DOUBLE AS v FROM (SELECT user_id, min(day) AS day "
                     f"FROM ev GROUP BY user_id) WHERE {win()} GROUP BY day")
    if "reactivated_users" in want:
        parts.append(f"SELECT 'reactivated_users' AS m, day, count(*)::DOUBLE AS v FROM ({_reactivated(q, d0, d1)}) "
                     "GROUP BY day")
    out: dict[str, list[tuple]] = {m: [] for m in want}
    if parts:
        for m, d, v in q.run(f"WITH ev AS ({ev}) " + " UNION ALL ".join(parts)):
            if m in out:
                out[m].append((d, v))
    return out


def _reactivated(q: Query, d0: dt.date, d1: dt.date) -> str:
    """(user_id, day) of ``data.reactivated`` over a CTE ``ev`` (with ``day``)."""
    return (f"SELECT f.user_id, f.day FROM (SELECT user_id, min(day) AS day FROM ev WHERE day >= {q.value(d0)}::DATE "
            f"AND day <= {q.value(d1)}::DATE GROUP BY user_id) AS f JOIN (SELECT user_id, max(day) AS last FROM ev "
            f"WHERE day < {q.value(d0)}::DATE GROUP BY user_id) AS l ON f.user_id = l.user_id "
            f"WHERE l.last <= f.day - INTERVAL {REACTIVATION_GAP_DAYS} DAY")


def new_in(engine, d0: dt.date, d1: dt.date, users: Sel | None) -> Sel:
    q = Query(engine)
    sql = (f"SELECT user_id FROM (SELECT user_id, min(day) AS day FROM ({_events(q, users)}) GROUP BY user_id) "
           f"WHERE day >= {q.value(d0)}::DATE AND day <= {q.value(d1)}::DATE")
    return Sel(sql, q.params)


def reactivated_in(engine, d0: dt.date, d1: dt.date, users: Sel | None) -> Sel:
    q = Query(engine)
    sql = f"WITH ev AS ({_events(q, users)}) SELECT user_id FROM ({_reactivated(q, d0, d1)})"
    return Sel(sql, q.params)


def cohort_activity(engine, cohort: Sel, after: dt.date, weeks: int):
    """The Arrow table of ``data.cohort_activity`` (user_id, active_w1 … active_wK, repeat as 0/1)."""
    evs = engine.workspace.config.events
    q = Query(engine)
    c = f"SELECT DISTINCT user_id FROM ({sub(q, cohort)})"
    rows = (f"SELECT DISTINCT user_id, ((day - {q.value(after)}::DATE) - 1) // 7 + 1 AS week, "
            f"event = {q.value(evs.purchase)} AS is_p FROM ({_events(q, None)}) "
            f"WHERE user_id IN (SELECT user_id FROM c) AND day > {q.value(after)}::DATE AND "
            f"day <= {q.value(after + dt.timedelta(days=7 * weeks))}::DATE")
    cols = ", ".join(f"CAST(coalesce(bool_or(r.week = {w}), false) AS DOUBLE) AS active_w{w}"
                     for w in range(1, weeks + 1))
    sql = (f"WITH c AS ({c}), r AS ({rows}) SELECT c.user_id, {cols}, CAST(coalesce(bool_or(r.is_p), false) AS DOUBLE) "
           "AS repeat FROM c LEFT JOIN r ON c.user_id = r.user_id GROUP BY c.user_id")
    return q.arrow(sql)


def cohorts_activity(engine, users: Sel | None, cohorts: list[tuple], weeks: int) -> list[dict]:
    """``cohort_activity`` of several cohorts of ``users`` from one pass over their events: each cohort
    ``(kind, d0, d1, after)`` is ``new_in`` (kind ``acquired``) or ``reactivated_in`` over ``[d0, d1]``, followed
    ``weeks`` weeks after ``after``. One row per user carries every cohort's membership and activity (a cohort's
    users all have events of ``users``' events, so that pass sees all their activity). Pieces are built in the
    order they are read, so their parameters line up. Columns as arrays (user_id, active_w1 … active_wK, repeat)."""
    evs = engine.workspace.config.events
    q = Query(engine)

    def between(lo: dt.date, hi: dt.date, open_lo: bool = False) -> str:
        return f"day {'>' if open_lo else '>='} {q.value(lo)}::DATE AND day <= {q.value(hi)}::DATE"

    aggs = ["min(day) AS first_all"]
    for k, (kind, d0, d1, after) in enumerate(cohorts):
        if kind != "acquired":
            aggs += [f"min(day) FILTER (WHERE {between(d0, d1)}) AS f{k}",
                     f"max(day) FILTER (WHERE day < {q.value(d0)}::DATE) AS l{k}"]
        for w in range(1, weeks + 1):  # week w after ``after``: its days after+7(w-1)+1 … after+7w
            week = between(after + dt.timedelta(days=7 * (w - 1)), after + dt.timedelta(days=7 * w), True)
            aggs.append(f"CAST(count(*) FILTER (WHERE {week}) > 0 AS DOUBLE) AS a{k}_w{w}")
        aggs.append(f"CAST(count(*) FILTER (WHERE event = {q.value(evs.purchase)} AND "
                    f"{between(after, after + dt.timedelta(days=7 * weeks), True)}) > 0 AS DOUBLE) AS r{k}")
    pu = f"SELECT user_id, {', '.join(aggs)} FROM ({_events(q, users)}) GROUP BY user_id"
    selects = []
    for k, (kind, d0, d1, _) in enumerate(cohorts):
        member = (f"first_all >= {q.value(d0)}::DATE AND first_all <= {q.value(d1)}::DATE" if kind == "acquired"
                  else f"l{k} <= f{k} - INTERVAL {REACTIVATION_GAP_DAYS} DAY")
        cols = ", ".join(f"a{k}_w{w} AS active_w{w}" for w in range(1, weeks + 1))
        selects.append(f"SELECT {k} AS k, user_id, {cols}, r{k} AS repeat FROM pu WHERE {member}")
    got = _numpy(q, f"WITH pu AS ({pu}) " + " UNION ALL ".join(selects))
    return [{c: v[got["k"] == k] for c, v in got.items() if c != "k"} for k in range(len(cohorts))]


def last_day(engine) -> dt.date | None:
    q = Query(engine)
    v = q.run(f"SELECT CAST(max({q.local('ts')}) AS DATE) FROM events")[0][0]
    return v


def _panel_users(q: Query, camp, end: dt.date, aud: Sel) -> str:
    """``user_id, treated`` of the difference-in-differences panel (``data.panel``): users with an event by the day
    before the start (their first event, counting events up to ``end``, comes by then) — for an audience "did EVENT
    with PROPERTY = VALUE", only those who did EVENT by ``end`` — and whether each is in the audience (``aud``: a
    segment's members; every user seen up to the campaign's end, which every panel user is; or who did the event,
    with property = value, by then: read from that event's rows alone). One pass over the events for the users,
    one over the audience event's rows. Pieces are built in the order they are read, so their parameters line up."""
    a = camp.audience
    first_by = min(end, camp.start - dt.timedelta(days=1))

    def seen() -> str:  # its parameters are added where it is pasted
        return f"SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL AND {day(q)} <= {q.value(first_by)}::DATE"

    if a.segment is not None:
        treated = f"coalesce(user_id IN (SELECT user_id FROM ({sub(q, aud)})), false)"
        return f"SELECT user_id, {treated} AS treated FROM ({seen()})"
    if a.event is None:
        return f"SELECT user_id, true AS treated FROM ({seen()})"
    prop = a.property is not None
    cond = f"day <= {q.value(camp.end)}::DATE" + (f" AND v = {q.value(a.value)}" if prop else "")
    did = f", count(*) FILTER (WHERE day <= {q.value(end)}::DATE) > 0 AS did" if prop else ""
    rows = (f"SELECT user_id, {day(q)} AS day{', ' + json_text(q, a.property) + ' AS v' if prop else ''} FROM events "
            f"WHERE user_id IS NOT NULL AND event = {q.value(a.event)}")
    per = f"SELECT user_id, count(*) FILTER (WHERE {cond}) > 0 AS treated{did} FROM ({rows}) GROUP BY user_id"
    if prop:   # the comparison group: users who did the event (with another value) by end
        return f"SELECT e.user_id, e.treated FROM ({per}) AS e SEMI JOIN ({seen()}) AS s ON s.user_id = e.user_id WHERE e.did"
    return (f"SELECT s.user_id, coalesce(e.treated, false) AS treated FROM ({per}) AS e RIGHT JOIN ({seen()}) AS s "
            "ON s.user_id = e.user_id")


def _panel_parts(engine, camp, end: dt.date, first: dt.date) -> tuple[Query, str, str]:
    """(query, users, cells) of the panel: ``user_id, treated`` of its users and ``user_id, j, purchases, revenue``
    of every user's day in ``[first, end]`` with a purchase (``j``: days from ``first``). Pieces are built in the
    order they are read, so their parameters line up."""
    evs = engine.workspace.config.events
    q = Query(engine)
    users = _panel_users(q, camp, end, audience(engine, camp))
    j = f"day - {q.value(first)}::DATE"
    ev = _events(q, None, f"{q.prop(evs.revenue)} AS rev")
    cells = (f"SELECT user_id, {j} AS j, count(*) AS purchases, sum(CAST(rev AS DOUBLE)) AS "
             f"revenue FROM ({ev}) WHERE event = {q.value(evs.purchase)} AND day >= {q.value(first)}::DATE AND "
             f"day <= {q.value(end)}::DATE GROUP BY user_id, day")
    return q, users, cells


def panel(engine, camp, end: dt.date, first: dt.date) -> dict:
    """``data.panel``: the users by id (``user_id``, ``treated``) and the cells with purchases (``i`` the user's
    position, ``j`` the day's from ``first``, ``purchases``, ``revenue``), as arrays — from one query: each panel user
    (in id order) joined to their days with purchases, a user without any on one row with no day."""
    q, users, cells = _panel_parts(engine, camp, end, first)
    got = _numpy(q, f"SELECT s.user_id, s.treated, c.j, c.purchases, c.revenue FROM ({users}) AS s "
                    f"LEFT JOIN ({cells}) AS c ON s.user_id = c.user_id ORDER BY s.user_id, c.j")
    return _cells(got, with_empty=True)


def panel_cells(engine, camp, end: dt.date, first: dt.date) -> dict:
    """``data.panel_cells``: the panel users with a purchase in ``[first, end]`` (``user_id``, ``treated``), their
    cells (``i``, ``j``, ``purchases``, ``revenue`` as in ``panel``) and the number of users of each group
    (``n_treated``, ``n_control``) — from one query: the users' cells, then one row per group with its count."""
    q, users, cells = _panel_parts(engine, camp, end, first)
    got = _numpy(q, f"WITH s AS MATERIALIZED ({users}) SELECT s.user_id, s.treated, c.j, c.purchases, c.revenue, "
                    f"NULL::BIGINT AS n FROM s JOIN ({cells}) AS c ON s.user_id = c.user_id UNION ALL "
                    "SELECT NULL, treated, NULL, NULL, NULL, count(*) FROM s GROUP BY treated ORDER BY 1, 3")
    import numpy as np

    count = ~np.ma.getmaskarray(got["n"])
    n = dict(zip(np.asarray(got["treated"], dtype=bool)[count].tolist(), np.ma.getdata(got["n"])[count].tolist()))
    out = _cells({k: v[~count] for k, v in got.items()}, with_empty=False)
    return {**out, "n_treated": int(n.get(True, 0)), "n_control": int(n.get(False, 0))}


def _cells(got: dict, with_empty: bool) -> dict:
    """The users (``user_id``, ``treated``) and cells (``i``, ``j``, values) of rows in user id order, one row per
    cell (a user without any on one row with no day when ``with_empty``)."""
    import numpy as np

    uid = np.asarray(got["user_id"], dtype=object)
    new = np.ones(uid.size, dtype=bool)
    new[1:] = uid[1:] != uid[:-1]
    has = ~np.ma.getmaskarray(got["j"]) if with_empty else np.ones(uid.size, dtype=bool)
    return {"user_id": uid[new], "treated": np.asarray(got["treated"], dtype=bool)[new],
            "i": (np.cumsum(new) - 1)[has].astype(np.int64), "j": np.ma.getdata(got["j"])[has].astype(np.int64),
            **{m: np.ma.filled(np.ma.asarray(got[m], dtype=float), np.nan)[has] for m in ("purchases", "revenue")}}


def first_values(engine, name: str) -> dict:
    """Per user, the value of property ``name`` on their earliest event carrying it (``sc_lift``'s donors)."""
    q = Query(engine)
    val = json_text(q, name)
    rows = q.run(f"SELECT user_id, arg_min(v, ts) FROM (SELECT user_id, ts, {val} AS v FROM events WHERE "
                 "user_id IS NOT NULL) WHERE v IS NOT NULL GROUP BY user_id")
    return dict(rows)
