"""Acquisition (拉新): spend joined to the users it bought.

``channels``   channel / campaign / placement table: spend, impressions, reads, clicks, CTR, CPC,
               registrations, cost per registration, activated, paying users, CAC (cost per paying
               user, with an interval), first-purchase revenue, revenue to date, ROAS, payback days
               and LTV/CAC — per period (day/week/month) if asked.
``placements`` the placement funnel exposure → read → click → registration → purchase, with each
               stage's conversion and cost, the leaking stage flagged against the channel's median,
               and placements ranked by CAC with intervals ("too early to tell").
``budget``     diminishing-returns response curves per channel and a reallocation of a budget that
               lowers overall CAC (a model estimate, with an uncertainty range): see ``response.py``.

Every definition (口徑) with a worked example: docs/acquisition.md.

Data rules
----------
* A user's **signup** is their first ``events.signup`` event; registrations are counted by the
  signup's local date (workspace time zone).
* A **touch** is any non-signup event with a channel key, at or before the signup and at most
  ``lookback_days`` before it. The **channel key** is ``channel`` if set, else ``utm_source``,
  then mapped through ``channel_map`` (e.g. ``{"baidu": "search"}``) so it matches the spend
  table's ``channel``. Campaign = ``utm_campaign``; placement = the ``utm_content`` property.
  Touches of one user with the same (channel, campaign, placement) less than
  ``touch_gap_minutes`` apart are one touch (an ad click and its landing view).
  A user with no such touch but a channel key on the signup event itself gets that as the
  single touch; a user with neither is ``direct/unknown`` — never dropped.
* Revenue is the ``events.revenue`` property of ``events.purchase`` events, all of it to date
  (the end of the data), for the users whose signup falls in the period.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from ..errors import SpecError
from .attribution import DIRECT_CHANNELS, MODEL_LABELS, MODELS, collapse_touches, sort_touches, touch_weights
from .base import Result, Spec, ratio
from .periods import period_start
from .users import DIRECT

NONE = "(none)"
Attribution = Literal["first", "last", "linear", "time_decay", "position", "markov"]
BY_COLUMNS = {"channel": ["channel"], "campaign": ["channel", "campaign"], "placement": ["channel", "placement"]}
_DAY = pd.Timedelta(days=1)


# ------------------------------------------------------------------------------------------ specs

class AcquisitionSpec(Spec):
    """Settings shared by every acquisition analysis."""

    kind = "acquisition"
    attribution: Attribution = "first"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    lookback_days: int = 30
    half_life_days: float = 7.0
    position_shares: tuple[float, float] = (0.4, 0.4)
    touch_gap_minutes: float = 30.0
    channel_map: dict[str, str] = Field(default_factory=dict)
    confidence: float = 0.95

    @model_validator(mode="after")
    def _check_common(self):
        if self.lookback_days < 0:
            raise ValueError("lookback_days must be >= 0")
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        f, l_ = self.position_shares
        if f < 0 or l_ < 0 or f + l_ > 1:
            raise ValueError("position_shares must be non-negative and sum to at most 1")
        if not 0.5 <= self.confidence < 1:
            raise ValueError("confidence must be in [0.5, 1)")
        return self


class ChannelsSpec(AcquisitionSpec):
    """Channel / campaign / placement table joined to spend."""

    kind = "channels"
    by: Literal["channel", "campaign", "placement"] = "channel"
    interval: Literal["day", "week", "month"] | None = None
    ltv_days: int = 180

    @field_validator("ltv_days")
    @classmethod
    def _ltv(cls, v):
        if v < 1:
            raise ValueError("ltv_days must be >= 1")
        return v


class PlacementsSpec(AcquisitionSpec):
    """The placement funnel (exposure → read → click → registration → purchase)."""

    kind = "placements"
    channel: str | None = None
    leak_threshold: float = 0.67
    min_denominator: int = 30

    @field_validator("leak_threshold")
    @classmethod
    def _thr(cls, v):
        if not 0 < v < 1:
            raise ValueError("leak_threshold must be between 0 and 1")
        return v


class BudgetSpec(AcquisitionSpec):
    """Response curves per channel and a reallocation of ``total`` over ``days`` days."""

    kind = "budget"
    total: float | None = None
    days: int = 30
    objective: Literal["paying_users", "registrations"] = "paying_users"
    curve: Literal["log", "hill"] = "log"
    recent_days: int = 28
    min_days: int = 5
    max_scale: float = 3.0
    settle_days: int = 3
    channels: list[str] | None = None
    draws: int = 400
    seed: int = 0

    @model_validator(mode="after")
    def _check_budget(self):
        if self.total is not None and self.total < 0:
            raise ValueError("total must be >= 0")
        if self.days < 1 or self.recent_days < 1:
            raise ValueError("days and recent_days must be >= 1")
        if self.max_scale <= 0:
            raise ValueError("max_scale must be positive")
        if self.min_days < 3:
            raise ValueError("min_days must be >= 3")
        return self


class AttributionSpec(AcquisitionSpec):
    """Registrations and revenue per key under several attribution models side by side."""

    kind = "attribution"
    by: Literal["channel", "campaign", "placement"] = "channel"
    models: list[Attribution] = Field(default_factory=lambda: list(MODELS))


# ------------------------------------------------------------------------------------------ loading

@dataclass
class AcqData:
    signups: pd.DataFrame        # user_id, signup_ts, signup_day
    touches: pd.DataFrame        # user_id, ts, channel, campaign, placement, conv_ts (collapsed, sorted)
    nonconverting: pd.DataFrame | None  # touches of users without signup (markov only)
    activated: set
    purchases: pd.DataFrame      # user_id, day (0-based days since signup), revenue, purchases
    firsts: pd.DataFrame         # user_id, first_revenue
    spend: pd.DataFrame          # date, channel, campaign, placement, cost, currency, impressions, reads, clicks
    as_of: pd.Timestamp | None
    currency: str
    warnings: list


def _key_expr(t):
    return ibis.coalesce(t.channel.nullif(""), t.utm_source.nullif(""))


def _touch_cols(engine, t):
    return t.select(user_id=t.user_id, ts=t.ts, channel=t._ch, campaign=t.utm_campaign,
                    placement=engine.prop(t, "utm_content").cast("string"))


def _to_pd(engine, expr) -> pd.DataFrame:
    return engine.execute(expr).to_pandas()


def _ts(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[us]")


def _str(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


def load(engine, spec: AcquisitionSpec, *, all_signups: bool = False, with_spend: bool = True,
         nonconverting: bool | None = None) -> AcqData:
    """Pull signups, touches, activation, purchases and spend (portable Ibis; same on every engine)."""
    cfg = engine.workspace.config
    evs = cfg.events
    ev = engine.events()
    warnings: list[str] = []

    sg = ev.filter(ev.event == evs.signup)
    s_all = sg.group_by("user_id").aggregate(signup_ts=sg.ts.min())
    s = s_all.mutate(signup_day=engine.local_ts(s_all.signup_ts).date())
    if not all_signups:
        if spec.date_from is not None:
            s = s.filter(s.signup_day >= spec.date_from)
        if spec.date_to is not None:
            s = s.filter(s.signup_day <= spec.date_to)
    signups = _to_pd(engine, s)
    signups["signup_ts"] = _ts(signups["signup_ts"])
    signups["signup_day"] = pd.to_datetime(signups["signup_day"]).dt.date
    signups["user_id"] = _str(signups["user_id"])
    signups = signups.sort_values("user_id", kind="stable").reset_index(drop=True)
    sk = s.select("user_id", "signup_ts")

    # touches before signup, within the lookback window
    tk = ev.filter(ev.event != evs.signup)
    tk = tk.mutate(_ch=_key_expr(tk))
    tk = tk.filter(tk._ch.notnull())
    tc = _touch_cols(engine, tk)
    j = tc.join(sk, "user_id")
    j = j.filter((j.ts <= j.signup_ts) & (j.ts >= j.signup_ts - ibis.interval(days=int(spec.lookback_days))))
    touches = _to_pd(engine, j.select("user_id", "ts", "channel", "campaign", "placement", conv_ts=j.signup_ts))

    # the signup event's own channel key: the touch of users with no earlier touch
    st = sg.mutate(_ch=_key_expr(sg))
    st = _touch_cols(engine, st.filter(st._ch.notnull()))
    sj = st.join(sk, "user_id")
    sj = sj.filter(sj.ts == sj.signup_ts)
    own = _to_pd(engine, sj.select("user_id", "ts", "channel", "campaign", "placement", conv_ts=sj.signup_ts))
    touches = _prepare_touches(touches, own, spec)

    nonconv = None
    if nonconverting if nonconverting is not None else spec.attribution == "markov":
        nc = tc.anti_join(s_all, "user_id")
        day = engine.local_ts(nc.ts).date()
        if spec.date_from is not None:
            nc = nc.filter(day >= spec.date_from - dt.timedelta(days=int(spec.lookback_days)))
        if spec.date_to is not None:
            nc = nc.filter(day <= spec.date_to)
        ncd = _to_pd(engine, nc)
        ncd["conv_ts"] = pd.NaT
        nonconv = _prepare_touches(ncd, None, spec)

    # activation and purchases of the signed-up users
    act = ev.filter(ev.event == evs.activation).select("user_id").distinct()
    activated = set(_str(_to_pd(engine, sk.join(act, "user_id").select("user_id"))["user_id"]))
    p = ev.filter(ev.event == evs.purchase)
    p = p.mutate(_rev=engine.prop(p, evs.revenue).cast("float64"))
    pj = p.join(sk, "user_id")
    pj = pj.mutate(_day=((pj.ts.epoch_seconds() - pj.signup_ts.epoch_seconds()) / 86400.0).floor().cast("int64"))
    purchases = _to_pd(engine, pj.group_by(["user_id", "_day"]).aggregate(
        revenue=pj._rev.sum(), purchases=pj.count()))
    purchases = purchases.rename(columns={"_day": "day"})
    purchases["user_id"] = _str(purchases["user_id"])
    purchases["revenue"] = purchases["revenue"].astype("float64").fillna(0.0)
    purchases["day"] = purchases["day"].astype("int64").clip(lower=0)
    firsts = _to_pd(engine, pj.group_by("user_id").aggregate(first_revenue=pj._rev.argmin(pj.ts)))
    firsts["user_id"] = _str(firsts["user_id"])
    firsts["first_revenue"] = firsts["first_revenue"].astype("float64").fillna(0.0)
    as_of = engine.scalar(ev.ts.max())
    as_of = None if as_of is None else pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo is None \
        else pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)

    spend = _empty_spend()
    if with_spend:
        sp = engine.table("spend")
        if spec.date_from is not None:
            sp = sp.filter(sp.date >= spec.date_from)
        if spec.date_to is not None:
            sp = sp.filter(sp.date <= spec.date_to)
        spend = _to_pd(engine, sp.select("date", "channel", "campaign", "placement", "cost", "currency",
                                         "impressions", "reads", "clicks"))
        if len(spend):
            spend["date"] = pd.to_datetime(spend["date"]).dt.date
            for c in ("channel", "campaign", "placement", "currency"):
                spend[c] = _str(spend[c])
            spend["campaign"] = spend["campaign"].fillna(NONE)
            spend["placement"] = spend["placement"].fillna(NONE)
            spend["cost"] = spend["cost"].astype("float64").fillna(0.0)
            for c in ("impressions", "reads", "clicks"):
                spend[c] = spend[c].astype("float64")
        else:
            spend = _empty_spend()
    currencies = sorted({c for c in spend["currency"].dropna()}) if len(spend) else []
    currency = cfg.currency
    if len(currencies) == 1:
        if currencies[0] != cfg.currency:
            warnings.append(f"spend is in {currencies[0]} but revenue in the workspace currency {cfg.currency}: "
                            f"ROAS and payback compare different currencies")
        currency = currencies[0]
    elif len(currencies) > 1:
        warnings.append(f"spend mixes currencies ({', '.join(currencies)}); amounts are added as they are")
    return AcqData(signups, touches, nonconv, activated, purchases, firsts, spend, as_of, currency, warnings)


def _empty_spend() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype=object), "channel": pd.Series(dtype=object),
                         "campaign": pd.Series(dtype=object), "placement": pd.Series(dtype=object),
                         "cost": pd.Series(dtype="float64"), "currency": pd.Series(dtype=object),
                         "impressions": pd.Series(dtype="float64"), "reads": pd.Series(dtype="float64"),
                         "clicks": pd.Series(dtype="float64")})


def _prepare_touches(touches: pd.DataFrame, own: pd.DataFrame | None, spec: AcquisitionSpec) -> pd.DataFrame:
    cols = ["user_id", "ts", "channel", "campaign", "placement", "conv_ts"]
    frames = []
    for df in (touches, own):
        if df is None or df.empty:
            continue
        df = df[cols].copy()
        df["user_id"] = _str(df["user_id"])
        df["ts"] = _ts(df["ts"])
        df["conv_ts"] = _ts(df["conv_ts"])
        for c in ("channel", "campaign", "placement"):
            df[c] = _str(df[c])
        frames.append(df)
    if len(frames) == 2:  # the signup's own key only for users with no earlier touch
        frames[1] = frames[1][~frames[1]["user_id"].isin(set(frames[0]["user_id"]))]
        frames[1] = frames[1].drop_duplicates("user_id")
    if not frames:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out["ts"] = out["ts"].astype("datetime64[us]")
        out["conv_ts"] = out["conv_ts"].astype("datetime64[us]")
        return out
    df = pd.concat(frames, ignore_index=True)
    cmap = spec.channel_map or {}
    ch = df["channel"].map(lambda v: cmap.get(v, v))
    ch = ch.map(lambda v: DIRECT if isinstance(v, str) and v.strip().lower() in DIRECT_CHANNELS else v)
    df["channel"] = ch
    df["campaign"] = df["campaign"].fillna(NONE)
    df["placement"] = df["placement"].fillna(NONE)
    df = sort_touches(df, ["channel", "campaign", "placement"])
    return collapse_touches(df, ["channel", "campaign", "placement"], spec.touch_gap_minutes)


# ------------------------------------------------------------------------------------------ credits

def _joinkey(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    out = df[cols[0]].astype(str).to_numpy(dtype=object)
    for c in cols[1:]:
        out = out + "\x1f" + df[c].astype(str).to_numpy(dtype=object)
    return out


def credits(data: AcqData, spec: AcquisitionSpec, by: str = "channel") -> pd.DataFrame:
    """Credit rows: user_id, channel, campaign, placement, credit, touch_ts (sum of credit = 1 per user)."""
    t = data.touches
    t = t[t["user_id"].isin(set(data.signups["user_id"]))] if len(t) else t
    keycols = BY_COLUMNS[by]
    if len(t):
        t = t.assign(_k=_joinkey(t, keycols))
        nonconv = None
        if spec.attribution == "markov" and data.nonconverting is not None and len(data.nonconverting):
            nc = data.nonconverting
            nonconv = nc.assign(_k=_joinkey(nc, keycols))
        w = touch_weights(t, spec.attribution, half_life_days=spec.half_life_days,
                          position_shares=tuple(spec.position_shares),
                          direct=(t["channel"] == DIRECT).to_numpy(), nonconverting=nonconv, markov_key="_k")
        cred = pd.DataFrame({"user_id": t["user_id"].to_numpy(), "channel": t["channel"].to_numpy(),
                             "campaign": t["campaign"].to_numpy(), "placement": t["placement"].to_numpy(),
                             "credit": w, "touch_ts": t["ts"].to_numpy()})
        cred = cred[cred["credit"] > 0]
        touched = set(t["user_id"])
    else:
        cred = pd.DataFrame({c: pd.Series(dtype=object) for c in ("user_id", "channel", "campaign", "placement")})
        cred["credit"] = pd.Series(dtype="float64")
        cred["touch_ts"] = pd.Series(dtype="datetime64[us]")
        touched = set()
    s = data.signups
    d = s[~s["user_id"].isin(touched)]
    direct = pd.DataFrame({"user_id": d["user_id"].to_numpy(), "channel": DIRECT, "campaign": NONE,
                           "placement": NONE, "credit": 1.0, "touch_ts": d["signup_ts"].to_numpy()})
    out = pd.concat([cred, direct], ignore_index=True) if len(direct) else cred
    out["touch_ts"] = out["touch_ts"].astype("datetime64[us]")
    return out.reset_index(drop=True)


def user_facts(data: AcqData) -> pd.DataFrame:
    """Per signed-up user: signup, activated, payer, revenue to date, first-purchase revenue."""
    s = data.signups[["user_id", "signup_ts", "signup_day"]].copy()
    s["activated"] = s["user_id"].isin(data.activated)
    p = data.purchases.groupby("user_id", as_index=False).agg(revenue=("revenue", "sum"),
                                                              purchases=("purchases", "sum"))
    s = s.merge(p, on="user_id", how="left").merge(data.firsts, on="user_id", how="left")
    s["purchases"] = s["purchases"].fillna(0).astype("int64")
    s["payer"] = s["purchases"] > 0
    s["revenue"] = s["revenue"].fillna(0.0)
    s["first_revenue"] = s["first_revenue"].fillna(0.0)
    return s


# ------------------------------------------------------------------------------------------ intervals

def cac_interval(spend: float, payers: float, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Interval for spend / payers with spend fixed and payers ~ Poisson (exact Gamma limits).

    Lower limit of the rate: Gamma(k).ppf(α/2); upper: Gamma(k + 1).ppf(1 - α/2) (Garwood;
    works for fractional credited counts). No payers: the CAC has no upper limit (None).
    """
    from scipy.stats import gamma

    if not spend or spend <= 0:
        return None, None
    a = (1 - confidence) / 2
    k = max(float(payers or 0.0), 0.0)
    hi_rate = gamma.ppf(1 - a, k + 1)
    lo_rate = gamma.ppf(a, k) if k > 0 else 0.0
    low = spend / hi_rate
    high = spend / lo_rate if lo_rate > 0 else None
    return float(low), (None if high is None else float(high))


