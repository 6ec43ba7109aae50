"""The channel / campaign / placement table joined to spend (docs/acquisition.md#channels)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...stats.acquisition import verdict
from ..base import ratio
from ...sequences.calendar import period_start
from .data import AcqData, credits, hide_costs_per_user, load_filtered, user_facts
from .rows import AcquisitionResult, _channel_row, _power_exponent, channel_totals, channels_meta
from .specs import BY_COLUMNS, ChannelsSpec

_DAY = pd.Timedelta(days=1)

# ------------------------------------------------------------------------------------------ curves

def revenue_curves(cred: pd.DataFrame, row_ids: np.ndarray, nrows: int, data: AcqData, facts: pd.DataFrame,
                   max_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative revenue per credited registration by days since signup, with censoring.

    Returns (num, den) of shape (nrows, max_day + 1): for d >= 1, ``num[r, d]`` is the credited
    revenue within the first d days after signup of the users of row r observed for at least d
    days, ``den[r, d]`` the credited registrations observed for at least d days.
    """
    D = max_day + 1
    num = np.zeros(nrows * D)
    den = np.zeros(nrows * D)
    if data.as_of is None or cred.empty:
        return num.reshape(nrows, D), den.reshape(nrows, D)
    obs_days = ((data.as_of - facts["signup_ts"]) / _DAY).to_numpy(dtype=float)
    obs = pd.Series(np.floor(np.clip(obs_days, 0, max_day)).astype(np.int64), index=facts["user_id"].to_numpy())
    u_obs = obs.reindex(cred["user_id"].to_numpy()).fillna(0).to_numpy(dtype=np.int64)
    c = cred["credit"].to_numpy(dtype=float)
    # den: user counted for d = 1 .. obs  -> +c at 1, -c at obs + 1
    base = row_ids * D
    np.add.at(den, base + 1, c)
    end = u_obs + 1
    ok = end < D
    np.add.at(den, base[ok] + end[ok], -c[ok])
    # num: purchase on day k counts for d = k + 1 .. obs
    pur = data.purchases
    if len(pur):
        m = pd.DataFrame({"user_id": cred["user_id"].to_numpy(), "row": row_ids, "c": c, "obs": u_obs})
        m = m.merge(pur[["user_id", "day", "revenue"]], on="user_id", how="inner")
        m = m[m["day"] + 1 <= m["obs"]]
        if len(m):
            b = m["row"].to_numpy(dtype=np.int64) * D
            v = (m["c"] * m["revenue"]).to_numpy(dtype=float)
            np.add.at(num, b + m["day"].to_numpy(dtype=np.int64) + 1, v)
            e = m["obs"].to_numpy(dtype=np.int64) + 1
            ok = e < D
            np.add.at(num, b[ok] + e[ok], -v[ok])
    num = np.cumsum(num.reshape(nrows, D), axis=1)
    den = np.cumsum(den.reshape(nrows, D), axis=1)
    return num, den


# ------------------------------------------------------------------------------------------ channels

def _period_col(days: pd.Series, interval: str | None):
    if interval is None:
        return None
    return days.map(lambda d: period_start(d, interval))


def _counts_type(values: pd.Series, integral: bool) -> pd.Series:
    if integral:
        return values.round().astype("int64")
    return values.astype("float64")


def channels(engine, spec: ChannelsSpec | None = None, **kwargs) -> AcquisitionResult:
    """The channel / campaign / placement table (docs/acquisition.md#channels)."""
    spec = spec or ChannelsSpec.build(**kwargs)
    data = load_filtered(engine, spec)
    return hide_costs_per_user(channels_from(data, spec, engine.timezone))


