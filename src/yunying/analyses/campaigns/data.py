"""What the campaign analyses read from the events (definitions: docs/campaigns.md#definitions), on any engine.

Days are local dates in the workspace time zone; a window ``[d0, d1]`` includes both days. Users are the resolved
``user_id`` (anonymous rows without one are not counted).
"""
from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from ...errors import SpecError
from ..base import local_date_filter
from ..properties import json_text

REACTIVATION_GAP_DAYS = 30   # a user is *reactivated* on returning after at least this many days without events
DAY = dt.timedelta(days=1)


def _side(engine, name: str) -> ibis.Table | None:
    """A workspace side table (segments, assignments): DuckDB holds them; other engines have none."""
    from ..filtering import _has_table

    return engine.backend.table(name) if _has_table(engine, name) else None


def _users_of(engine, t: ibis.Table) -> ibis.Table:
    return t.filter(t.user_id.notnull())


def audience(engine, camp) -> ibis.Table:
    """The audience's user ids (one column ``user_id``): a segment's members, users who did the audience event
    (with property = value) up to the campaign's end, or every user seen up to its end."""
    a = camp.audience
    if a.segment is not None:
        m = _side(engine, "segment_members")
        if m is None:
            raise SpecError(key="campaigns.data.campaign_audience_segment_needs", name=camp.name, segment=a.segment)
        out = m.filter(m.segment == a.segment).select("user_id").distinct()
        if not engine.execute(out.limit(1)).num_rows:
            raise SpecError(key="campaigns.data.campaign_audience_segment_has", name=camp.name, segment=a.segment)
        return out
    t = _users_of(engine, local_date_filter(engine, engine.events(), None, camp.end))
    if a.event is not None:
        engine.check_events([a.event])
        t = t.filter(t.event == a.event)
        if a.property is not None:
            t = t.filter(json_text(engine, t, a.property) == a.value)
    return t.select("user_id").distinct()


def assignment(engine, camp) -> ibis.Table | None:
    """The recorded holdout assignment (user_id, grp) of the campaign's audience, or None if none is recorded."""
    a = _side(engine, "campaign_assignments")
    if a is None:
        return None
    a = a.filter(a.campaign == camp.name).select("user_id", "grp")
    if not engine.execute(a.limit(1)).num_rows:
        return None
    return a.join(audience(engine, camp), "user_id").select("user_id", "grp")


def _purchases(engine, d0, d1):
    cfg = engine.workspace.config.events
    t = _users_of(engine, local_date_filter(engine, engine.events(), d0, d1))
    return t.filter(t.event == cfg.purchase), cfg.revenue


def coupon_line(camp):
    return next((b for b in camp.budget if b.kind == "coupons"), None)


def per_user(engine, camp, d0: dt.date, d1: dt.date, users: ibis.Table | None = None) -> pd.DataFrame:
    """Per user of ``users`` (all users with a purchase when None): purchases, revenue (0 when none) and, with a
    coupons line, coupons (the sum of its property on its event) in ``[d0, d1]``."""
    p, rev = _purchases(engine, d0, d1)
    agg = p.group_by("user_id").aggregate(purchases=p.count(), revenue=p[rev].cast("float64").sum())
    line = coupon_line(camp)
    if line is not None:
        t = _users_of(engine, local_date_filter(engine, engine.events(), d0, d1))
        t = t.filter(t.event == (line.event or engine.workspace.config.events.purchase))
        c = t.group_by("user_id").aggregate(coupons=json_text(engine, t, line.property).cast("float64").sum())
        agg = agg.outer_join(c, "user_id").select(
            user_id=ibis.coalesce(agg.user_id, c.user_id), purchases=agg.purchases, revenue=agg.revenue,
            coupons=c.coupons)
    if users is not None:
        agg = users.left_join(agg, "user_id").select(list(users.columns) + [c for c in agg.columns if c != "user_id"])
    df = engine.execute(agg).to_pandas()
    for c in ("purchases", "revenue", "coupons"):
        if c in df:
            df[c] = df[c].fillna(0).astype(float)
    return df