TOO_EARLY_WIDTH = 2.0


def verdict(cac_low, cac_high, benchmark, spend) -> str:
    """better / worse / on par / too early to tell, against a benchmark CAC (docs: "too early")."""
    # a bound that is missing may arrive as None or, from a table cell, as NaN: both mean "open"
    cac_low, cac_high, benchmark = _num(cac_low), _num(cac_high), _num(benchmark)
    if not spend or spend <= 0:
        return "no spend"
    if benchmark is None:
        return "too early to tell"
    if cac_high is not None and cac_high < benchmark:
        return "better"
    if cac_low is not None and cac_low > benchmark:
        return "worse"
    if cac_high is None or cac_low is None or cac_low <= 0 or cac_high / cac_low > TOO_EARLY_WIDTH:
        return "too early to tell"
    return "on par"


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


OBSERVED_SHARE = 0.2


def observed_mask(den: np.ndarray, registrations: float, share: float = OBSERVED_SHARE) -> np.ndarray:
    """Days d where at least ``share`` of the row's (credited) registrations are observed d days.

    ``den`` comes from running sums of fractional credits, so a row with exactly 20 % observed
    can be off by a few ulps (0.4 + 0.2 + 0.4 − 0.4 − 0.4 = 0.19999999999999996): compare with a
    tolerance relative to the row's registrations.
    """
    need = max(share * registrations, 1e-9)
    return den >= need - 1e-9 * max(registrations, 1e-9)