def _aggregate(data: AcqData, spec: ChannelsSpec):
    """Credited users and spend summed per row key (and period): (credit rows, table, key columns, user facts)."""
    keycols = BY_COLUMNS[spec.by]
    cred = credits(data, spec, spec.by)
    facts = user_facts(data)
    m = cred.merge(facts, on="user_id", how="left")
    gcols = (["period"] if spec.interval else []) + keycols
    if spec.interval:
        m["period"] = _period_col(m["signup_day"], spec.interval)
    m["w_act"] = m["credit"] * m["activated"]
    m["w_pay"] = m["credit"] * m["payer"]
    m["w_rev"] = m["credit"] * m["revenue"]
    m["w_first"] = m["credit"] * m["first_revenue"]
    users = (m.groupby(gcols, as_index=False, dropna=False)
             .agg(registrations=("credit", "sum"), activated=("w_act", "sum"), paying_users=("w_pay", "sum"),
                  first_purchase_revenue=("w_first", "sum"), revenue=("w_rev", "sum"))
             if len(m) else pd.DataFrame(columns=[*gcols, "registrations", "activated", "paying_users",
                                                   "first_purchase_revenue", "revenue"]))
    sp = data.spend.copy()
    if spec.interval:
        sp["period"] = _period_col(sp["date"], spec.interval)
    if len(sp):
        money = (sp.groupby(gcols, as_index=False, dropna=False)
                 .agg(spend=("cost", "sum"), impressions=("impressions", lambda s: s.sum(min_count=1)),
                      reads=("reads", lambda s: s.sum(min_count=1)), clicks=("clicks", lambda s: s.sum(min_count=1))))
    else:
        money = pd.DataFrame(columns=[*gcols, "spend", "impressions", "reads", "clicks"])
    df = money.merge(users, on=gcols, how="outer")
    df["paid"] = df["spend"].notna()
    df["spend"] = df["spend"].astype("float64").fillna(0.0)
    for c in ("registrations", "activated", "paying_users", "first_purchase_revenue", "revenue"):
        df[c] = df[c].astype("float64").fillna(0.0)
    integral = spec.attribution in ("first", "last")
    for c in ("registrations", "activated", "paying_users"):
        df[c] = _counts_type(df[c], integral)

    return m, df.reset_index(drop=True), gcols, facts


def _row_curves(data: AcqData, m: pd.DataFrame, df: pd.DataFrame, gcols: list, facts: pd.DataFrame):
    """Each row's cumulative revenue curve (num, den by day) and the pooled power-law exponent."""
    if len(df):
        key_index = {tuple(r): i for i, r in enumerate(df[gcols].astype(object).itertuples(index=False, name=None))}
        cm = m[gcols].astype(object).itertuples(index=False, name=None)
        row_ids = np.array([key_index[tuple(k)] for k in cm], dtype=np.int64)
        max_day = 1
        if data.as_of is not None and len(facts):
            max_day = int(max(1, min(3650, math.floor((data.as_of - facts["signup_ts"].min()) / _DAY))))
        num, den = revenue_curves(m, row_ids, len(df), data, facts, max_day)
        pooled_b = _power_exponent(num.sum(axis=0), den.sum(axis=0), 0.2)
    else:
        num = den = np.zeros((0, 2))
        pooled_b = None
    return num, den, pooled_b


def channels_from(data: AcqData, spec: ChannelsSpec, timezone: str = "UTC") -> AcquisitionResult:
    m, df, gcols, facts = _aggregate(data, spec)
    num, den, pooled_b = _row_curves(data, m, df, gcols, facts)
    rows = [_channel_row(r, gcols, spec, num[i] if len(num) else None, den[i] if len(num) else None, pooled_b)
            for i, r in df.iterrows()]
    out = pd.DataFrame(rows)
    if len(out):
        paid = out[out["spend"] > 0]
        bench_by = None
        if spec.interval:
            g = paid.groupby("period")[["spend", "paying_users"]].sum()
            bench_by = {p: ratio(float(v["spend"]), float(v["paying_users"])) for p, v in g.iterrows()}
        bench = ratio(float(paid["spend"].sum()), float(paid["paying_users"].sum()))
        out["verdict"] = [verdict(lo, hi, bench_by.get(p) if bench_by else bench, s)
                          for lo, hi, s, p in zip(out["cac_low"], out["cac_high"], out["spend"],
                                                  out["period"] if spec.interval else [None] * len(out))]
        sort = (["period"] if spec.interval else []) + ["spend", "registrations"]
        asc = ([True] if spec.interval else []) + [False, False]
        out = out.sort_values(sort, ascending=asc, kind="stable").reset_index(drop=True)
    else:
        bench = None
        out = pd.DataFrame(columns=[*gcols, "spend", "registrations", "cost_per_registration", "paying_users",
                                    "cost_per_paying_user", "revenue", "roas"])
    meta = channels_meta(data, spec, data.as_of.date() if data.as_of is not None else None, timezone, bench,
                         pooled_b, channel_totals(out.to_dict(orient="records")))
    return AcquisitionResult(spec, out, meta)
