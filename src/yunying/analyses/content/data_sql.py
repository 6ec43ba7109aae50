"""The content counts on DuckDB as plain SQL (no Ibis import at start-up): the queries the Ibis expressions of
:mod:`yunying.analyses.content.data` compile to, every value a parameter, results as Arrow tables. The Ibis
expressions stay for filters and other engines; tests/content/test_content_sql_oracle.py checks both agree."""
from __future__ import annotations

import math

from ..sql import Query


def _where(q: Query, spec, conds: list[str]) -> str:
    """``conds`` (their parameters already added), then the range's local dates (as ``local_date_filter``):
    parameters in the order of their ``?`` in the text."""
    out = []
    if spec.date_from is not None:
        out.append(f"CAST({q.local()} AS DATE) >= {q.value(spec.date_from)}::DATE")
    if spec.date_to is not None:
        out.append(f"CAST({q.local()} AS DATE) <= {q.value(spec.date_to)}::DATE")
    return " WHERE " + " AND ".join(conds + out)


def _per_user(q: Query, spec, events: dict[str, str], first_view: bool = False) -> str:
    """Events of the range with a content id, one row per (piece, user) with the count of each of ``events``
    (``{column: event}``) and the first view's time: distinct users are then rows, a cheaper plan than
    ``count(DISTINCT …)``."""
    cols = "".join(f", count(*) FILTER (WHERE event = {q.value(e)}) AS {c}" for c, e in events.items())
    if first_view:
        cols += f", min(ts) FILTER (WHERE event = {q.value(spec.view_event)}) AS t0"
    sql = f"SELECT content_id, user_id{cols} FROM events"
    sql += _where(q, spec, [f"event IN ({q.values(list(events.values()))})", "content_id IS NOT NULL"])
    return sql + " GROUP BY content_id, user_id"


def event_counts(engine, spec):
    """Per ``content_id``: readers, views, sharers, shares, followers, first_view."""
    q = Query(engine)
    per_user = _per_user(q, spec, {"nv": spec.view_event, "ns": spec.share_event, "nf": spec.follow_event}, True)
    return q.arrow("SELECT content_id, count(user_id) FILTER (WHERE nv > 0) AS readers, CAST(sum(nv) AS BIGINT) AS views, "
                   "count(user_id) FILTER (WHERE ns > 0) AS sharers, CAST(sum(ns) AS BIGINT) AS shares, "
                   "count(user_id) FILTER (WHERE nf > 0) AS followers, min(t0) AS first_view "
                   f"FROM ({per_user}) GROUP BY content_id")


def conversion_events(engine, spec, cfg):
    """user_id, event, ts, content_id, __rev of the range's signups and purchases."""
    q = Query(engine)
    sql = f"SELECT user_id, event, ts, content_id, CAST({q.prop(cfg.events.revenue)} AS DOUBLE) AS __rev FROM events"
    sql += _where(q, spec, [f"event IN ({q.values([cfg.events.signup, cfg.events.purchase])})"])
    return q.arrow(sql)


def converters_views(engine, spec, cfg):
    """user_id, ts, content_id of the range's views of a piece by users with a signup or purchase in the range."""
    q = Query(engine)
    sql = "SELECT user_id, ts, content_id FROM events"
    sql += _where(q, spec, [f"event = {q.value(spec.view_event)}", "content_id IS NOT NULL"])
    sub = "SELECT DISTINCT user_id FROM events"
    sub += _where(q, spec, [f"event IN ({q.values([cfg.events.signup, cfg.events.purchase])})",
                            "user_id IS NOT NULL"])
    return q.arrow(f"{sql} AND user_id IN ({sub})")


def referral_counts(engine, spec):
    """Per ``content_id``: readers, sharers, shares of the range (``yunying referrals`` per piece)."""
    q = Query(engine)
    per_user = _per_user(q, spec, {"nv": spec.view_event, "ns": spec.share_event})
    return q.arrow("SELECT content_id, count(user_id) FILTER (WHERE nv > 0) AS readers, "
                   "count(user_id) FILTER (WHERE ns > 0) AS sharers, CAST(sum(ns) AS BIGINT) AS shares "
                   f"FROM ({per_user}) GROUP BY content_id")


