"""What the campaign analyses read from the events (definitions: docs/campaigns.md#definitions), on any engine.

Days are local dates in the workspace time zone; a window ``[d0, d1]`` includes both days. Users are the resolved
``user_id`` (anonymous rows without one are not counted).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from ...errors import SpecError
from ..base import local_date_filter
from ..properties import json_text

if TYPE_CHECKING:  # pragma: no cover - Ibis and pandas load on first use (start-up time, issue 13)
    import ibis
    import pandas as pd

REACTIVATION_GAP_DAYS = 30   # a user is *reactivated* on returning after at least this many days without events
DAY = dt.timedelta(days=1)


def _sql(engine):
    """The plain-SQL twin of these queries (``data_sql``) when the engine is DuckDB over all its events, else None:
    then a set of users is a ``data_sql.Sel``, else an Ibis table."""
    from .. import sql

    if sql.plain_duckdb(engine):
        from . import data_sql

        return data_sql
    return None


def _side(engine, name: str) -> ibis.Table | None:
    """A workspace side table (segments, assignments): DuckDB holds them; other engines have none."""
    from ..filtering import _has_table

    return engine.backend.table(name) if _has_table(engine, name) else None


def _users_of(engine, t: ibis.Table) -> ibis.Table:
    return t.filter(t.user_id.notnull())


def audience(engine, camp) -> ibis.Table:
    """The audience's user ids (one column ``user_id``): a segment's members, users who did the audience event
    (with property = value) up to the campaign's end, or every user seen up to its end."""
    if (S := _sql(engine)) is not None:
        return S.audience(engine, camp)
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


def audience_filter(engine, camp, d1: dt.date):
    """The audience as a filter of the events of days up to ``d1``: None (nothing to filter, no scan for it) when
    it is every user seen up to the campaign's end and ``d1`` is by then — whoever has an event on those days is in
    it — else ``audience``."""
    if camp.audience.all_users and d1 <= camp.end:
        return None
    return audience(engine, camp)


def assignment(engine, camp) -> ibis.Table | None:
    """The recorded holdout assignment (user_id, grp) of the campaign's audience, or None if none is recorded."""
    if (S := _sql(engine)) is not None:
        return S.assignment(engine, camp)
    a = _side(engine, "campaign_assignments")
    if a is None:
        return None
    a = a.filter(a.campaign == camp.name).select("user_id", "grp")
    if not engine.execute(a.limit(1)).num_rows:
        return None
    return a.join(audience(engine, camp), "user_id").select("user_id", "grp")


def user_ids(engine, users) -> list:
    """The ids of a set of users (``audience`` …)."""
    if (S := _sql(engine)) is not None:
        return S.users_ids(engine, users)
    return engine.execute(users.select("user_id"))["user_id"].to_pylist()


def _purchases(engine, d0, d1):
    cfg = engine.workspace.config.events
    t = _users_of(engine, local_date_filter(engine, engine.events(), d0, d1))
    return t.filter(t.event == cfg.purchase), cfg.revenue


def coupon_line(camp):
    return next((b for b in camp.budget if b.kind == "coupons"), None)


def _per_user_ibis(engine, camp, d0: dt.date, d1: dt.date, users):
    import ibis

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
    return engine.execute(agg)


def per_user(engine, camp, d0: dt.date, d1: dt.date, users=None) -> dict:
    """Per user of ``users`` (all users with a purchase when None): purchases, revenue (0 when none) and, with a
    coupons line, coupons (the sum of its property on its event) in ``[d0, d1]``. Columns by name: ``user_id``
    and the other columns of ``users`` as lists, the sums as float arrays."""
    S = _sql(engine)
    tbl = (S.per_user(engine, camp, d0, d1, users, coupon_line(camp)) if S is not None
           else _per_user_ibis(engine, camp, d0, d1, users))
    return {c: (np.nan_to_num(np.array(tbl.column(c).to_pylist(), dtype=float), nan=0.0)
                if c in ("purchases", "revenue", "coupons") else tbl.column(c).to_pylist()) for c in tbl.column_names}


def coupons_total(engine, camp, d0: dt.date, d1: dt.date) -> float:
    """Coupons redeemed in ``[d0, d1]`` by the audience (0 without a coupons line)."""
    line = coupon_line(camp)
    if line is None or d1 < d0:
        return 0.0
    if (S := _sql(engine)) is not None:
        return S.coupons_total(engine, line, d0, d1, audience_filter(engine, camp, d1))
    t = _users_of(engine, local_date_filter(engine, engine.events(), d0, d1))
    t = t.filter(t.event == (line.event or engine.workspace.config.events.purchase))
    if (users := audience_filter(engine, camp, d1)) is not None:
        t = t.semi_join(users, "user_id")
    v = engine.scalar(json_text(engine, t, line.property).cast("float64").sum())
    return float(v or 0.0)


def media_total(engine, camp, d0: dt.date, d1: dt.date) -> float:
    total = 0.0
    S = _sql(engine)
    for line in (b for b in camp.budget if b.kind == "media"):
        if S is not None:
            total += S.media_total(engine, line.spend_campaign or camp.name, d0, d1)
            continue
        s = engine.table("spend")
        s = s.filter((s.campaign == (line.spend_campaign or camp.name)) & (s.date >= d0) & (s.date <= d1))
        total += float(engine.scalar(s.cost.cast("float64").sum()) or 0.0)
    return total