def _power_exponent(num: np.ndarray, den: np.ndarray, min_share: float) -> float | None:
    """Exponent b of a power law ARPU(d) ~ d^b fitted to a pooled curve (d >= 7)."""
    tot = den[1] if len(den) > 1 else 0
    if tot <= 0:
        return None
    d = np.arange(len(den))
    ok = (d >= 7) & observed_mask(den, tot, min_share) & (num > 0)
    if ok.sum() < 5:
        return None
    x = np.log(d[ok])
    y = np.log(num[ok] / den[ok])
    w = den[ok]
    xm = np.average(x, weights=w)
    ym = np.average(y, weights=w)
    b = np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2)
    return float(np.clip(b, 0.0, 1.0))


# ------------------------------------------------------------------------------------------ channels

INT_COLUMNS = ("payback_days", "observed_days", "rank", "spend_days", "fit_days")


def _int_records(recs: list[dict]) -> list[dict]:
    for r in recs:
        for k in INT_COLUMNS:
            if isinstance(r.get(k), float):
                r[k] = int(r[k])
    return recs


class AcquisitionResult(Result):
    kind = "channels"
    rows_key = "rows"

    def records(self):
        return _int_records(super().records())

    def chart(self):
        import plotly.graph_objects as go

        df = self.frame
        key = self.meta.get("key", "channel")
        label = df[key].astype(str) if key in df else df.index.astype(str)
        if "campaign" in df and key == "campaign":
            label = df["channel"].astype(str) + " / " + df["campaign"].astype(str)
        if "placement" in df and key == "placement":
            label = df["channel"].astype(str) + " / " + df["placement"].astype(str)
        cur = self.meta.get("currency", "")
        fig = go.Figure([
            go.Bar(name=f"cost per registration ({cur})", x=label, y=df["cost_per_registration"]),
            go.Bar(name=f"cost per paying user ({cur})", x=label, y=df["cost_per_paying_user"]),
        ])
        fig.update_layout(barmode="group", title=self.meta.get("title", "Acquisition"))
        return fig


