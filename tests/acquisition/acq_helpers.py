"""Random acquisition data (events + spend) and a direct pandas oracle of the channel table."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-06-01", tz="UTC")
DIRECT = "direct/unknown"
NONE = "(none)"
# (channel column, utm_source, utm_campaign, utm_content)
SOURCES = [
    ("search", "baidu", "sem", "kw_a"),
    ("search", "baidu", "sem", "kw_b"),
    (None, "baidu", "sem", "kw_a"),          # only utm_source: mapped baidu -> search by channel_map
    ("feed", "douyin", "fd", "f1"),
    ("kol", "bili", "seed", "k1"),
    ("kol", "bili", "seed", "k2"),
    ("kol", "xhs", "seed", "k3"),
    ("organic", None, None, None),
    ("direct", None, None, None),            # an explicit direct touch (skipped by last non-direct)
]
PLACEMENTS = [("search", "sem", "kw_a"), ("search", "sem", "kw_b"), ("feed", "fd", "f1"), ("kol", "seed", "k1"),
              ("kol", "seed", "k2"), ("kol", "seed", "k3"), ("wechat", "wx", "wx_01")]   # wechat: spend, no users


def random_events(seed: int, n_users: int = 300, days: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []

    def add(uid, event, ts, src=None, revenue=None):
        ch, us, camp, cont = SOURCES[src] if src is not None else (None, None, None, None)
        rows.append({"user_id": uid, "event": event, "ts": ts, "channel": ch, "utm_source": us,
                     "utm_campaign": camp, "utm_content": cont, "revenue": revenue})

    for i in range(n_users):
        uid = f"u{i:04d}"
        signs_up = rng.random() < 0.85
        sts = START + pd.Timedelta(seconds=float(rng.uniform(0, days * 86400)))
        n_touch = rng.choice([0, 1, 2, 3], p=[0.15, 0.45, 0.25, 0.15])
        for _ in range(n_touch):
            src = int(rng.integers(len(SOURCES)))
            back = rng.uniform(0.01, 12) * 86400
            if rng.random() < 0.05:
                back = 40 * 86400            # outside the 30-day lookback
            t = sts - pd.Timedelta(seconds=float(back))
            add(uid, "ad_click" if SOURCES[src][1] else "landing", t, src)
            if rng.random() < 0.3:           # its landing view minutes later: the same touch
                add(uid, "landing", t + pd.Timedelta(minutes=float(rng.uniform(1, 20))), src)
        if rng.random() < 0.1:               # a touch after signup never counts
            add(uid, "ad_click", sts + pd.Timedelta(hours=2), int(rng.integers(len(SOURCES))))
        if not signs_up:
            if rng.random() < 0.2:
                add(uid, "purchase", sts, None, 10.0)   # purchases without signup: not attributed
            continue
        own = int(rng.integers(len(SOURCES))) if rng.random() < 0.3 else None
        add(uid, "signup", sts, own)          # some signups carry their own UTM
        if rng.random() < 0.5:
            add(uid, "activate", sts + pd.Timedelta(hours=float(rng.uniform(0, 72))))
        for _ in range(rng.poisson(0.9)):
            rev = None if rng.random() < 0.05 else round(float(rng.uniform(5, 200)), 2)
            add(uid, "purchase", sts + pd.Timedelta(seconds=float(rng.uniform(0, 25 * 86400))), None, rev)
    df = pd.DataFrame(rows)
    df["ts"] = pd.to_datetime(df["ts"], utc=True).dt.round("ms")
    return df


def random_spend(seed: int, days: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1000)
    rows = []
    for d in range(-12, days + 3):
        day = (START + pd.Timedelta(days=d)).date()
        for ch, camp, pl in PLACEMENTS:
            if rng.random() < 0.15:
                continue
            cost = round(float(rng.uniform(0, 400)), 2)
            imp = int(rng.integers(0, 20000))
            reads = None if ch == "search" else int(rng.integers(0, max(imp, 1)))
            clicks = int(rng.integers(0, 500))
            rows.append({"date": day.isoformat(), "channel": ch, "campaign": camp, "placement": pl, "cost": cost,
                         "currency": "CNY", "impressions": imp, "reads": reads, "clicks": clicks})
    return pd.DataFrame(rows)


def build_workspace(path, seed: int = 1, n_users: int = 300, timezone: str = "Asia/Shanghai"):
    import yunying
    from yunying.config import WorkspaceConfig

    ev = random_events(seed, n_users)
    sp = random_spend(seed)
    path.mkdir(parents=True, exist_ok=True)
    ev.to_parquet(path / "events.parquet")
    sp.to_csv(path / "spend.csv", index=False)
    ws = yunying.Workspace.init(path / "ws", WorkspaceConfig(name="t", timezone=timezone))
    ws.import_events([str(path / "events.parquet")])
    ws.import_spend([str(path / "spend.csv")])
    return ws, ev, sp


# --------------------------------------------------------------------------------- the oracle

def _key_of(row, cmap):
    k = row["channel"] if isinstance(row["channel"], str) and row["channel"] else row["utm_source"]
    if not isinstance(k, str) or not k:
        return None
    k = cmap.get(k, k)
    return DIRECT if k.lower() in ("direct", "(direct)", "none", "(none)", "direct/unknown") else k


def oracle_channels(ev: pd.DataFrame, sp: pd.DataFrame, *, tz: str, model: str = "first", by: str = "channel",
                    date_from=None, date_to=None, cmap=None, lookback_days=30, gap_minutes=30) -> pd.DataFrame:
    """The channel table computed the plain way: per-user loops over the raw rows."""
    cmap = cmap or {}
    keycols = {"channel": ["channel"], "campaign": ["channel", "campaign"], "placement": ["channel", "placement"]}[by]
    ev = ev.copy()
    ev["key"] = [_key_of({"channel": c, "utm_source": u}, cmap) for c, u in zip(ev["channel"], ev["utm_source"])]
    as_of = ev["ts"].max()
    sign = ev[ev["event"] == "signup"].groupby("user_id")["ts"].min()
    local_day = sign.dt.tz_convert(tz).dt.date
    keep = pd.Series(True, index=sign.index)
    if date_from:
        keep &= local_day >= date_from
    if date_to:
        keep &= local_day <= date_to
    sign = sign[keep]
    credit_rows = []
    per_user = dict(tuple(ev.groupby("user_id")))
    for uid, sts in sign.items():
        u = per_user[uid]
        t = u[(u["event"] != "signup") & u["key"].notna() & (u["ts"] <= sts)
              & (u["ts"] >= sts - pd.Timedelta(days=lookback_days))].copy()
        t["campaign"] = t["utm_campaign"].fillna(NONE)
        t["placement"] = t["utm_content"].fillna(NONE)
        t = t.sort_values(["ts", "key", "campaign", "placement"])
        touches = []
        prev = None
        for _, r in t.iterrows():
            cur = (r["key"], r["campaign"], r["placement"])
            if prev is not None and cur == prev[0] and (r["ts"] - prev[1]) < pd.Timedelta(minutes=gap_minutes):
                prev = (cur, r["ts"])
                continue
            touches.append(cur)
            prev = (cur, r["ts"])
        if not touches:
            s = u[(u["event"] == "signup") & (u["ts"] == sts) & u["key"].notna()]
            if len(s):
                r = s.iloc[0]
                touches = [(r["key"], r["utm_campaign"] if isinstance(r["utm_campaign"], str) else NONE,
                            r["utm_content"] if isinstance(r["utm_content"], str) else NONE)]
        if not touches:
            touches = [(DIRECT, NONE, NONE)]
        n = len(touches)
        if model == "first":
            cr = [1.0] + [0.0] * (n - 1)
        elif model == "last":
            nd = [i for i, tt in enumerate(touches) if tt[0] != DIRECT]
            j = nd[-1] if nd else n - 1
            cr = [1.0 if i == j else 0.0 for i in range(n)]
        elif model == "linear":
            cr = [1.0 / n] * n
        else:
            raise ValueError(model)
        for tt, c in zip(touches, cr):
            if c:
                credit_rows.append({"user_id": uid, "channel": tt[0], "campaign": tt[1], "placement": tt[2],
                                    "credit": c, "signup_ts": sts})
    cred = pd.DataFrame(credit_rows)
    # user facts
    act = set(ev.loc[ev["event"] == "activate", "user_id"])
    pur = ev[(ev["event"] == "purchase") & ev["user_id"].isin(sign.index)].copy()
    pur["rev"] = pur["revenue"].fillna(0.0)
    rev = pur.groupby("user_id")["rev"].sum()
    first = pur.sort_values("ts").groupby("user_id")["rev"].first()
    cred["act"] = cred["user_id"].isin(act) * cred["credit"]
    cred["pay"] = cred["user_id"].isin(set(pur["user_id"])) * cred["credit"]
    cred["rev"] = cred["user_id"].map(rev).fillna(0.0) * cred["credit"]
    cred["first"] = cred["user_id"].map(first).fillna(0.0) * cred["credit"]
    users = cred.groupby(keycols).agg(registrations=("credit", "sum"), activated=("act", "sum"),
                                      paying_users=("pay", "sum"), revenue=("rev", "sum"),
                                      first_purchase_revenue=("first", "sum"))
    s = sp.copy()
    s["date"] = pd.to_datetime(s["date"]).dt.date
    if date_from:
        s = s[s["date"] >= date_from]
    if date_to:
        s = s[s["date"] <= date_to]
    s["campaign"] = s["campaign"].fillna(NONE)
    s["placement"] = s["placement"].fillna(NONE)
    money = s.groupby(keycols).agg(spend=("cost", "sum"), impressions=("impressions", lambda x: x.sum(min_count=1)),
                                   reads=("reads", lambda x: x.sum(min_count=1)),
                                   clicks=("clicks", lambda x: x.sum(min_count=1)))
    out = money.join(users, how="outer").reset_index()
    out["spend"] = out["spend"].fillna(0.0)
    for c in ("registrations", "activated", "paying_users", "revenue", "first_purchase_revenue"):
        out[c] = out[c].fillna(0.0)

    def div(a, b):
        if a is None or b is None or (isinstance(b, float) and math.isnan(b)) or b == 0 \
                or (isinstance(a, float) and math.isnan(a)):
            return None
        return a / b

    out["ctr"] = [div(c, i) for c, i in zip(out["clicks"], out["impressions"])]
    out["cpc"] = [div(s_, c) for s_, c in zip(out["spend"], out["clicks"])]
    # a channel with no spend recorded has no cost per user (None), not a cost of 0
    out["cost_per_registration"] = [div(a, b) if a > 0 else None for a, b in zip(out["spend"], out["registrations"])]
    out["cost_per_paying_user"] = [div(a, b) if a > 0 else None for a, b in zip(out["spend"], out["paying_users"])]
    out["roas"] = [div(a, b) for a, b in zip(out["revenue"], out["spend"])]
    # payback (days since signup until cumulative revenue per registration >= cost per registration)
    paybacks = []
    by_user = {}
    for uid, p in pur.groupby("user_id"):
        k = np.floor(((p["ts"] - sign[uid]) / pd.Timedelta(days=1)).to_numpy()).clip(0)
        by_user[uid] = (k, p["rev"].to_numpy())
    for _, r in out.iterrows():
        cpr = r["cost_per_registration"]
        if not cpr or r["spend"] <= 0:
            paybacks.append(None)
            continue
        mask = np.ones(len(cred), dtype=bool)
        for c in keycols:
            mask &= (cred[c] == r[c]).to_numpy()
        cu = cred[mask]
        obs = np.floor(((as_of - cu["signup_ts"]) / pd.Timedelta(days=1)).to_numpy())
        regs = cu["credit"].sum()
        found = None
        max_day = int(math.floor((as_of - sign.min()) / pd.Timedelta(days=1)))
        for d in range(1, max_day + 1):
            m = obs >= d
            den = cu["credit"].to_numpy()[m].sum()
            if den < 0.2 * regs or den <= 0:
                continue
            num = 0.0
            for uid, c in zip(cu["user_id"][m], cu["credit"][m]):
                k, v = by_user.get(uid, (np.zeros(0), np.zeros(0)))
                num += c * v[k + 1 <= d].sum()
            if num / den >= cpr - 1e-9:
                found = d
                break
        paybacks.append(found)
    out["payback_days"] = paybacks
    return out


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)
