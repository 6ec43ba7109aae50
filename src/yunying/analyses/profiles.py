"""Derived user properties: what every user has without anyone sending it, computed from the events.

Names start with ``$`` so they cannot collide with properties an SDK or a file sends, and filters read
them as ``user.$first_channel`` etc. on every engine (docs/users.md#derived-user-properties). All are
*current* values: computed over all events of the user at query time (after identity merges, since events
carry the resolved ``user_id``). Timestamps are UTC like every stored timestamp; a date comparison in a
filter uses their local date in the workspace time zone.

* ``$first_seen`` / ``$last_seen``: time of the user's first / last event (``$last_seen`` is the last
  active time);
* ``$first_channel``: channel key (``channel``, else ``utm_source``; empty text counts as none) of the
  earliest event that has one; ``$first_utm_source``, ``$first_utm_campaign``, ``$first_placement``
  (``utm_content``): the same for each of those;
* ``$signup_time``: first ``events.signup`` event; ``$first_purchase_time``: first ``events.purchase``;
* ``$purchase_count``: purchase events; ``$lifetime_revenue``: the revenue property summed over them
  (0 for users who never bought).

When two events of a user share the earliest timestamp, the value of the one with the smallest text
is taken, so every engine gives the same answer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - Ibis loads on first use (start-up time)
    import ibis



# filter name -> column of the derived table
DERIVED = {
    "$first_seen": "first_seen", "$last_seen": "last_seen", "$first_channel": "first_channel",
    "$first_utm_source": "first_utm_source", "$first_utm_campaign": "first_utm_campaign",
    "$first_placement": "first_placement", "$signup_time": "signup_time",
    "$first_purchase_time": "first_purchase_time", "$purchase_count": "purchase_count",
    "$lifetime_revenue": "lifetime_revenue",
}


def _first_value(t: ibis.Table, value: ibis.Value) -> ibis.Table:
    """user_id, value of the user's earliest event that has one (ties: the smallest value)."""
    value = value.cast("string").nullif("")
    s = t.select(user_id=t.user_id, ts=t.ts, v=value)
    s = s.filter(s.v.notnull())
    first = s.group_by("user_id").aggregate(first_ts=s.ts.min())
    j = s.join(first, [s.user_id == first.user_id, s.ts == first.first_ts]).select(s.user_id, s.v)
    return j.group_by("user_id").aggregate(v=j.v.min())


def derived_users(engine) -> ibis.Table:
    """One row per user id with the derived properties (columns named as the values of :data:`DERIVED`)."""
    import ibis  # loaded on first use (start-up time)

    cfg = engine.workspace.config
    t = engine.events()
    buy = t.event == cfg.events.purchase
    rev = engine.prop(t, cfg.events.revenue).cast("float64")
    base = t.group_by("user_id").aggregate(
        first_seen=t.ts.min(), last_seen=t.ts.max(),
        signup_time=t.ts.min(where=t.event == cfg.events.signup),
        first_purchase_time=t.ts.min(where=buy),
        purchase_count=buy.cast("int64").sum(),
        lifetime_revenue=ibis.ifelse(buy, rev, 0.0).sum().fill_null(0.0),
    )
    firsts = {
        "first_channel": ibis.coalesce(t.channel.nullif(""), t.utm_source.nullif("")),
        "first_utm_source": t.utm_source, "first_utm_campaign": t.utm_campaign,
        "first_placement": engine.prop(t, "utm_content"),
    }
    for name, value in firsts.items():
        f = _first_value(t, value)
        base = base.left_join(f, base.user_id == f.user_id).select(*base.columns, **{name: f.v})
    return base