def _num(x):
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else x


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
    data = load(engine, spec)
    return channels_from(data, spec, engine.timezone)


def channels_from(data: AcqData, spec: ChannelsSpec, timezone: str = "UTC") -> AcquisitionResult:
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

    # revenue curves: payback and LTV
    if len(df):
        df = df.reset_index(drop=True)
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

    rows = []
    for i, r in df.iterrows():
        spend = float(r["spend"])
        regs = float(r["registrations"])
        payers = float(r["paying_users"])
        rev = float(r["revenue"])
        cpr = ratio(spend, regs)
        cac = ratio(spend, payers)
        low, high = cac_interval(spend, payers, spec.confidence)
        payback = None
        ltv = None
        horizon = None
        if len(num):
            ok = observed_mask(den[i], regs)
            ok[0] = False
            arpu = np.divide(num[i], den[i], out=np.zeros_like(num[i]), where=den[i] > 0)
            if cpr is not None and spend > 0:
                hit = np.flatnonzero(ok & (arpu >= cpr - 1e-9))
                payback = int(hit[0]) if len(hit) else None
            obs = np.flatnonzero(ok)
            if len(obs):
                horizon = int(obs[-1])
                h = min(horizon, spec.ltv_days)
                level = arpu[h]
                if spec.ltv_days > horizon:
                    ltv = level * (spec.ltv_days / horizon) ** pooled_b if pooled_b is not None else None
                else:
                    ltv = level
        ltv_per_payer = ratio(ltv * regs, payers) if ltv is not None else None
        rows.append({
            **{c: r[c] for c in gcols},
            "paid": bool(r["paid"]),
            "spend": spend,
            "impressions": _num(r["impressions"]),
            "reads": _num(r["reads"]),
            "clicks": _num(r["clicks"]),
            "ctr": ratio(_num(r["clicks"]), _num(r["impressions"])),
            "cpc": ratio(spend, _num(r["clicks"])) if _num(r["clicks"]) is not None else None,
            "registrations": r["registrations"],
            "cost_per_registration": cpr,
            "activated": r["activated"],
            "activation_rate": ratio(float(r["activated"]), regs),
            "paying_users": r["paying_users"],
            "paying_rate": ratio(payers, regs),
            "cost_per_paying_user": cac,
            "cac_low": low,
            "cac_high": high,
            "first_purchase_revenue": float(r["first_purchase_revenue"]),
            "revenue": rev,
            "revenue_per_registration": ratio(rev, regs),
            "roas": ratio(rev, spend),
            "payback_days": payback,
            "observed_days": horizon,
            "ltv_per_registration": ltv,
            "ltv_per_paying_user": ltv_per_payer,
            "ltv_cac": ratio(ltv, cpr) if ltv is not None and cpr else None,
        })
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
    totals = _totals(out)
    meta = {
        "title": f"Acquisition by {spec.by} ({MODEL_LABELS[spec.attribution]} attribution)",
        "key": spec.by,
        "currency": data.currency,
        "attribution": spec.attribution,
        "attribution_label": MODEL_LABELS[spec.attribution],
        "lookback_days": spec.lookback_days,
        "period": {"from": spec.date_from, "to": spec.date_to, "interval": spec.interval,
                   "revenue_to": data.as_of.date() if data.as_of is not None else None},
        "timezone": timezone,
        "benchmark_cac": bench,
        "confidence": spec.confidence,
        "ltv_days": spec.ltv_days,
        "ltv_shape_exponent": pooled_b,
        "totals": totals,
        "warnings": data.warnings,
        "notes": [
            "registrations: users whose signup (in the period) is credited to the row; revenue: all their "
            "purchases to the end of the data",
            "n/a (null) where a ratio divides by zero",
            "cac_low/cac_high: interval for cost per paying user (spend fixed, payers ~ Poisson)",
            "verdict vs benchmark_cac (all paid rows): better/worse when the interval excludes it; "
            "'too early to tell' when it includes it and the interval is wider than x2",
        ],
    }
    return AcquisitionResult(spec, out, meta)