def coupons_total(engine, camp, d0: dt.date, d1: dt.date) -> float:
    """Coupons redeemed in ``[d0, d1]`` by the audience (0 without a coupons line)."""
    line = coupon_line(camp)
    if line is None or d1 < d0:
        return 0.0
    t = _users_of(engine, local_date_filter(engine, engine.events(), d0, d1))
    t = t.filter(t.event == (line.event or engine.workspace.config.events.purchase))
    t = t.semi_join(audience(engine, camp), "user_id")
    v = engine.scalar(json_text(engine, t, line.property).cast("float64").sum())
    return float(v or 0.0)


def media_total(engine, camp, d0: dt.date, d1: dt.date) -> float:
    total = 0.0
    for line in (b for b in camp.budget if b.kind == "media"):
        s = engine.table("spend")
        s = s.filter((s.campaign == (line.spend_campaign or camp.name)) & (s.date >= d0) & (s.date <= d1))
        total += float(engine.scalar(s.cost.cast("float64").sum()) or 0.0)
    return total


def fees_total(camp) -> float:
    return float(sum((b.actual if b.actual is not None else b.amount) for b in camp.budget if b.kind == "fees"))


def daily(engine, camp, d0: dt.date, d1: dt.date, users: ibis.Table | None = None, metrics=None) -> pd.DataFrame:
    """One row per day of ``[d0, d1]``: purchases, revenue, purchasers (users counted on their first purchase day
    in the window, so the running sum is the distinct count), new_users (users whose first event ever falls on the
    day) and reactivated_users (users whose first event in the window comes ≥ 30 days after their previous one),
    over ``users`` (everyone when None); only ``metrics`` when given (the others need scans of all events)."""
    want = set(metrics or ("purchases", "revenue", "purchasers", "new_users", "reactivated_users"))
    days = pd.date_range(d0, d1, freq="D").date
    out = pd.DataFrame(index=pd.Index(days, name="date"))
    ev = _users_of(engine, engine.events())
    if users is not None:
        ev = ev.semi_join(users, "user_id")
    ev = ev.mutate(day=engine.local_ts(ev.ts).date())
    cfg = engine.workspace.config.events
    win = ev.filter((ev.day >= d0) & (ev.day <= d1))
    p = win.filter(win.event == cfg.purchase)
    if want & {"purchases", "revenue"}:
        out = out.join(_frame(engine, p.group_by("day").aggregate(purchases=p.count(),
                                                                  revenue=p[cfg.revenue].cast("float64").sum())))
    if "purchasers" in want:
        first_p = p.group_by("user_id").aggregate(day=p.day.min())
        out = out.join(_frame(engine, first_p.group_by("day").aggregate(purchasers=first_p.count())))
    if "new_users" in want:
        first = ev.group_by("user_id").aggregate(day=ev.day.min())
        first = first.filter((first.day >= d0) & (first.day <= d1))
        out = out.join(_frame(engine, first.group_by("day").aggregate(new_users=first.count())))
    if "reactivated_users" in want:
        react = reactivated(engine, ev, d0, d1)
        out = out.join(_frame(engine, react.group_by("day").aggregate(reactivated_users=react.count())))
    for m in want:
        if m not in out:
            out[m] = 0.0
    return out.fillna(0.0).astype(float)


def reactivated(engine, ev: ibis.Table, d0: dt.date, d1: dt.date) -> ibis.Table:
    """(user_id, day): users whose first event in ``[d0, d1]`` is ≥ REACTIVATION_GAP_DAYS after their previous
    one (``ev`` has a ``day`` column)."""
    win = ev.filter((ev.day >= d0) & (ev.day <= d1))
    f = win.group_by("user_id").aggregate(day=win.day.min())
    before = ev.filter(ev.day < d0)
    last = before.group_by("user_id").aggregate(last=before.day.max())
    j = f.join(last, "user_id")
    return j.filter(j.last <= j.day - ibis.interval(days=REACTIVATION_GAP_DAYS)).select("user_id", "day")


