"""The operations overview: 拉新 / 促活 / 留存 / revenue headline figures, week over week.

Definitions (docs/definitions.md#overview). The reference week is the last complete
ISO week (Monday–Sunday, workspace time zone) in the data, compared with the week before.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
from pydantic import field_validator

from .base import Result, pct_change, ratio
from .overview_sql import weekly
from .sql import Query, plain_duckdb
from .table import Columns
from .filtering import FilteredEngine, FilteredSpec
from ..sequences.calendar import period_start
from .users import DIRECT, first_touch, signups
from ..errors import Text

WEEK = dt.timedelta(days=7)


class OverviewSpec(FilteredSpec):
    kind = "overview"
    week: dt.date | None = None  # start (Monday) of the reference week; default: last complete week
    activation_hours: int = 24

    @field_validator("week")
    @classmethod
    def _monday(cls, v):
        if v is not None and v.weekday() != 0:
            raise ValueError(Text("overview.week_must_monday_start"))
        return v


# Whether a rise is good news (the colours of reports): spend is neither (a plan, not a result), a cost falls.
GOOD = {"spend": "neutral", "cost_per_registration": "down"}
SECTIONS = [
    # key, section, label, Chinese label, kind (count | money | rate | float); good: GOOD, else up
    ("new_users", "acquisition", "New users (signups)", "新增註冊用戶", "count"),
    ("spend", "acquisition", "Spend", "投放花費", "money"),
    ("cost_per_registration", "acquisition", "Cost per registration (paid channels)", "註冊成本(付費渠道)", "money"),
    ("activation_rate", "activation", "Activation rate of new users", "新用戶激活率", "rate"),
    ("dau_avg", "activation", "Average DAU", "日活躍用戶(均值)", "float"),
    ("wau", "activation", "WAU", "週活躍用戶", "count"),
    ("week1_retention", "retention", "Week-1 retention of last week's new users", "上週新用戶次週留存", "rate"),
    ("revenue", "revenue", "Revenue", "收入", "money"),
    ("paying_users", "revenue", "Paying users", "付費用戶", "count"),
    ("purchases", "revenue", "Purchases", "訂單數", "count"),
    ("arppu", "revenue", "ARPPU", "每付費用戶收入", "money"),
]


class OverviewResult(Result):
    kind = "overview"
    rows_key = "metrics"

    def records(self):
        recs = super().records()
        for r in recs:  # counts stay integers in JSON even though the column mixes kinds
            if r["kind"] == "count":
                for k in ("current", "previous"):
                    if r[k] is not None:
                        r[k] = int(r[k])
        return recs

    def chart(self):
        import plotly.graph_objects as go

        df = self.frame[self.frame["kind"] == "count"]
        fig = go.Figure([go.Bar(name="previous week", x=df["label"], y=df["previous"]),
                         go.Bar(name="this week", x=df["label"], y=df["current"])])
        fig.update_layout(barmode="group", title="Week over week")
        return fig


def _week_of(engine, ts):
    return engine.period(ts, "week")


def _rows(tab) -> list[tuple]:
    """An Arrow result as rows of Python values, its first column (a week) as a date."""
    cols = [tab.column(i).to_pylist() for i in range(tab.num_columns)]
    return [(_date(r[0]), *r[1:]) for r in zip(*cols)]


def _date(v):
    return v.date() if isinstance(v, dt.datetime) else v


def _weekly_frames(engine, spec: OverviewSpec, t, weeks: list) -> dict[str, list[tuple]]:
    """One query per figure over the three weeks, through Ibis (filters, other engines): rows by name."""
    import ibis

    ev = engine.workspace.config.events
    # 拉新: signups per week, overall and by first-touch channel; spend; paid CPR.
    s = signups(engine, ev.signup)
    ft = first_touch(engine)
    s = s.left_join(ft, "user_id")
    s = s.mutate(week=_week_of(engine, s.signup_ts), channel=ibis.coalesce(s.first_channel, ibis.literal(DIRECT)))
    s = s.filter(s.week.isin(weeks))
    by_channel = engine.execute(s.group_by(["week", "channel"]).aggregate(new_users=s.user_id.nunique()))
    sp = engine.table("spend")
    sp = sp.mutate(week=sp.date.truncate("W").cast("date"))
    spend = engine.execute(sp.filter(sp.week.isin(weeks)).group_by(["week", "channel"])
                           .aggregate(spend=sp.cost.sum()))
    # 促活: activation within N hours of signup; DAU average and WAU.
    act = t.filter(t.event == ev.activation)
    sj = s.select("user_id", "week", "signup_ts")
    activated = sj.join(act, (sj.user_id == act.user_id) & (act.ts >= sj.signup_ts)
                        & (act.ts <= sj.signup_ts + ibis.interval(hours=spec.activation_hours)))
    act_rows = engine.execute(activated.group_by(activated.week).aggregate(activated=activated.user_id.nunique()))
    a = t.mutate(day=engine.local_ts(t.ts).date(), week=_week_of(engine, t.ts))
    a = a.filter(a.week.isin(weeks))
    dau = a.group_by(["week", "day"]).aggregate(dau=a.user_id.nunique())
    dau_rows = engine.execute(dau.group_by("week").aggregate(dau_sum=dau.dau.sum()))
    wau_rows = engine.execute(a.group_by("week").aggregate(wau=a.user_id.nunique()))

    # 留存: last week's new users active this week (any event).
    active_users = a.select("user_id", "week").distinct()
    coh = s.select("user_id", cohort_week="week")
    ret = coh.join(active_users, (coh.user_id == active_users.user_id)
                   & (active_users.week == coh.cohort_week + ibis.interval(days=7)))
    ret_rows = engine.execute(ret.group_by(ret.cohort_week).aggregate(retained=ret.user_id.nunique()))

    # Revenue.
    p = a.filter(a.event == ev.purchase)
    p = p.mutate(__rev=engine.prop(p, ev.revenue).cast("float64"))
    rev_rows = engine.execute(p.group_by("week").aggregate(revenue=p.__rev.sum(), purchases=p.count(),
                                                           paying_users=p.user_id.nunique()))
    return {"by_channel": _rows(by_channel), "spend": _rows(spend), "act": _rows(act_rows), "dau": _rows(dau_rows),
            "wau": _rows(wau_rows), "ret": _rows(ret_rows), "rev": _rows(rev_rows)}


def _nan(v):
    """A missing number as pandas held it: NaN."""
    return math.nan if v is None else v


def _fsum(values) -> float:
    """A float column's sum as pandas gives it: missing values skipped, NumPy's pairwise sum."""
    return float(np.nan_to_num(np.array([_nan(v) for v in values], np.float64), nan=0.0).sum())


def _at(rows: list[tuple], w, i: int = 1, default=0):
    """Column ``i`` of the row of week ``w`` (the first column), else ``default``."""
    return next((_nan(r[i]) for r in rows if r[0] == w), default)


def _figures(f: dict[str, list[tuple]], w: dt.date, first_day: dt.date, last_day: dt.date) -> dict:
    """The overview's figures for the week starting ``w``."""
    by_channel, spend, rev = f["by_channel"], f["spend"], f["rev"]
    # Paid channels of a week: the channels with spend in that week (the same rule as `yunying channels`).
    paid = {ch for wk, ch, sp in spend if wk == w and sp is not None and sp > 0}
    nu = int(sum(n for wk, _, n in by_channel if wk == w))
    paid_nu = int(sum(n for wk, ch, n in by_channel if wk == w and ch in paid))
    spend_w = _fsum(sp for wk, _, sp in spend if wk == w)
    prev_cohort = int(sum(n for wk, _, n in by_channel if wk == w - WEEK))
    # DAU is averaged over the week's calendar days inside the data's range (days without events count as 0).
    days = (min(w + dt.timedelta(days=6), last_day) - max(w, first_day)).days + 1
    revenue_w = float(_at(rev, w, 1, default=0.0) or 0.0)
    payers = int(_at(rev, w, 3))
    return {
        "new_users": nu,
        "spend": spend_w,
        "cost_per_registration": ratio(spend_w, paid_nu),
        "activation_rate": ratio(int(_at(f["act"], w)), nu),
        "dau_avg": ratio(float(_at(f["dau"], w)), days) if days > 0 else None,
        "wau": int(_at(f["wau"], w)),
        "week1_retention": ratio(int(_at(f["ret"], w - WEEK)), prev_cohort),
        "revenue": revenue_w,
        "paying_users": payers,
        "purchases": int(_at(rev, w, 2)),
        "arppu": ratio(revenue_w, payers),
    }