def _totals(out: pd.DataFrame) -> dict:
    if out.empty:
        return {}
    spend = float(out["spend"].sum())
    regs = float(out["registrations"].sum())
    payers = float(out["paying_users"].sum())
    rev = float(out["revenue"].sum())
    paid = out[out["spend"] > 0]
    p_regs = float(paid["registrations"].sum())
    p_pay = float(paid["paying_users"].sum())
    return {
        "spend": spend, "registrations": regs, "paying_users": payers, "revenue": rev,
        "first_purchase_revenue": float(out["first_purchase_revenue"].sum()),
        "cost_per_registration": ratio(spend, regs), "cost_per_paying_user": ratio(spend, payers),
        "roas": ratio(rev, spend),
        "paid_registrations": p_regs, "paid_cost_per_registration": ratio(spend, p_regs),
        "paid_cost_per_paying_user": ratio(spend, p_pay),
        "paid_roas": ratio(float(paid["revenue"].sum()), spend),
    }


# ------------------------------------------------------------------------------------------ placements

STAGES = [
    # stage name, rate column, numerator, denominator, what a leak there means
    ("exposure→read", "read_rate", "reads", "impressions",
     "few reads for its exposure: the title / cover does not draw readers"),
    ("read→click", "click_rate", "clicks", "reads",
     "many reads but few clicks: the copy does not lead to the landing page"),
    ("click→registration", "registration_rate", "registrations", "clicks",
     "many clicks but few registrations: the landing page fails"),
    ("registration→purchase", "purchase_rate", "paying_users", "registrations",
     "registrations do not turn into paying users: wrong audience or a weak offer"),
]


class PlacementsResult(AcquisitionResult):
    kind = "placements"

    def chart(self):
        import plotly.graph_objects as go

        df = self.frame
        if df.empty:
            return go.Figure()
        label = df["channel"].astype(str) + " / " + df["placement"].astype(str)
        fig = go.Figure()
        for col, name in (("cost_per_paying_user", "cost per paying user"),):
            err_hi = [(h - v) if h is not None and v is not None and not pd.isna(h) else None
                      for v, h in zip(df[col], df["cac_high"])]
            err_lo = [(v - lo) if lo is not None and v is not None and not pd.isna(v) else None
                      for v, lo in zip(df[col], df["cac_low"])]
            fig.add_bar(x=label, y=df[col], name=name,
                        error_y=dict(type="data", array=err_hi, arrayminus=err_lo, visible=True))
        fig.update_layout(title=self.meta.get("title", "Placements"),
                          yaxis_title=f"cost per paying user ({self.meta.get('currency', '')}, log scale)",
                          yaxis_type="log")
        return fig


def _binom_low_p(k, n, p) -> float:
    from scipy.stats import binom

    if n <= 0 or p <= 0:
        return 1.0
    return float(binom.cdf(math.floor(k + 1e-9), int(round(n)), min(p, 1.0)))


def placements(engine, spec: PlacementsSpec | None = None, **kwargs) -> PlacementsResult:
    """The placement funnel with leak flags and CAC ranking (docs/acquisition.md#placements)."""
    spec = spec or PlacementsSpec.build(**kwargs)
    data = load(engine, spec)
    return placements_from(data, spec, engine.timezone)


def placements_from(data: AcqData, spec: PlacementsSpec, timezone: str = "UTC") -> PlacementsResult:
    cs = ChannelsSpec.parse({**spec.model_dump(exclude={"channel", "leak_threshold", "min_denominator"}),
                             "by": "placement"})
    table = channels_from(data, cs, timezone)
    df = table.frame.copy()
    unpaid = []
    if len(df):
        unpaid = [{"channel": r["channel"], "placement": r["placement"], "registrations": r["registrations"]}
                  for _, r in df[~df["paid"]].iterrows()]
        df = df[df["paid"]].reset_index(drop=True)
    if spec.channel is not None and len(df):
        df = df[df["channel"] == spec.channel].reset_index(drop=True)
    rows = []
    camp = {}
    if len(data.spend):
        g = data.spend.groupby(["channel", "placement"])["campaign"].agg(lambda s: ", ".join(sorted(set(s))))
        camp = g.to_dict()
        days = data.spend[data.spend["cost"] > 0].groupby(["channel", "placement"])["date"].agg(["min", "max", "nunique"])
    for _, r in df.iterrows():
        spend = r["spend"]
        imp, reads, clicks = _num(r["impressions"]), _num(r["reads"]), _num(r["clicks"])
        regs, payers = float(r["registrations"]), float(r["paying_users"])
        click_den = reads if reads else imp
        key = (r["channel"], r["placement"])
        row = {
            "channel": r["channel"], "placement": r["placement"], "campaign": camp.get(key),
            "first_day": days.loc[key, "min"] if len(data.spend) and key in days.index else None,
            "last_day": days.loc[key, "max"] if len(data.spend) and key in days.index else None,
            "spend_days": int(days.loc[key, "nunique"]) if len(data.spend) and key in days.index else 0,
            "spend": spend, "impressions": imp, "reads": reads, "clicks": clicks,
            "registrations": r["registrations"], "paying_users": r["paying_users"],
            "read_rate": ratio(reads, imp) if reads is not None else None,
            "click_rate": ratio(clicks, click_den) if clicks is not None else None,
            "registration_rate": ratio(regs, clicks) if clicks else None,
            "purchase_rate": ratio(payers, regs),
            "cpm": ratio(spend * 1000.0, imp) if imp else None,
            "cost_per_read": ratio(spend, reads) if reads else None,
            "cpc": ratio(spend, clicks) if clicks else None,
            "cost_per_registration": r["cost_per_registration"],
            "cost_per_paying_user": r["cost_per_paying_user"],
            "cac_low": r["cac_low"], "cac_high": r["cac_high"],
            "revenue": r["revenue"], "roas": r["roas"],
            "_click_den": click_den,
        }
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        # leak flags against the channel median of each stage's conversion
        for stage, col, numc, denc, _ in STAGES:
            den_col = "_click_den" if col == "click_rate" else denc
            ok = out[den_col].fillna(0).astype(float) >= spec.min_denominator
            med = out[ok & out[col].notna()].groupby("channel")[col].median()
            cnt = out[ok & out[col].notna()].groupby("channel")[col].size()
            out[f"_{col}_median"] = out["channel"].map(med)
            out[f"_{col}_n"] = out["channel"].map(cnt).fillna(0)
        leaks, ratios, notes, medians = [], [], [], []
        for _, r in out.iterrows():
            worst = None
            for stage, col, numc, denc, msg in STAGES:
                den_col = "_click_den" if col == "click_rate" else denc
                rate, med = r[col], r[f"_{col}_median"]
                den = r[den_col]
                if rate is None or pd.isna(rate) or pd.isna(med) or not med or r[f"_{col}_n"] < 2:
                    continue
                if den is None or pd.isna(den) or den < spec.min_denominator:
                    continue
                rel = rate / med
                if rel >= spec.leak_threshold:
                    continue
                num = r[numc] if numc in r else None
                if _binom_low_p(float(num), float(den), float(med)) >= 0.05:
                    continue  # not clearly below the median: could be chance
                if worst is None or rel < worst[1]:
                    worst = (stage, rel, msg, med)
            leaks.append(worst[0] if worst else None)
            ratios.append(worst[1] if worst else None)
            notes.append(worst[2] if worst else None)
            medians.append(worst[3] if worst else None)
        out["leak_stage"] = leaks
        out["leak_vs_channel_median"] = ratios
        out["leak_channel_median"] = medians
        out["leak_note"] = notes
        bench = ratio(float(out["spend"].sum()), float(out["paying_users"].sum()))
        out["verdict"] = [verdict(lo, hi, bench, s) for lo, hi, s in zip(out["cac_low"], out["cac_high"], out["spend"])]
        order = out["cost_per_paying_user"].astype(float).fillna(np.inf)
        out["rank"] = order.rank(method="min").astype("int64")
        out = out.assign(_o=order).sort_values(["_o", "spend"], ascending=[True, True], kind="stable")
        out = out.drop(columns=[c for c in out.columns if c.startswith("_")]).reset_index(drop=True)
    else:
        bench = None
        out = pd.DataFrame(columns=["channel", "placement", "spend", "impressions", "reads", "clicks", "registrations",
                                    "paying_users", "cost_per_paying_user", "leak_stage", "verdict", "rank"])
    meta = {**table.meta,
            "title": f"Placement funnel ({MODEL_LABELS[spec.attribution]} attribution)",
            "key": "placement", "benchmark_cac": bench,
            "leak_threshold": spec.leak_threshold, "min_denominator": spec.min_denominator,
            "stages": [s[0] for s in STAGES], "unpaid": unpaid,
            "notes": [
                "stages: impressions → reads → clicks (spend table) → registrations → paying users (attributed)",
                "click_rate = clicks / reads (clicks / impressions where reads are not reported)",
                f"leak: the stage whose conversion is lowest relative to the channel's median, flagged when below "
                f"{spec.leak_threshold:.0%} of it and significantly so (one-sided binomial p < 0.05)",
                "rank: by cost per paying user (no payers last); verdict vs benchmark_cac (all placements): "
                "'too early to tell' when the interval includes it and is wider than x2",
            ]}
    meta.pop("totals", None)
    return PlacementsResult(spec, out, meta)


