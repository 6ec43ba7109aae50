"""The acquisition data on DuckDB as plain SQL (no Ibis import at start-up): the queries the Ibis expressions of
:func:`yunying.analyses.acquisition.data.load` compile to, every value a parameter. The Ibis expressions stay for
filters and other engines; tests/acquisition/test_acquisition_sql_oracle.py checks both load the same data."""
from __future__ import annotations

import datetime as dt

from ..sql import Query

_CH = "COALESCE(NULLIF(channel, ''), NULLIF(utm_source, ''))"
#: ``_CH IS NOT NULL`` as a condition DuckDB pushes into the table scan (so that the other columns, ``properties``
#: among them, are read only for the rows with a channel): the same rows, a third less time on the demo's touches
HAS_CH = "(channel <> '' OR utm_source <> '')"


def arrow_frame(tbl):
    """An Arrow table as pandas, text columns as Python strings (None when missing): the form the acquisition
    frames keep them in, made by Arrow at once (pandas' Arrow-backed text turned into objects costs more)."""
    import pandas as pd
    import pyarrow as pa

    cols = {}
    for name, col in zip(tbl.column_names, tbl.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            cols[name] = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
        else:
            cols[name] = col.to_pandas()
    return pd.DataFrame(cols, columns=tbl.column_names)


def _signups(q: Query, signup: str, date_from, date_to, all_signups: bool) -> str:
    """``s_all`` (every user's first signup) and ``s`` (those of the period unless ``all_signups``). Parameters
    are added in the order their ``?`` appear in the text."""
    sql = (f"WITH s_all AS (SELECT user_id, min(ts) AS signup_ts FROM events WHERE event = {q.value(signup)} "
           f"GROUP BY 1), s AS (SELECT user_id, signup_ts, CAST({q.local('signup_ts')} AS DATE) AS signup_day FROM s_all")
    conds = []
    if not all_signups and date_from is not None:
        conds.append(f"CAST({q.local('signup_ts')} AS DATE) >= {q.value(date_from)}::DATE")
    if not all_signups and date_to is not None:
        conds.append(f"CAST({q.local('signup_ts')} AS DATE) <= {q.value(date_to)}::DATE")
    return sql + ((" WHERE " + " AND ".join(conds)) if conds else "") + ") "


def _touch_cols(q: Query) -> str:
    return f"user_id, ts, {_CH} AS channel, utm_campaign AS campaign, CAST({q.prop('utm_content')} AS VARCHAR) AS placement"


def load_frames(engine, spec, *, all_signups: bool, nonconverting: bool, with_spend: bool) -> dict:
    """The raw frames :func:`~yunying.analyses.acquisition.data.load` builds its data from (as the Ibis queries
    give them): signups, touches, own (the signup event's own key), nonconv (or None), activated
    (user_id), purchases, firsts, as_of, spend (or None)."""
    evs = engine.workspace.config.events
    args = (evs.signup, spec.date_from, spec.date_to, all_signups)
    out = {}
    q = Query(engine)
    out["signups"] = q.arrow(_signups(q, *args) + "SELECT user_id, signup_ts, signup_day FROM s")
    q = Query(engine)
    head = _signups(q, *args)
    out["touches"] = q.arrow(
        head + f", tc AS (SELECT {_touch_cols(q)} FROM events WHERE event <> {q.value(evs.signup)} AND {HAS_CH}) "
        "SELECT tc.user_id, tc.ts, tc.channel, tc.campaign, tc.placement, s.signup_ts AS conv_ts FROM tc "
        f"JOIN s ON tc.user_id = s.user_id WHERE tc.ts <= s.signup_ts AND tc.ts >= s.signup_ts - "
        f"to_days(CAST({q.value(int(spec.lookback_days))} AS INTEGER))")
    q = Query(engine)
    head = _signups(q, *args)
    out["own"] = q.arrow(
        head + f", st AS (SELECT {_touch_cols(q)} FROM events WHERE event = {q.value(evs.signup)} AND {HAS_CH}) "
        "SELECT st.user_id, st.ts, st.channel, st.campaign, st.placement, s.signup_ts AS conv_ts FROM st "
        "JOIN s ON st.user_id = s.user_id WHERE st.ts = s.signup_ts")
    out["nonconv"] = _nonconverting(engine, spec, evs) if nonconverting else None
    q = Query(engine)
    out["activated"] = q.arrow(_signups(q, *args) + "SELECT s.user_id FROM s JOIN (SELECT DISTINCT user_id FROM events "
                               f"WHERE event = {q.value(evs.activation)}) AS a ON s.user_id = a.user_id")
    out["purchases"], out["firsts"] = _purchases(engine, evs, args)
    q = Query(engine)
    out["as_of"] = q.run("SELECT max(ts) FROM events")[0][0]
    out["spend"] = _spend(engine, spec) if with_spend else None
    return {k: v if k == "as_of" or v is None else arrow_frame(v) for k, v in out.items()}


def _nonconverting(engine, spec, evs):
    """Touches of users who never signed up, dated from the lookback before the period to its end."""
    q = Query(engine)
    sql = (f"WITH s_all AS (SELECT user_id FROM events WHERE event = {q.value(evs.signup)} GROUP BY 1), "
           f"tc AS (SELECT {_touch_cols(q)} FROM events WHERE event <> {q.value(evs.signup)} AND {HAS_CH}) "
           "SELECT tc.user_id, tc.ts, tc.channel, tc.campaign, tc.placement FROM tc ANTI JOIN s_all "
           "ON tc.user_id = s_all.user_id")
    conds = []
    if spec.date_from is not None:
        since = spec.date_from - dt.timedelta(days=int(spec.lookback_days))
        conds.append(f"CAST({q.local('tc.ts')} AS DATE) >= {q.value(since)}::DATE")
    if spec.date_to is not None:
        conds.append(f"CAST({q.local('tc.ts')} AS DATE) <= {q.value(spec.date_to)}::DATE")
    return q.arrow(sql + ((" WHERE " + " AND ".join(conds)) if conds else ""))


def _purchases(engine, evs, args):
    """Purchases per user and day since signup (revenue, count), and each user's first-purchase revenue."""
    def head(q: Query) -> str:
        return _signups(q, *args) + (
            f", pj AS (SELECT p.user_id, p.ts, CAST({q.prop(evs.revenue)} AS DOUBLE) AS _rev, s.signup_ts, "
            "CAST(floor((epoch(CAST(p.ts AS TIMESTAMP)) - epoch(CAST(s.signup_ts AS TIMESTAMP))) / 86400.0) AS BIGINT) "
            f"AS _day FROM events AS p JOIN s ON p.user_id = s.user_id WHERE p.event = {q.value(evs.purchase)}) ")

    q = Query(engine)
    purchases = q.arrow(head(q) + "SELECT user_id, _day, sum(_rev) AS revenue, count(*) AS purchases FROM pj "
                        "GROUP BY 1, 2")
    q = Query(engine)
    firsts = q.arrow(head(q) + "SELECT user_id, first(_rev ORDER BY ts) AS first_revenue FROM pj GROUP BY 1")
    return purchases, firsts


def _spend(engine, spec):
    q = Query(engine)
    conds = []
    if spec.date_from is not None:
        conds.append(f"date >= {q.value(spec.date_from)}::DATE")
    if spec.date_to is not None:
        conds.append(f"date <= {q.value(spec.date_to)}::DATE")
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    return q.arrow("SELECT date, channel, campaign, placement, cost, currency, impressions, reads, clicks FROM spend"
                   + where)