def conversion_pieces(engine, spec, cfg):
    """The content ids carried by the range's signups and purchases."""
    q = Query(engine)
    sql = "SELECT DISTINCT content_id FROM events" + _where(
        q, spec, [f"event IN ({q.values([cfg.events.signup, cfg.events.purchase])})", "content_id IS NOT NULL"])
    return q.arrow(sql)


def conversions(engine, spec, cfg):
    """Per ``content_id``: signups, purchases, revenue, converters, new_users (``data.conversions``) in one query.
    A conversion without a content id goes to the piece its user viewed last within ``window_hours`` before it:
    an ASOF join on the views of that user between their first such conversion − the window and their last
    (no other view can be the one); views of several pieces at the same instant count as a view of the largest
    piece id. ``converters``: users with a conversion attributed to a piece they viewed in the range."""
    q = Query(engine)
    conv = [cfg.events.signup, cfg.events.purchase]

    def views() -> str:  # the range's views of a piece, each use its own scan (joined at once with a few users)
        return "(SELECT user_id, ts, content_id FROM events" + _where(
            q, spec, [f"event = {q.value(spec.view_event)}", "content_id IS NOT NULL"]) + ")"

    c = f"SELECT user_id, event, ts, content_id, CAST({q.prop(cfg.events.revenue)} AS DOUBLE) AS __rev FROM events"
    c += _where(q, spec, [f"event IN ({q.values(conv)})"])
    window_us = math.floor(spec.window_hours * 3_600_000_000)
    rest = "SELECT * FROM c WHERE content_id IS NULL AND user_id IS NOT NULL"
    sql = (f"WITH c AS ({c}), "
           f"b AS (SELECT user_id, min(ts) - to_microseconds({q.value(window_us)}) AS lo, max(ts) AS hi FROM ({rest}) "
           "GROUP BY user_id), "
           f"m AS (SELECT r.user_id, r.event, r.__rev, l.ts AS vts FROM ({rest}) AS r ASOF JOIN "
           f"(SELECT v.user_id, v.ts FROM {views()} AS v JOIN b ON v.user_id = b.user_id AND v.ts BETWEEN b.lo AND b.hi) "
           f"AS l ON r.user_id = l.user_id AND r.ts >= l.ts WHERE epoch_us(r.ts) - epoch_us(l.ts) <= {q.value(window_us)}), "
           "mk AS (SELECT DISTINCT user_id, vts FROM m), "
           f"tied AS (SELECT v.user_id, v.ts, max(v.content_id) AS content_id FROM {views()} AS v JOIN mk "
           "ON v.user_id = mk.user_id AND v.ts = mk.vts GROUP BY v.user_id, v.ts), "
           "a AS (SELECT user_id, event, content_id, __rev, TRUE AS direct FROM c WHERE content_id IS NOT NULL "
           "UNION ALL SELECT m.user_id, m.event, t.content_id, m.__rev, FALSE FROM m JOIN tied AS t "
           "ON m.user_id = t.user_id AND m.vts = t.ts), "
           "ak AS (SELECT DISTINCT content_id, user_id FROM a WHERE user_id IS NOT NULL), "
           f"pairs AS (SELECT DISTINCT v.content_id, v.user_id FROM {views()} AS v JOIN ak "
           "ON v.content_id = ak.content_id AND v.user_id = ak.user_id) "
           f"SELECT a.content_id, count(*) FILTER (WHERE a.event = {q.value(cfg.events.signup)}) AS signups, "
           f"count(*) FILTER (WHERE a.event = {q.value(cfg.events.purchase)}) AS purchases, "
           f"coalesce(fsum(a.__rev) FILTER (WHERE a.event = {q.value(cfg.events.purchase)}), 0) AS revenue, "
           "count(DISTINCT a.user_id) FILTER (WHERE p.user_id IS NOT NULL) AS converters, "
           f"count(DISTINCT a.user_id) FILTER (WHERE a.direct AND a.event = {q.value(cfg.events.signup)}) "
           "AS new_users FROM a LEFT JOIN pairs AS p ON a.content_id = p.content_id AND a.user_id = p.user_id "
           "GROUP BY a.content_id ORDER BY a.content_id")
    return q.arrow(sql)


