"""The content counts on DuckDB as plain SQL (no Ibis import at start-up): the queries the Ibis expressions of
:mod:`yunying.analyses.content.data` compile to, every value a parameter, results as Arrow tables. The Ibis
expressions stay for filters and other engines; tests/content/test_content_sql_oracle.py checks both agree."""
from __future__ import annotations

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


def event_counts(engine, spec):
    """Per ``content_id``: readers, views, sharers, shares, followers, first_view."""
    q = Query(engine)
    sql = (f"SELECT content_id, count(DISTINCT user_id) FILTER (WHERE event = {q.value(spec.view_event)}) AS readers, "
           f"sum(CAST(event = {q.value(spec.view_event)} AS BIGINT)) AS views, "
           f"count(DISTINCT user_id) FILTER (WHERE event = {q.value(spec.share_event)}) AS sharers, "
           f"sum(CAST(event = {q.value(spec.share_event)} AS BIGINT)) AS shares, "
           f"count(DISTINCT user_id) FILTER (WHERE event = {q.value(spec.follow_event)}) AS followers, "
           f"min(ts) FILTER (WHERE event = {q.value(spec.view_event)}) AS first_view FROM events")
    names = [spec.view_event, spec.share_event, spec.follow_event]
    sql += _where(q, spec, [f"event IN ({q.values(names)})", "content_id IS NOT NULL"])
    return q.arrow(sql + " GROUP BY content_id")


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
    sql = (f"SELECT content_id, count(DISTINCT user_id) FILTER (WHERE event = {q.value(spec.view_event)}) AS readers, "
           f"count(DISTINCT user_id) FILTER (WHERE event = {q.value(spec.share_event)}) AS sharers, "
           f"sum(CAST(event = {q.value(spec.share_event)} AS BIGINT)) AS shares FROM events")
    sql += _where(q, spec, [f"event IN ({q.values([spec.view_event, spec.share_event])})", "content_id IS NOT NULL"])
    return q.arrow(sql + " GROUP BY content_id")