def _custom_metrics(engine, week: dt.date) -> list[dict]:
    """The workspace's own metrics (``[metrics]`` of yunying.toml), this week against the week before."""
    names = list(engine.workspace.config.metrics)
    if not names:
        return []
    from .metrics import catalog, frame  # Ibis and pandas: loaded only when the workspace defines metrics

    cat = catalog(engine)
    cur = frame(engine, names, week, week + dt.timedelta(days=6), cat=cat).iloc[0]
    prev = frame(engine, names, week - WEEK, week - dt.timedelta(days=1), cat=cat).iloc[0]
    out = []
    for n in names:
        c, p = (None if v is None or v != v else float(v) for v in (cur[n], prev[n]))  # NaN: n/a
        m = cat.get(n)
        out.append({"key": n, "label": m.label, "kind": m.kind, "good": m.good, "current": c, "previous": p,
                    "change": pct_change(c, p)})
    return out


def overview(engine, spec: OverviewSpec | None = None, **kwargs) -> OverviewResult:
    spec = spec or OverviewSpec.build(**kwargs)
    cfg = engine.workspace.config
    if spec.filters:  # every event read below (signups, touches, activity, purchases) is filtered alike
        engine = FilteredEngine(engine, spec.filters)
    sql = plain_duckdb(engine)  # plain SQL (no Ibis import) unless filtered or on another engine
    first_day, last_day = _data_days(engine, sql)
    if last_day is None:
        return OverviewResult(spec, Columns.from_rows([], ["key", "section", "label", "label_zh", "kind", "good",
                                                           "current", "previous", "change"]),
                              {"week": None, "message": "no events"})
    if spec.week is not None:
        week = spec.week
    else:
        week = period_start(last_day, "week")
        if last_day.weekday() != 6:  # that week is not complete yet
            week -= WEEK
    weeks = [week - 2 * WEEK, week - WEEK, week]

    frames = weekly(engine, spec, weeks) if sql else _weekly_frames(engine, spec, engine.events(), weeks)
    by_channel, spend = frames["by_channel"], frames["spend"]
    cur, prev = _figures(frames, week, first_day, last_day), _figures(frames, week - WEEK, first_day, last_day)
    if spec.filters:  # spend belongs to no user or event: with a filter, cost figures are n/a
        for fig in (cur, prev):
            fig["spend"] = fig["cost_per_registration"] = None
    rows = [{"key": k, "section": sec, "label": label, "label_zh": zh, "kind": kind, "good": GOOD.get(k, "up"),
             "current": cur[k], "previous": prev[k], "change": pct_change(cur[k], prev[k])}
            for k, sec, label, zh, kind in SECTIONS]
    channels = []
    if by_channel:
        for ch in sorted({r[1] for r in by_channel}):
            c = int(sum(n for wk, c2, n in by_channel if wk == week and c2 == ch))
            pv = int(sum(n for wk, c2, n in by_channel if wk == week - WEEK and c2 == ch))
            sp_c = _fsum(sp for wk, c2, sp in spend if wk == week and c2 == ch) \
                if spend and not spec.filters else None
            channels.append({"channel": ch, "new_users": c, "previous": pv, "change": pct_change(c, pv),
                             "spend": sp_c, "cost_per_registration": ratio(sp_c, c) if sp_c else None})
    meta = {"week": week, "week_end": week + dt.timedelta(days=6), "previous_week": week - WEEK,
            "last_event_day": last_day, "timezone": engine.timezone, "currency": cfg.currency,
            "channels": channels, "custom_metrics": _custom_metrics(engine, week)}
    return OverviewResult(spec, Columns.from_rows(rows, list(rows[0]), object_dtype=True), meta)


def _data_days(engine, sql: bool) -> tuple[dt.date | None, dt.date | None]:
    """The first and last local day of the events."""
    if sql:
        q = Query(engine)
        return q.run(f"SELECT min(CAST({q.local()} AS DATE)), max(CAST({q.local()} AS DATE)) FROM events")[0]
    t = engine.events()
    return engine.scalar(engine.local_ts(t.ts).min().date()), engine.scalar(engine.local_ts(t.ts).max().date())
