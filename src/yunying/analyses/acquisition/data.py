"""Loading acquisition data (portable Ibis; the same on every engine) and crediting users to keys.

Data rules: see the package docstring and docs/acquisition.md#data-rules.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..users import DIRECT
from .models import DIRECT_CHANNELS, collapse_touches, sort_touches, touch_weights
from .specs import BY_COLUMNS, NONE, AcquisitionSpec

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
    #: credits and user facts already computed from these data (a report asks for the same ones many times)
    cache: dict = field(default_factory=dict, repr=False, compare=False)


def _key_expr(t):
    import ibis

    return ibis.coalesce(t.channel.nullif(""), t.utm_source.nullif(""))


def _touch_cols(engine, t):
    return t.select(user_id=t.user_id, ts=t.ts, channel=t._ch, campaign=t.utm_campaign,
                    placement=engine.prop(t, "utm_content").cast("string"))


def _to_pd(engine, expr) -> pd.DataFrame:
    from .data_sql import arrow_frame

    return arrow_frame(engine.execute(expr))


def _ts(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[us]")


def _str(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


#: figures that set spend against users: n/a under a filter (spend belongs to no user or event)
COST_PER_USER = ("cost_per_registration", "cost_per_paying_user", "cac_low", "cac_high", "roas", "payback_days",
                 "ltv_cac", "verdict", "rank", "benchmark_cac", "paid_cost_per_registration",
                 "paid_cost_per_paying_user", "paid_roas")


def load_filtered(engine, spec: AcquisitionSpec, **options) -> AcqData:
    """:func:`load` (with its ``options``) of the events the spec's ``filters`` keep (signups, touches, activation
    and purchases alike); spend and its impressions / reads / clicks are the placements' own (not filtered)."""
    filters = getattr(spec, "filters", None)
    if not filters:
        return load(engine, spec, **options)
    from ..filtering import FilteredEngine

    return load(FilteredEngine(engine, filters), spec, **options)


def hide_costs_per_user(result):
    """With a filter, the filtered users' figures stay but every figure dividing the whole spend by them
    (:data:`COST_PER_USER`) becomes n/a: the spend was not spent on those users only."""
    if not getattr(result.spec, "filters", None):
        return result
    for col in COST_PER_USER:
        if col in result.frame.columns:
            result.frame[col] = None
        if col in result.meta:
            result.meta[col] = None
    for col in COST_PER_USER:
        if col in (result.meta.get("totals") or {}):
            result.meta["totals"][col] = None
    result.meta.setdefault("notes", []).append(
        "filtered: registrations, paying users and revenue are of the users the filters keep; spend, impressions, "
        "reads and clicks are the whole placements', so cost per user figures are n/a")
    return result


def load(engine, spec: AcquisitionSpec, *, all_signups: bool = False, with_spend: bool = True,
         nonconverting: bool | None = None) -> AcqData:
    """Pull signups, touches, activation, purchases and spend: plain SQL on the DuckDB engine over its whole
    events table (no Ibis import), portable Ibis otherwise (filters, Spark); the same data either way."""
    from ..sql import plain_duckdb

    nonconverting = nonconverting if nonconverting is not None else spec.attribution == "markov"
    opts = {"all_signups": all_signups, "nonconverting": nonconverting, "with_spend": with_spend}
    if plain_duckdb(engine):
        from .data_sql import load_frames
        raw = load_frames(engine, spec, **opts)
    else:
        raw = _ibis_frames(engine, spec, **opts)
    return _data(engine, spec, raw)


def _data(engine, spec: AcquisitionSpec, raw: dict) -> AcqData:
    """:class:`AcqData` from the raw frames of the queries (see ``data_sql.load_frames``)."""
    cfg = engine.workspace.config
    warnings: list[str] = []
    signups = raw["signups"]
    signups["signup_ts"] = _ts(signups["signup_ts"])
    signups["signup_day"] = pd.to_datetime(signups["signup_day"]).dt.date
    signups["user_id"] = _str(signups["user_id"])
    signups = signups.sort_values("user_id", kind="stable").reset_index(drop=True)
    touches = _prepare_touches(raw["touches"], raw["own"], spec)
    nonconv = None
    if raw["nonconv"] is not None:
        ncd = raw["nonconv"]
        ncd["conv_ts"] = pd.NaT
        nonconv = _prepare_touches(ncd, None, spec)
    activated = set(_str(raw["activated"]["user_id"]))
    purchases, firsts = _purchase_frames(raw["purchases"], raw["firsts"])
    as_of = raw["as_of"]
    as_of = None if as_of is None else pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo is None \
        else pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
    spend = _spend_frame(raw["spend"]) if raw["spend"] is not None else _empty_spend()
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