def fees_total(camp) -> float:
    return float(sum((b.actual if b.actual is not None else b.amount) for b in camp.budget if b.kind == "fees"))


METRICS = ("purchases", "revenue", "purchasers", "new_users", "reactivated_users")


def daily(engine, camp, d0: dt.date, d1: dt.date, users=None, metrics=None) -> dict:
    """Per day of ``[d0, d1]`` (``date``: the list of days; each metric: a float array over them): purchases,
    revenue, purchasers (users counted on their first purchase day in the window, so the running sum is the
    distinct count), new_users (users whose first event ever falls on the day) and reactivated_users (users whose first event in the window comes ≥ 30 days after their previous one),
    over ``users`` (everyone when None); only ``metrics`` when given (the others need scans of all events)."""
    want = set(metrics or METRICS)
    days = [d0 + k * DAY for k in range((d1 - d0).days + 1)]
    if (S := _sql(engine)) is not None:
        counts = S.daily_counts(engine, d0, d1, users, want)
        out = {"date": days}
        for m in (m for m in METRICS if m in want):
            v = np.zeros(len(days))
            for d, x in counts[m]:
                v[(d - d0).days] = x or 0.0
            out[m] = v
        return out
    return _daily_ibis(engine, d0, d1, users, want, days)


def _daily_ibis(engine, d0: dt.date, d1: dt.date, users, want: set, days: list) -> dict:
    import pandas as pd

    out = pd.DataFrame(index=pd.Index(days, name="date"))
    ev = _days(engine, users)
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
    out = out.fillna(0.0).astype(float)
    return {"date": days, **{m: out[m].to_numpy() for m in METRICS if m in want}}


def reactivated(engine, ev: ibis.Table, d0: dt.date, d1: dt.date) -> ibis.Table:
    """(user_id, day): users whose first event in ``[d0, d1]`` is ≥ REACTIVATION_GAP_DAYS after their previous
    one (``ev`` has a ``day`` column)."""
    import ibis

    win = ev.filter((ev.day >= d0) & (ev.day <= d1))
    f = win.group_by("user_id").aggregate(day=win.day.min())
    before = ev.filter(ev.day < d0)
    last = before.group_by("user_id").aggregate(last=before.day.max())
    j = f.join(last, "user_id")
    return j.filter(j.last <= j.day - ibis.interval(days=REACTIVATION_GAP_DAYS)).select("user_id", "day")


def _frame(engine, expr) -> pd.DataFrame:
    import pandas as pd

    df = engine.execute(expr).to_pandas()
    if "day" in df:
        df["day"] = pd.to_datetime(df["day"]).dt.date
        df = df.set_index("day")
        df.index.name = "date"
    return df


def cohort_activity(engine, cohort, after: dt.date, weeks: int) -> dict:
    """Per cohort user (``user_id``, a list): ``active_w1`` … ``active_wK`` (any event in week k after ``after``:
    days after+7(k−1)+1 … after+7k) and ``repeat`` (a purchase in weeks 1..K), float arrays of 0/1."""
    if (S := _sql(engine)) is not None:
        t = S.cohort_activity(engine, cohort, after, weeks)
        return {c: t.column(c).to_pylist() if c == "user_id" else np.array(t.column(c).to_pylist(), dtype=float)
                for c in t.column_names}
    import pandas as pd

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
    return {"user_id": list(out.index), **{c: out[c].to_numpy() for c in out.columns}}


def cohorts_activity(engine, users, cohorts: list[tuple], weeks: int) -> list[dict]:
    """``cohort_activity`` of each cohort ``(kind, d0, d1, after)`` of ``users``: the users acquired
    (``new_in``, kind ``acquired``) or reactivated (``reactivated_in``) in ``[d0, d1]``, followed after ``after``."""
    if (S := _sql(engine)) is not None:
        return S.cohorts_activity(engine, users, cohorts, weeks)
    fns = {"acquired": new_in, "reactivated": reactivated_in}
    return [cohort_activity(engine, fns[kind](engine, d0, d1, users), after, weeks) for kind, d0, d1, after in cohorts]


def new_in(engine, d0: dt.date, d1: dt.date, users=None):
    """Users whose first event ever falls in ``[d0, d1]`` (acquired then)."""
    if (S := _sql(engine)) is not None:
        return S.new_in(engine, d0, d1, users)
    ev = _days(engine, users)
    f = ev.group_by("user_id").aggregate(day=ev.day.min())
    return f.filter((f.day >= d0) & (f.day <= d1)).select("user_id")


def reactivated_in(engine, d0: dt.date, d1: dt.date, users=None):
    if (S := _sql(engine)) is not None:
        return S.reactivated_in(engine, d0, d1, users)
    ev = _days(engine, users)
    return reactivated(engine, ev, d0, d1).select("user_id")