def _frame(engine, expr) -> pd.DataFrame:
    df = engine.execute(expr).to_pandas()
    if "day" in df:
        df["day"] = pd.to_datetime(df["day"]).dt.date
        df = df.set_index("day")
        df.index.name = "date"
    return df


def cohort_activity(engine, cohort: ibis.Table, after: dt.date, weeks: int) -> pd.DataFrame:
    """Per cohort user: ``active_w1`` … ``active_wK`` (any event in week k after ``after``: days after+7(k−1)+1 …
    after+7k) and ``repeat`` (a purchase in weeks 1..K)."""
    ev = _users_of(engine, engine.events()).semi_join(cohort, "user_id")
    ev = ev.mutate(day=engine.local_ts(ev.ts).date())
    ev = ev.filter((ev.day > after) & (ev.day <= after + dt.timedelta(days=7 * weeks)))
    cfg = engine.workspace.config.events
    rows = engine.execute(ev.select("user_id", "day", is_p=(ev.event == cfg.purchase)).distinct()).to_pandas()
    users = engine.execute(cohort.select("user_id").distinct()).to_pandas()
    out = pd.DataFrame(index=pd.Index(users["user_id"], name="user_id"))
    if len(rows):
        k = ((pd.to_datetime(rows["day"]).dt.date - after).map(lambda d: d.days) - 1) // 7 + 1
        rows = rows.assign(week=k.astype(int))
    for w in range(1, weeks + 1):
        active = set(rows.loc[rows["week"] == w, "user_id"]) if len(rows) else set()
        out[f"active_w{w}"] = out.index.isin(active).astype(float)
    buyers = set(rows.loc[rows["is_p"], "user_id"]) if len(rows) else set()
    out["repeat"] = out.index.isin(buyers).astype(float)
    return out


def new_in(engine, d0: dt.date, d1: dt.date, users: ibis.Table | None = None) -> ibis.Table:
    """Users whose first event ever falls in ``[d0, d1]`` (acquired then)."""
    ev = _users_of(engine, engine.events())
    if users is not None:
        ev = ev.semi_join(users, "user_id")
    ev = ev.mutate(day=engine.local_ts(ev.ts).date())
    f = ev.group_by("user_id").aggregate(day=ev.day.min())
    return f.filter((f.day >= d0) & (f.day <= d1)).select("user_id")


def reactivated_in(engine, d0: dt.date, d1: dt.date, users: ibis.Table | None = None) -> ibis.Table:
    ev = _users_of(engine, engine.events())
    if users is not None:
        ev = ev.semi_join(users, "user_id")
    ev = ev.mutate(day=engine.local_ts(ev.ts).date())
    return reactivated(engine, ev, d0, d1).select("user_id")


def last_day(engine) -> dt.date | None:
    t = engine.events()
    v = engine.scalar(engine.local_ts(t.ts).max())
    if v is None:
        return None
    return pd.Timestamp(v).date()


def as_of_window(engine, camp, as_of: dt.date | None) -> tuple[dt.date, dt.date, dt.date | None]:
    """``(as_of, end of the window read, last event day)``: as-of defaults to the last event day; the window ends
    at the campaign's end or as-of, whichever is earlier. Before the start there is nothing to read."""
    last = last_day(engine)
    as_of = as_of or last
    if as_of is None:
        raise SpecError(key="campaigns.data.workspace_has_no_events")
    if as_of < camp.start:
        raise SpecError(key="campaigns.data.campaign_starts_on_after", name=camp.name, start=camp.start, as_of=as_of)
    return as_of, min(camp.end, as_of), last


def as_array(s) -> np.ndarray:
    return np.asarray(s, dtype=float)