# ------------------------------------------------------------------------------------------ budget

class BudgetResult(Result):
    kind = "budget"
    rows_key = "rows"

    def records(self):
        return _int_records(super().records())

    def chart(self):
        import plotly.graph_objects as go

        from plotly.subplots import make_subplots

        curves = self.meta.get("curves", {})
        fig = make_subplots(rows=1, cols=max(1, len(curves)), subplot_titles=list(curves) or [""])
        for i, (ch, c) in enumerate(curves.items(), start=1):
            pts = c.get("points", [])
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                     name=f"{ch}: observed days", marker=dict(size=5, opacity=0.6)), row=1, col=i)
            fig.add_trace(go.Scatter(x=c["grid"], y=c["fitted"], mode="lines", name=f"{ch}: fitted"), row=1, col=i)
            if c.get("current_day_spend") is not None:
                fig.add_vline(x=c["current_day_spend"], line_dash="dot", row=1, col=i)
            if c.get("proposed_day_spend") is not None:
                fig.add_vline(x=c["proposed_day_spend"], line_dash="dash", line_color="green", row=1, col=i)
        fig.update_layout(title="Response curves (model estimate): registrations per day vs daily spend — "
                                "dots: observed days; dotted: typical day now; dashed green: proposed",
                          showlegend=False)
        return fig


def _local_dates(ts: pd.Series, tz: str) -> pd.Series:
    s = pd.to_datetime(ts)
    if tz and tz != "UTC":
        s = s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    return s.dt.date


def budget(engine, spec: BudgetSpec | None = None, **kwargs) -> BudgetResult:
    """Response curves per paid channel and a reallocation of a budget (docs/acquisition.md#budget)."""
    spec = spec or BudgetSpec.build(**kwargs)
    data = load(engine, spec, all_signups=True)
    return budget_from(data, spec, engine.timezone)