def _ibis_frames(engine, spec: AcquisitionSpec, *, all_signups: bool, nonconverting: bool,
                 with_spend: bool) -> dict:
    """The raw frames of :func:`load` from portable Ibis expressions (any engine, filtered events)."""
    import ibis

    evs = engine.workspace.config.events
    ev = engine.events()
    out = {}
    sg = ev.filter(ev.event == evs.signup)
    s_all = sg.group_by("user_id").aggregate(signup_ts=sg.ts.min())
    s = s_all.mutate(signup_day=engine.local_ts(s_all.signup_ts).date())
    if not all_signups:
        if spec.date_from is not None:
            s = s.filter(s.signup_day >= spec.date_from)
        if spec.date_to is not None:
            s = s.filter(s.signup_day <= spec.date_to)
    out["signups"] = _to_pd(engine, s)
    sk = s.select("user_id", "signup_ts")

    # touches before signup, within the lookback window
    tk = ev.filter(ev.event != evs.signup)
    tk = tk.mutate(_ch=_key_expr(tk))
    tk = tk.filter(tk._ch.notnull())
    tc = _touch_cols(engine, tk)
    j = tc.join(sk, "user_id")
    j = j.filter((j.ts <= j.signup_ts) & (j.ts >= j.signup_ts - ibis.interval(days=int(spec.lookback_days))))
    out["touches"] = _to_pd(engine, j.select("user_id", "ts", "channel", "campaign", "placement", conv_ts=j.signup_ts))

    # the signup event's own channel key: the touch of users with no earlier touch
    st = sg.mutate(_ch=_key_expr(sg))
    st = _touch_cols(engine, st.filter(st._ch.notnull()))
    sj = st.join(sk, "user_id")
    sj = sj.filter(sj.ts == sj.signup_ts)
    out["own"] = _to_pd(engine, sj.select("user_id", "ts", "channel", "campaign", "placement", conv_ts=sj.signup_ts))

    out["nonconv"] = None
    if nonconverting:
        nc = tc.anti_join(s_all, "user_id")
        day = engine.local_ts(nc.ts).date()
        if spec.date_from is not None:
            nc = nc.filter(day >= spec.date_from - dt.timedelta(days=int(spec.lookback_days)))
        if spec.date_to is not None:
            nc = nc.filter(day <= spec.date_to)
        out["nonconv"] = _to_pd(engine, nc)

    # activation and purchases of the signed-up users
    act = ev.filter(ev.event == evs.activation).select("user_id").distinct()
    out["activated"] = _to_pd(engine, sk.join(act, "user_id").select("user_id"))
    p = ev.filter(ev.event == evs.purchase)
    p = p.mutate(_rev=engine.prop(p, evs.revenue).cast("float64"))
    pj = p.join(sk, "user_id")
    pj = pj.mutate(_day=((pj.ts.epoch_seconds() - pj.signup_ts.epoch_seconds()) / 86400.0).floor().cast("int64"))
    out["purchases"] = _to_pd(engine, pj.group_by(["user_id", "_day"]).aggregate(
        revenue=pj._rev.sum(), purchases=pj.count()))
    out["firsts"] = _to_pd(engine, pj.group_by("user_id").aggregate(first_revenue=pj._rev.argmin(pj.ts)))
    out["as_of"] = engine.scalar(ev.ts.max())
    out["spend"] = None
    if with_spend:
        sp = engine.table("spend")
        if spec.date_from is not None:
            sp = sp.filter(sp.date >= spec.date_from)
        if spec.date_to is not None:
            sp = sp.filter(sp.date <= spec.date_to)
        out["spend"] = _to_pd(engine, sp.select("date", "channel", "campaign", "placement", "cost", "currency",
                                                "impressions", "reads", "clicks"))
    return out


