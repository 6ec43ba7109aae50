"""The operations overview: 拉新 / 促活 / 留存 / revenue headline figures, week over week.

Definitions (docs/definitions.md#overview). The reference week is the last complete
ISO week (Monday–Sunday, workspace time zone) in the data, compared with the week before.
"""
from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from pydantic import field_validator

from .base import Result, pct_change, ratio
from .filtering import FilteredEngine, FilteredSpec
from ..sequences.calendar import period_start
from .users import DIRECT, first_touch, signups

WEEK = dt.timedelta(days=7)


class OverviewSpec(FilteredSpec):
    kind = "overview"
    week: dt.date | None = None  # start (Monday) of the reference week; default: last complete week
    activation_hours: int = 24

    @field_validator("week")
    @classmethod
    def _monday(cls, v):
        if v is not None and v.weekday() != 0:
            raise ValueError("week must be a Monday (the start of an ISO week)")
        return v


SECTIONS = [
    # key, section, label, Chinese label, kind (count | money | rate | float)
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


def _weekly_frames(engine, spec: OverviewSpec, t, weeks: list) -> dict[str, pd.DataFrame]:
    """One query per figure over the three weeks: the frames by name."""
    ev = engine.workspace.config.events
    # 拉新: signups per week, overall and by first-touch channel; spend; paid CPR.
    s = signups(engine, ev.signup)
    ft = first_touch(engine)
    s = s.left_join(ft, "user_id")
    s = s.mutate(week=_week_of(engine, s.signup_ts), channel=ibis.coalesce(s.first_channel, ibis.literal(DIRECT)))
    s = s.filter(s.week.isin(weeks))
    by_channel = engine.execute(s.group_by(["week", "channel"]).aggregate(new_users=s.user_id.nunique())).to_pandas()
    sp = engine.table("spend")
    sp = sp.mutate(week=sp.date.truncate("W").cast("date"))
    spend = engine.execute(sp.filter(sp.week.isin(weeks)).group_by(["week", "channel"])
                           .aggregate(spend=sp.cost.sum())).to_pandas()
    for df in (by_channel, spend):
        if not df.empty:
            df["week"] = pd.to_datetime(df["week"]).dt.date
    # 促活: activation within N hours of signup; DAU average and WAU.
    act = t.filter(t.event == ev.activation)
    sj = s.select("user_id", "week", "signup_ts")
    activated = sj.join(act, (sj.user_id == act.user_id) & (act.ts >= sj.signup_ts)
                        & (act.ts <= sj.signup_ts + ibis.interval(hours=spec.activation_hours)))
    act_df = engine.execute(activated.group_by(activated.week).aggregate(
        activated=activated.user_id.nunique())).to_pandas()
    a = t.mutate(day=engine.local_ts(t.ts).date(), week=_week_of(engine, t.ts))
    a = a.filter(a.week.isin(weeks))
    dau = a.group_by(["week", "day"]).aggregate(dau=a.user_id.nunique())
    dau_df = engine.execute(dau.group_by("week").aggregate(dau_sum=dau.dau.sum())).to_pandas()
    wau_df = engine.execute(a.group_by("week").aggregate(wau=a.user_id.nunique())).to_pandas()

    # 留存: last week's new users active this week (any event).
    active_users = a.select("user_id", "week").distinct()
    coh = s.select("user_id", cohort_week="week")
    ret = coh.join(active_users, (coh.user_id == active_users.user_id)
                   & (active_users.week == coh.cohort_week + ibis.interval(days=7)))
    ret_df = engine.execute(ret.group_by(ret.cohort_week).aggregate(retained=ret.user_id.nunique())).to_pandas()

    # Revenue.
    p = a.filter(a.event == ev.purchase)
    p = p.mutate(__rev=engine.prop(p, ev.revenue).cast("float64"))
    rev_df = engine.execute(p.group_by("week").aggregate(revenue=p.__rev.sum(), purchases=p.count(),
                                                         paying_users=p.user_id.nunique())).to_pandas()
    for df in (act_df, dau_df, wau_df, ret_df, rev_df):
        col = "cohort_week" if "cohort_week" in df else "week"
        if not df.empty:
            df[col] = pd.to_datetime(df[col]).dt.date

    return {"by_channel": by_channel, "spend": spend, "act": act_df, "dau": dau_df, "wau": wau_df, "ret": ret_df,
               "rev": rev_df}


def _at(df, col, w, key="week", default=0):
    if df.empty:
        return default
    row = df[df[key] == w]
    return default if row.empty else row[col].iloc[0]


def _figures(f: dict[str, pd.DataFrame], w: dt.date, first_day: dt.date, last_day: dt.date) -> dict:
    """The overview's figures for the week starting ``w``."""
    by_channel, spend, rev_df = f["by_channel"], f["spend"], f["rev"]
    # Paid channels of a week: the channels with spend in that week (the same rule as `yunying channels`).
    paid = set(spend.loc[(spend["week"] == w) & (spend["spend"] > 0), "channel"]) if not spend.empty else set()
    nu = int(by_channel.loc[by_channel["week"] == w, "new_users"].sum()) if not by_channel.empty else 0
    paid_nu = int(by_channel.loc[(by_channel["week"] == w) & by_channel["channel"].isin(paid),
                                 "new_users"].sum()) if not by_channel.empty else 0
    spend_w = float(spend.loc[spend["week"] == w, "spend"].sum()) if not spend.empty else 0.0
    prev_cohort = int(by_channel.loc[by_channel["week"] == w - WEEK, "new_users"].sum()) if not by_channel.empty else 0
    # DAU is averaged over the week's calendar days inside the data's range (days without events count as 0).
    days = (min(w + dt.timedelta(days=6), last_day) - max(w, first_day)).days + 1
    revenue_w = float(_at(rev_df, "revenue", w, default=0.0) or 0.0)
    payers = int(_at(rev_df, "paying_users", w))
    return {
        "new_users": nu,
        "spend": spend_w,
        "cost_per_registration": ratio(spend_w, paid_nu),
        "activation_rate": ratio(int(_at(f["act"], "activated", w)), nu),
        "dau_avg": ratio(float(_at(f["dau"], "dau_sum", w)), days) if days > 0 else None,
        "wau": int(_at(f["wau"], "wau", w)),
        "week1_retention": ratio(int(_at(f["ret"], "retained", w - WEEK, key="cohort_week")), prev_cohort),
        "revenue": revenue_w,
        "paying_users": payers,
        "purchases": int(_at(rev_df, "purchases", w)),
        "arppu": ratio(revenue_w, payers),
    }


def _custom_metrics(engine, week: dt.date) -> list[dict]:
    """The workspace's own metrics (``[metrics]`` of yunying.toml), this week against the week before."""
    from .metrics import catalog, frame

    names = list(engine.workspace.config.metrics)
    if not names:
        return []
    cat = catalog(engine)
    cur = frame(engine, names, week, week + dt.timedelta(days=6), cat=cat).iloc[0]
    prev = frame(engine, names, week - WEEK, week - dt.timedelta(days=1), cat=cat).iloc[0]
    out = []
    for n in names:
        c, p = (None if pd.isna(v) else float(v) for v in (cur[n], prev[n]))
        m = cat.get(n)
        out.append({"key": n, "label": m.label, "kind": m.kind, "good": m.good, "current": c, "previous": p,
                    "change": pct_change(c, p)})
    return out


def overview(engine, spec: OverviewSpec | None = None, **kwargs) -> OverviewResult:
    spec = spec or OverviewSpec.build(**kwargs)
    cfg = engine.workspace.config
    if spec.filters:  # every event read below (signups, touches, activity, purchases) is filtered alike
        engine = FilteredEngine(engine, spec.filters)
    t = engine.events()
    last_day = engine.scalar(engine.local_ts(t.ts).max().date())
    first_day = engine.scalar(engine.local_ts(t.ts).min().date())
    if last_day is None:
        return OverviewResult(spec, pd.DataFrame(columns=["key", "section", "label", "label_zh", "kind", "current",
                                                          "previous", "change"]),
                              {"week": None, "message": "no events"})
    if spec.week is not None:
        week = spec.week
    else:
        week = period_start(last_day, "week")
        if last_day.weekday() != 6:  # that week is not complete yet
            week -= WEEK
    weeks = [week - 2 * WEEK, week - WEEK, week]

    frames = _weekly_frames(engine, spec, t, weeks)
    by_channel, spend = frames["by_channel"], frames["spend"]
    cur, prev = _figures(frames, week, first_day, last_day), _figures(frames, week - WEEK, first_day, last_day)
    if spec.filters:  # spend belongs to no user or event: with a filter, cost figures are n/a
        for fig in (cur, prev):
            fig["spend"] = fig["cost_per_registration"] = None
    rows = [{"key": k, "section": sec, "label": label, "label_zh": zh, "kind": kind,
             "current": cur[k], "previous": prev[k], "change": pct_change(cur[k], prev[k])}
            for k, sec, label, zh, kind in SECTIONS]
    channels = []
    if not by_channel.empty:
        for ch in sorted(set(by_channel["channel"])):
            c = int(by_channel.loc[(by_channel["week"] == week) & (by_channel["channel"] == ch), "new_users"].sum())
            pv = int(by_channel.loc[(by_channel["week"] == week - WEEK) & (by_channel["channel"] == ch), "new_users"].sum())
            sp_c = float(spend.loc[(spend["week"] == week) & (spend["channel"] == ch), "spend"].sum()) \
                if not spend.empty and not spec.filters else None
            channels.append({"channel": ch, "new_users": c, "previous": pv, "change": pct_change(c, pv),
                             "spend": sp_c, "cost_per_registration": ratio(sp_c, c) if sp_c else None})
    meta = {"week": week, "week_end": week + dt.timedelta(days=6), "previous_week": week - WEEK,
            "last_event_day": last_day, "timezone": engine.timezone, "currency": cfg.currency,
            "channels": channels, "custom_metrics": _custom_metrics(engine, week)}
    return OverviewResult(spec, pd.DataFrame(rows, dtype=object), meta)