def panel(engine, camp, end: dt.date, first: dt.date) -> dict:
    """The difference-in-differences panel's users and cells (``lift._panel``). Users: seen by the day before the
    start (their first event, counting events up to ``end``); for an audience "did EVENT with PROPERTY = VALUE",
    only those who did EVENT by ``end``: ``user_id`` and ``treated`` (in the audience). Cells: every user and day
    of ``[first, end]`` with a purchase: ``i`` (the user's position), ``j`` (days from ``first``), ``purchases``,
    ``revenue``."""
    if (S := _sql(engine)) is not None:
        return S.panel(engine, camp, end, first)
    aud = set(user_ids(engine, audience(engine, camp)))
    ev = _days(engine, None)
    seen = ev.filter(ev.day <= end).group_by("user_id").aggregate(first=ev.day.min())
    seen = seen.filter(seen.first <= camp.start - DAY)
    a = camp.audience
    if a.event is not None and a.property is not None:   # comparison: did the same event with another value
        did_event = ev.filter((ev.event == a.event) & (ev.day <= end)).select("user_id").distinct()
        seen = seen.semi_join(did_event, "user_id")
    users = engine.execute(seen.select("user_id"))["user_id"].to_pylist()
    cfg = engine.workspace.config.events
    p = ev.filter((ev.event == cfg.purchase) & (ev.day >= first) & (ev.day <= end))
    tbl = engine.execute(p.group_by("user_id", "day").aggregate(
        purchases=p.count(), revenue=p[cfg.revenue].cast("float64").sum()))
    index = {u: i for i, u in enumerate(users)}
    cells = [(index[u], (d - first).days, n, r) for u, d, n, r in zip(
        *(tbl.column(c).to_pylist() for c in ("user_id", "day", "purchases", "revenue"))) if u in index]
    i, j, n, r = (list(x) for x in zip(*cells)) if cells else ([], [], [], [])
    return {"user_id": users, "treated": np.array([u in aud for u in users], dtype=bool),
            "i": np.array(i, dtype=np.int64), "j": np.array(j, dtype=np.int64),
            "purchases": np.array(n, dtype=float), "revenue": np.array(r, dtype=float)}


def panel_cells(engine, camp, end: dt.date, first: dt.date) -> dict:
    """The panel of ``panel`` without its users who have no purchase in ``[first, end]`` (rows of zeros): the users
    with one (``user_id``, ``treated``), their cells (``i`` their position, ``j``, ``purchases``, ``revenue``) and
    how many users the panel has in each group (``n_treated``, ``n_control``)."""
    if (S := _sql(engine)) is not None:
        return S.panel_cells(engine, camp, end, first)
    p = panel(engine, camp, end, first)
    listed, i = np.unique(p["i"], return_inverse=True)
    treated = np.asarray(p["treated"], dtype=bool)
    return {"user_id": np.asarray(p["user_id"], dtype=object)[listed], "treated": treated[listed],
            "i": i.astype(np.int64), "j": p["j"], "purchases": p["purchases"], "revenue": p["revenue"],
            "n_treated": int(treated.sum()), "n_control": int((~treated).sum())}


def first_values(engine, name: str) -> dict:
    """Per user, the value of property ``name`` on their earliest event carrying it (ties: either)."""
    if (S := _sql(engine)) is not None:
        return S.first_values(engine, name)
    ev = _users_of(engine, engine.events())
    val = json_text(engine, ev, name) if name not in ev.columns else ev[name]
    tagged = ev.filter(val.notnull()).mutate(_v=val)
    first = tagged.group_by("user_id").aggregate(group=tagged._v.argmin(tagged.ts))
    t = engine.execute(first)
    return dict(zip(t.column("user_id").to_pylist(), t.column("group").to_pylist()))


def _days(engine, users):
    """Events with a user (of ``users`` when given) and their local ``day`` (Ibis)."""
    ev = _users_of(engine, engine.events())
    if users is not None:
        ev = ev.semi_join(users, "user_id")
    return ev.mutate(day=engine.local_ts(ev.ts).date())


def last_day(engine) -> dt.date | None:
    if (S := _sql(engine)) is not None:
        return S.last_day(engine)
    import pandas as pd

    t = engine.events()
    v = engine.scalar(engine.local_ts(t.ts).max())
    if v is None:
        return None
    return pd.Timestamp(v).date()


def as_of_window(engine, camp, as_of: dt.date | None, last=...) -> tuple[dt.date, dt.date, dt.date | None]:
    """``(as_of, end of the window read, last event day)``: as-of defaults to the last event day (``last`` when
    the caller read it already, e.g. once for the whole portfolio); the window ends at the campaign's end or as-of,
    whichever is earlier. Before the start there is nothing to read."""
    if last is ...:
        last = last_day(engine)
    as_of = as_of or last
    if as_of is None:
        raise SpecError(key="campaigns.data.workspace_has_no_events")
    if as_of < camp.start:
        raise SpecError(key="campaigns.data.campaign_starts_on_after", name=camp.name, start=camp.start, as_of=as_of)
    return as_of, min(camp.end, as_of), last


def as_array(s) -> np.ndarray:
    return np.asarray(s, dtype=float)