def _purchase_frames(purchases: pd.DataFrame, firsts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases of the signed-up users per day since signup, and each user's first-purchase revenue."""
    purchases = purchases.rename(columns={"_day": "day"})
    purchases["user_id"] = _str(purchases["user_id"])
    purchases["revenue"] = purchases["revenue"].astype("float64").fillna(0.0)
    purchases["day"] = purchases["day"].astype("int64").clip(lower=0)
    firsts["user_id"] = _str(firsts["user_id"])
    firsts["first_revenue"] = firsts["first_revenue"].astype("float64").fillna(0.0)
    return purchases, firsts


def _spend_frame(spend: pd.DataFrame) -> pd.DataFrame:
    """The spend rows dated in the period (campaign / placement missing → "(none)")."""
    if not len(spend):
        return _empty_spend()
    spend["date"] = pd.to_datetime(spend["date"]).dt.date
    for c in ("channel", "campaign", "placement", "currency"):
        spend[c] = _str(spend[c])
    spend["campaign"] = spend["campaign"].fillna(NONE)
    spend["placement"] = spend["placement"].fillna(NONE)
    spend["cost"] = spend["cost"].astype("float64").fillna(0.0)
    for c in ("impressions", "reads", "clicks"):
        spend[c] = spend[c].astype("float64")
    return spend


def _empty_spend() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype=object), "channel": pd.Series(dtype=object),
                         "campaign": pd.Series(dtype=object), "placement": pd.Series(dtype=object),
                         "cost": pd.Series(dtype="float64"), "currency": pd.Series(dtype=object),
                         "impressions": pd.Series(dtype="float64"), "reads": pd.Series(dtype="float64"),
                         "clicks": pd.Series(dtype="float64")})


def _prepare_touches(touches: pd.DataFrame, own: pd.DataFrame | None, spec: AcquisitionSpec) -> pd.DataFrame:
    cols = ["user_id", "ts", "channel", "campaign", "placement", "conv_ts"]
    frames = []
    for is_own, df in ((False, touches), (True, own)):
        if df is None or df.empty:
            continue
        df = df[cols].copy()
        df["_own"] = is_own
        df["user_id"] = _str(df["user_id"])
        df["ts"] = _ts(df["ts"])
        df["conv_ts"] = _ts(df["conv_ts"])
        for c in ("channel", "campaign", "placement"):
            df[c] = _str(df[c])
        frames.append(df)
    if len(frames) == 2:  # the signup's own key only for users with no earlier touch
        frames[1] = frames[1][~frames[1]["user_id"].isin(set(frames[0]["user_id"]))]
    if not frames:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out["ts"] = out["ts"].astype("datetime64[us]")
        out["conv_ts"] = out["conv_ts"].astype("datetime64[us]")
        return out
    df = pd.concat(frames, ignore_index=True)
    cmap = spec.channel_map or {}

    def key(v):
        v = cmap.get(v, v)
        return DIRECT if isinstance(v, str) and v.strip().lower() in DIRECT_CHANNELS else v

    keys = {v: key(v) for v in set(df["channel"]) if v is not None}   # a few distinct values, 100k+ rows
    df["channel"] = df["channel"].map(keys.get)                         # None stays None
    df["campaign"] = df["campaign"].fillna(NONE)
    df["placement"] = df["placement"].fillna(NONE)
    df = sort_touches(df, ["channel", "campaign", "placement"])
    # several signup events at the first instant: the first by (channel, campaign, placement) is the own key
    df = df[~(df["_own"] & df.duplicated("user_id"))].drop(columns="_own").reset_index(drop=True)
    return collapse_touches(df, ["channel", "campaign", "placement"], spec.touch_gap_minutes)


# ------------------------------------------------------------------------------------------ credits

def _joinkey(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    out = df[cols[0]].astype(str).to_numpy(dtype=object)
    for c in cols[1:]:
        out = out + "\x1f" + df[c].astype(str).to_numpy(dtype=object)
    return out


def credits(data: AcqData, spec: AcquisitionSpec, by: str = "channel") -> pd.DataFrame:
    """Credit rows: user_id, channel, campaign, placement, credit, touch_ts (sum of credit = 1 per user).

    Computed once per (key, model and its parameters) for ``data``; each call gets its own copy."""
    key = ("credits", by, spec.attribution, spec.half_life_days, tuple(spec.position_shares))
    if key not in data.cache:
        data.cache[key] = _credits(data, spec, by)
    return data.cache[key].copy()


def _credits(data: AcqData, spec: AcquisitionSpec, by: str) -> pd.DataFrame:
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
    """Per signed-up user: signup, activated, payer, revenue to date, first-purchase revenue (computed once for
    ``data``; each call gets its own copy)."""
    if "facts" not in data.cache:
        data.cache["facts"] = _user_facts(data)
    return data.cache["facts"].copy()


def _user_facts(data: AcqData) -> pd.DataFrame:
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