def daily_response_data(data: AcqData, spec: AcquisitionSpec, timezone: str = "UTC") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per channel and day: spend and credited registrations / paying users by credited-touch date.

    Returns (daily, rates): ``daily`` has channel, date, spend, registrations, paying_users;
    ``rates`` per channel the registrations and paying users credited in the spend window.
    """
    cred = credits(data, spec, "channel")
    facts = user_facts(data)[["user_id", "payer"]]
    cred = cred.merge(facts, on="user_id", how="left")
    cred["date"] = _local_dates(cred["touch_ts"], timezone)
    cred["w_pay"] = cred["credit"] * cred["payer"].fillna(False)
    sp = data.spend
    spend = sp.groupby(["channel", "date"], as_index=False)["cost"].sum().rename(columns={"cost": "spend"}) \
        if len(sp) else pd.DataFrame(columns=["channel", "date", "spend"])
    conv = cred.groupby(["channel", "date"], as_index=False).agg(registrations=("credit", "sum"),
                                                                 paying_users=("w_pay", "sum"))
    frames = []
    for ch, g in spend.groupby("channel"):
        first, last = min(g["date"]), max(g["date"])
        days = pd.DataFrame({"date": [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]})
        d = days.merge(g[["date", "spend"]], on="date", how="left").merge(
            conv[conv["channel"] == ch][["date", "registrations", "paying_users"]], on="date", how="left")
        d["channel"] = ch
        frames.append(d)
    daily = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["date", "spend", "registrations", "paying_users", "channel"])
    for c in ("spend", "registrations", "paying_users"):
        daily[c] = daily[c].astype("float64").fillna(0.0)
    return daily[["channel", "date", "spend", "registrations", "paying_users"]], conv


def budget_from(data: AcqData, spec: BudgetSpec, timezone: str = "UTC") -> BudgetResult:
    from .response import allocate, fit_curve

    daily, _ = daily_response_data(data, spec, timezone)
    as_of_day = _local_dates(pd.Series([data.as_of]), timezone).iloc[0] if data.as_of is not None else None
    settle_cut = as_of_day - dt.timedelta(days=spec.settle_days) if as_of_day is not None else None
    chans = sorted(daily["channel"].unique()) if len(daily) else []
    if spec.channels:
        unknown = set(spec.channels) - set(chans)
        if unknown:
            raise SpecError(f"no spend for channel(s) {', '.join(sorted(unknown))} (have: {', '.join(chans) or 'none'})")
        chans = [c for c in chans if c in spec.channels]
    rng = np.random.default_rng(spec.seed)
    fits, info, values, caps = {}, {}, {}, {}
    last_spend_day = max(daily["date"]) if len(daily) else None
    for ch in chans:
        g = daily[daily["channel"] == ch].sort_values("date")
        fitg = g[(g["spend"] > 0) & ((g["date"] <= settle_cut) if settle_cut is not None else True)]
        recent = g[g["date"] > last_spend_day - dt.timedelta(days=spec.recent_days)]
        # recent window: calendar days (zero-spend days count), ending at the last spend day of any channel
        n_recent = spec.recent_days
        regs_all = float(fitg["registrations"].sum())
        pay_all = float(fitg["paying_users"].sum())
        pay_rate = ratio(pay_all, regs_all)
        rec = {
            "channel": ch, "fit_days": int(len(fitg)), "spend_fitted": float(fitg["spend"].sum()),
            "registrations_fitted": regs_all, "paying_users_fitted": pay_all, "paying_rate": pay_rate,
            "current_daily_spend": float(recent["spend"].sum()) / n_recent,
            "typical_day_spend": float(recent.loc[recent["spend"] > 0, "spend"].mean())
            if (recent["spend"] > 0).any() else None,
            "max_day_spend": float(g["spend"].max()),
            "recent_spend_days": [float(v) for v in recent["spend"]] + [0.0] * max(0, n_recent - len(recent)),
            "points": [[float(a), float(b)] for a, b in zip(fitg["spend"], fitg["registrations"])],
        }
        info[ch] = rec
        if len(fitg) < spec.min_days or regs_all <= 0:
            rec["note"] = f"not modelled: {len(fitg)} day(s) with spend and conversions (need {spec.min_days})"
            continue
        try:
            fit = fit_curve(fitg["spend"].to_numpy(), fitg["registrations"].to_numpy(), spec.curve)
        except ValueError as exc:
            rec["note"] = f"not modelled: {exc}"
            continue
        fits[ch] = fit
        values[ch] = (pay_rate or 0.0) if spec.objective == "paying_users" else 1.0
        caps[ch] = spec.max_scale * rec["max_day_spend"]
        active = sum(1 for v in rec["recent_spend_days"] if v > 0)
        if active < 0.5 * n_recent:
            rec["note"] = (f"bought in single-day slots ({active} of the last {n_recent} days): the proposal's daily "
                           f"amount means spreading spend over more days (more, smaller slots)")
        if fit.linear_like:
            rec["note"] = "no diminishing returns visible in the observed spend range: the curve is close to linear"
    modelled = list(fits)
    current_total = sum(info[c]["current_daily_spend"] for c in modelled)
    daily_total = (spec.total / spec.days) if spec.total is not None else current_total
    alloc = allocate(fits, values, daily_total, caps) if modelled and daily_total > 0 else {c: 0.0 for c in modelled}
    unallocated = max(0.0, daily_total - sum(alloc.values()))
    k = daily_total / current_total if current_total > 0 else None

    # point estimates and parametric-bootstrap draws
    B = spec.draws
    pay_draws = {}
    theta_draws = {}
    for c in modelled:
        theta_draws[c] = fits[c].draws(B, rng)
        if spec.objective == "paying_users":
            regs, pays = info[c]["registrations_fitted"], info[c]["paying_users_fitted"]
            pay_draws[c] = rng.beta(pays + 0.5, max(regs - pays, 0) + 0.5, B)
        else:
            pay_draws[c] = np.ones(B)

    def outcome(c, daily_spend_list, ltheta=None):
        arr = np.asarray(daily_spend_list, dtype=float)
        return float(np.mean(fits[c].mu(arr, ltheta))) * spec.days

    rows = []
    prop_regs_b = np.zeros(B)
    prop_val_b = np.zeros(B)
    cur_val_b = np.zeros(B)
    prop_regs = cur_regs = prop_val = cur_val = 0.0
    for c in chans:
        rec = info[c]
        row = {"channel": c, "modelled": c in fits, "fit_days": rec["fit_days"],
               "paying_rate": rec["paying_rate"], "current_daily_spend": rec["current_daily_spend"],
               "typical_day_spend": rec["typical_day_spend"], "max_day_spend": rec["max_day_spend"]}
        if c in fits:
            f = fits[c]
            p, se = f.params, f.se
            for name in f.curve.params:
                row[f"curve_{name}"] = p[name]
                row[f"curve_{name}_se"] = se[name]
            v = values[c]
            x = alloc[c]
            cur_days = rec["recent_spend_days"]
            scaled = [s * k for s in cur_days] if k is not None else None
            e_regs = outcome(c, [x])
            e_cur_regs = outcome(c, scaled) if scaled is not None else None
            s_now = rec["typical_day_spend"] or rec["current_daily_spend"]
            slope_now = float(f.slope(s_now)) if s_now else None
            slope_prop = float(f.slope(x))
            # draws
            td = theta_draws[c]
            mu_prop = np.array([float(f.mu(x, t)) for t in td]) * spec.days
            mu_cur = (np.array([float(np.mean(f.mu(np.asarray(scaled), t))) for t in td]) * spec.days
                      if scaled is not None else np.zeros(B))
            pv = pay_draws[c] if spec.objective == "paying_users" else np.ones(B)
            prop_regs_b += mu_prop
            prop_val_b += mu_prop * pv
            cur_val_b += mu_cur * pv
            prop_regs += e_regs
            prop_val += e_regs * v
            if e_cur_regs is not None:
                cur_regs += e_cur_regs
                cur_val += e_cur_regs * v
            q = np.quantile(mu_prop * pv, [0.05, 0.95])
            row.update({
                "proposed_daily_spend": x,
                "proposed_spend": x * spec.days,
                "change": ratio(x - rec["current_daily_spend"], rec["current_daily_spend"]),
                "current_plan_spend": rec["current_daily_spend"] * (k or 0) * spec.days,
                "expected_registrations": e_regs,
                "expected_paying_users": e_regs * (rec["paying_rate"] or 0.0),
                "expected_paying_users_low": float(q[0]) if spec.objective == "paying_users" else None,
                "expected_paying_users_high": float(q[1]) if spec.objective == "paying_users" else None,
                "current_plan_expected_registrations": e_cur_regs,
                "expected_cost_per_registration": ratio(x * spec.days, e_regs),
                "expected_cost_per_paying_user": ratio(x * spec.days, e_regs * (rec["paying_rate"] or 0.0)),
                "marginal_cost_per_registration_now": ratio(1.0, slope_now) if slope_now else None,
                "marginal_cost_per_paying_user_now": ratio(1.0, slope_now * rec["paying_rate"])
                if slope_now and rec["paying_rate"] else None,
                "marginal_cost_per_paying_user_proposed": ratio(1.0, slope_prop * rec["paying_rate"])
                if rec["paying_rate"] else None,
                "extrapolated": bool(x > rec["max_day_spend"] * 1.0001),
                "note": rec.get("note"),
            })
        else:
            row.update({"proposed_daily_spend": None, "proposed_spend": None, "note": rec.get("note")})
        rows.append(row)
    out = pd.DataFrame(rows)
    total_spend = daily_total * spec.days
    alloc_spend = sum(alloc.values()) * spec.days
    obj = "paying users" if spec.objective == "paying_users" else "registrations"

    def q(a):
        return [float(v) for v in np.quantile(a, [0.05, 0.95])] if B and modelled else [None, None]

    summary = {
        "total": total_spend, "days": spec.days, "daily_total": daily_total,
        "unallocated": unallocated * spec.days,
        "objective": spec.objective,
        "current_plan": {"spend": current_total * (k or 0) * spec.days if k is not None else None,
                         "expected_registrations": cur_regs if k is not None else None,
                         "expected_value": cur_val if k is not None else None,
                         "expected_value_interval": q(cur_val_b) if k is not None else [None, None],
                         "expected_cost_per_unit": ratio(total_spend, cur_val) if k is not None else None},
        "proposed_plan": {"spend": alloc_spend, "expected_registrations": prop_regs,
                          "expected_value": prop_val, "expected_value_interval": q(prop_val_b),
                          "expected_cost_per_unit": ratio(alloc_spend, prop_val),
                          "expected_cost_per_unit_interval":
                              sorted([ratio(alloc_spend, v) for v in q(prop_val_b)], key=lambda z: z or 0)
                              if modelled else [None, None]},
        "improvement": {"value": (prop_val - cur_val) if k is not None else None,
                        "interval": q(prop_val_b - cur_val_b) if k is not None else [None, None],
                        "probability_better": float(np.mean(prop_val_b > cur_val_b)) if k is not None and B else None},
    }
    curves = {}
    for c in modelled:
        f = fits[c]
        top = max(info[c]["max_day_spend"], alloc[c]) * 1.2
        grid = np.linspace(0, top, 60)
        curves[c] = {"params": f.params, "se": f.se, "dispersion": f.dispersion, "n_days": f.n,
                     "grid": grid.tolist(), "fitted": [float(v) for v in f.mu(grid)],
                     "points": info[c]["points"], "recent_spend": info[c]["recent_spend_days"],
                     "current_day_spend": info[c]["typical_day_spend"],
                     "proposed_day_spend": alloc[c]}
    meta = {
        "title": f"Where to put the next budget: {spec.total if spec.total is not None else total_spend:,.0f} "
                 f"over {spec.days} days (model estimate)",
        "label": "model estimate",
        "currency": data.currency, "attribution": spec.attribution,
        "attribution_label": MODEL_LABELS[spec.attribution],
        "curve": spec.curve, "objective": spec.objective,
        "period": {"from": spec.date_from, "to": spec.date_to},
        "summary": summary, "curves": curves, "warnings": data.warnings,
        "notes": [
            "MODEL ESTIMATE: response curves fitted to past daily spend and the registrations credited to "
            "that day's touches; they assume the future responds like the past",
            f"objective: maximise expected {obj}; current plan = the last {spec.recent_days} days' spend "
            f"pattern scaled to the same total",
            "intervals: 5%-95% of a parametric bootstrap of the curve parameters (and the paying rate)",
            f"a channel's daily spend is capped at {spec.max_scale:g}x its largest observed day; "
            f"'extrapolated' marks proposals beyond the observed range",
        ],
    }
    return BudgetResult(spec, out, meta)


# ------------------------------------------------------------------------------------------ compare models

class AttributionResult(Result):
    kind = "attribution"
    rows_key = "rows"

    def chart(self):
        import plotly.express as px

        df = self.frame
        key = self.meta.get("key", "channel")
        cols = [c for c in df.columns if c.startswith("registrations_")]
        long = df.melt(id_vars=[key], value_vars=cols, var_name="model", value_name="registrations")
        long["model"] = long["model"].str.replace("registrations_", "", regex=False)
        return px.bar(long, x=key, y="registrations", color="model", barmode="group",
                      title="Registrations credited by each attribution model")


def attribution(engine, spec: AttributionSpec | None = None, **kwargs) -> AttributionResult:
    """Registrations and revenue per key under each attribution model (same users, same revenue)."""
    spec = spec or AttributionSpec.build(**kwargs)
    data = load(engine, spec, nonconverting="markov" in spec.models, with_spend=False)
    return attribution_from(data, spec)


def attribution_from(data: AcqData, spec: AttributionSpec) -> AttributionResult:
    keycols = BY_COLUMNS[spec.by]
    facts = user_facts(data)[["user_id", "revenue"]]
    out = None
    for model in spec.models:
        ms = spec.model_copy(update={"attribution": model})
        c = credits(data, ms, spec.by).merge(facts, on="user_id", how="left")
        c["w_rev"] = c["credit"] * c["revenue"]
        g = c.groupby(keycols, as_index=False).agg(**{f"registrations_{model}": ("credit", "sum"),
                                                      f"revenue_{model}": ("w_rev", "sum")})
        out = g if out is None else out.merge(g, on=keycols, how="outer")
    if out is None:
        out = pd.DataFrame(columns=keycols)
    out = out.fillna(0.0)
    first = f"registrations_{spec.models[0]}" if spec.models else None
    if first and len(out):
        out = out.sort_values(first, ascending=False, kind="stable").reset_index(drop=True)
    meta = {"title": f"Attribution models compared by {spec.by}", "key": spec.by,
            "models": list(spec.models), "lookback_days": spec.lookback_days,
            "half_life_days": spec.half_life_days, "position_shares": list(spec.position_shares),
            "registrations": int(len(data.signups)), "revenue": float(facts["revenue"].sum()),
            "currency": data.currency}
    return AttributionResult(spec, out, meta)