def piece_counts(engine, spec, cfg):
    """``event_counts`` and ``conversions`` in one query, one row per piece either has (the other's counts NULL).
    Last-view attribution reads only the views of converting users, per (user, instant) with the largest piece
    id, so the ASOF join's match is that piece. A conversion credited by last view was made by a reader of the
    piece (its view is one of the range's), so only the pieces carried by conversions are checked against the
    views for ``converters`` (tests/content/test_pieces_oracle.py: the same counts as the two queries)."""
    q = Query(engine)
    conv = [cfg.events.signup, cfg.events.purchase]

    def views() -> str:  # the range's views of a piece (parameters are taken in the order of the text)
        return "(SELECT user_id, ts, content_id FROM events" + _where(
            q, spec, [f"event = {q.value(spec.view_event)}", "content_id IS NOT NULL"]) + ")"

    c = f"SELECT user_id, event, ts, content_id, CAST({q.prop(cfg.events.revenue)} AS DOUBLE) AS __rev FROM events"
    c += _where(q, spec, [f"event IN ({q.values(conv)})"])
    window_us = math.floor(spec.window_hours * 3_600_000_000)
    sql = (f"WITH c AS ({c}), rest AS (SELECT * FROM c WHERE content_id IS NULL AND user_id IS NOT NULL), "
           f"b AS (SELECT user_id, min(ts) - to_microseconds({q.value(window_us)}) AS lo, max(ts) AS hi FROM rest "
           "GROUP BY user_id), "
           f"lv AS (SELECT v.user_id, v.ts, max(v.content_id) AS content_id FROM {views()} AS v JOIN b "
           "ON v.user_id = b.user_id AND v.ts BETWEEN b.lo AND b.hi GROUP BY v.user_id, v.ts), "
           "m AS (SELECT r.user_id, r.event, r.__rev, l.content_id FROM rest AS r ASOF JOIN lv AS l "
           f"ON r.user_id = l.user_id AND r.ts >= l.ts WHERE epoch_us(r.ts) - epoch_us(l.ts) <= {q.value(window_us)}), "
           "a AS (SELECT user_id, event, content_id, __rev, TRUE AS direct FROM c WHERE content_id IS NOT NULL "
           "UNION ALL SELECT user_id, event, content_id, __rev, FALSE FROM m), "
           "dk AS (SELECT DISTINCT content_id, user_id FROM c WHERE content_id IS NOT NULL AND user_id IS NOT NULL), "
           f"p AS (SELECT DISTINCT v.content_id, v.user_id FROM {views()} AS v JOIN dk "
           "ON v.content_id = dk.content_id AND v.user_id = dk.user_id), ")
    per_user = _per_user(q, spec, {"nv": spec.view_event, "ns": spec.share_event, "nf": spec.follow_event}, True)
    sql += ("ev AS (SELECT content_id, count(user_id) FILTER (WHERE nv > 0) AS readers, "
            "CAST(sum(nv) AS BIGINT) AS views, count(user_id) FILTER (WHERE ns > 0) AS sharers, "
            "CAST(sum(ns) AS BIGINT) AS shares, count(user_id) FILTER (WHERE nf > 0) AS followers, "
            f"min(t0) AS first_view FROM ({per_user}) GROUP BY content_id), "
            f"cv AS (SELECT a.content_id, count(*) FILTER (WHERE a.event = {q.value(cfg.events.signup)}) AS signups, "
            f"count(*) FILTER (WHERE a.event = {q.value(cfg.events.purchase)}) AS purchases, "
            f"coalesce(fsum(a.__rev) FILTER (WHERE a.event = {q.value(cfg.events.purchase)}), 0) AS revenue, "
            "count(DISTINCT a.user_id) FILTER (WHERE NOT a.direct OR p.user_id IS NOT NULL) AS converters, "
            f"count(DISTINCT a.user_id) FILTER (WHERE a.direct AND a.event = {q.value(cfg.events.signup)}) "
            "AS new_users FROM a LEFT JOIN p ON a.content_id = p.content_id AND a.user_id = p.user_id "
            "GROUP BY a.content_id) "
            "SELECT coalesce(ev.content_id, cv.content_id) AS content_id, ev.* EXCLUDE (content_id), "
            "cv.* EXCLUDE (content_id) FROM ev FULL OUTER JOIN cv ON ev.content_id = cv.content_id")
    return q.arrow(sql)
