"""RFM against an independent pandas implementation of docs/users.md#rfm on random purchases with nasty cases:
anonymous ids merged into users, a time zone whose local day differs from UTC, missing revenue, order ids that
are missing or repeated, Chinese and hostile user ids, revenue ties (exact binary fractions, so equal sums are
equal), filters on event and user properties. Every column, the row order and the class summary are compared."""
from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from users_helpers import make_ws

from yunying.analyses.rfm import rfm

TZ = "Asia/Shanghai"
# (R high, F high, M high) -> class, as in the table of docs/users.md#rfm
CLASSES = {(1, 1, 1): "important_value", (1, 0, 1): "important_development", (0, 1, 1): "important_retention",
           (0, 0, 1): "important_winback", (1, 1, 0): "general_value", (1, 0, 0): "general_development",
           (0, 1, 0): "general_retention", (0, 0, 0): "general_winback"}


def random_shop(tmp_path, seed):
    rnd = random.Random(seed)
    users = [f"u{i}" for i in range(25)] + ["用户甲", "x'; DROP TABLE events; --", "`b`"]
    anons = {f"anon{i}": rnd.choice(users) for i in range(8)}
    rows = []
    t0 = dt.datetime(2024, 1, 1)
    for k in range(300):
        who = rnd.choice(users + list(anons))
        ts = t0 + dt.timedelta(minutes=rnd.randrange(90 * 24 * 60))  # local day = UTC day + 8 hours
        ev = rnd.choice(["purchase", "purchase", "view"])
        props = {}
        if rnd.random() < 0.6:
            props["order_id"] = rnd.choice([f"o{rnd.randrange(40)}", 7, "订单1"])  # numbers too
        if rnd.random() < 0.7:
            props["store"] = rnd.choice(["上海店", "北京店", "12"])
        rows.append({"user_id": None if who in anons else who, "distinct_id": who, "event": ev, "ts": ts,
                     "revenue": rnd.choice([None, 10.0, 20.5, 0.25, 100.0]), "props": props or None})
    ws = make_ws(rows, tz=TZ, directory=tmp_path)
    ws.identify(list(anons.items()))
    profiles = {u: rnd.choice(["pro", "free"]) for u in rnd.sample(users, 15)}
    ws.set_profiles(pa.table({"id": list(profiles), "key": ["plan"] * len(profiles),
                              "value": [json.dumps(v) for v in profiles.values()],
                              "set_at": pa.array([dt.datetime(2024, 1, 1)] * len(profiles), pa.timestamp("us")),
                              "once": [False] * len(profiles)}))
    ev = pd.DataFrame(rows)
    ev["user"] = [anons.get(d, d) for d in ev["distinct_id"]]
    ev["day"] = pd.to_datetime(ev["ts"]).dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date
    ev["order"] = [None if not p or p.get("order_id") is None else str(p["order_id"]) for p in ev["props"]]
    ev["store"] = [(p or {}).get("store") for p in ev["props"]]
    ev["plan"] = ev["user"].map(profiles)
    return ws, ev[ev["event"] == "purchase"].copy()


def reference(p: pd.DataFrame, as_of, model: str, bins: int, by_order: bool) -> tuple[pd.DataFrame, dict]:
    """The documented definition, in pandas, by brute force."""
    p = p[p["day"] <= as_of] if as_of else p
    as_of = as_of or p["day"].max()
    rows = []
    for user, g in p.groupby("user"):
        orders = len(g) if not by_order else g["order"].nunique() + int(g["order"].isna().sum())
        rows.append({"user_id": user, "recency_days": (as_of - g["day"].max()).days, "frequency": orders,
                     "monetary": float(g["revenue"].fillna(0).sum())})
    df = pd.DataFrame(rows)
    r, f, m = (df[c].to_numpy() for c in ("recency_days", "frequency", "monetary"))
    n = len(df)
    if model == "quantile":
        worse = {"r": (r[None, :] > r[:, None]).sum(1), "f": (f[None, :] < f[:, None]).sum(1),
                 "m": (m[None, :] < m[:, None]).sum(1)}  # buyers strictly worse than each buyer
        for k in "rfm":
            df[f"{k}_score"] = 1 + (bins * worse[k]) // n
        high = [df[f"{k}_score"] > df[f"{k}_score"].mean() for k in "rfm"]
    else:
        high = [df["recency_days"] < r.mean(), df["frequency"] > f.mean(), df["monetary"] > m.mean()]
        for k, h in zip("rfm", high):
            df[f"{k}_score"] = h.astype(int)
    df["segment"] = [CLASSES[(int(a), int(b), int(c))] for a, b, c in zip(*high)]
    df = df.sort_values(["monetary", "user_id"], ascending=[False, True], key=None).reset_index(drop=True)
    # user ids sort by code point (Python) = by UTF-8 bytes (the engines): re-sort ties explicitly to be sure
    df = df.iloc[sorted(range(n), key=lambda i: (-df["monetary"][i], df["user_id"][i].encode()))].reset_index(drop=True)
    summary = {k: (int((df["segment"] == k).sum()), float(df.loc[df["segment"] == k, "monetary"].sum()))
               for k in CLASSES.values()}
    return df, summary


CASES = [
    ({}, None),
    ({"as_of": dt.date(2024, 2, 20)}, None),
    ({"model": "mean8"}, None),
    ({"bins": 3, "order_property": "order_id"}, None),
    ({"filters": ["event.store = '上海店'"]}, lambda p: p["store"] == "上海店"),
    ({"filters": ["event.store >= 10 or user.plan = 'pro'"], "model": "mean8"},
     lambda p: (pd.to_numeric(p["store"], errors="coerce") >= 10) | (p["plan"] == "pro")),
]


@pytest.mark.parametrize("seed", [3, 4])
def test_rfm_matches_pandas(tmp_path, seed):
    ws, p = random_shop(tmp_path, seed)
    try:
        for kwargs, keep in CASES:
            sub = p[keep(p)] if keep else p
            res = rfm(ws.engine, **kwargs)
            want, summary = reference(sub, kwargs.get("as_of"), kwargs.get("model", "quantile"),
                                      kwargs.get("bins", 5), "order_property" in kwargs)
            got = pd.DataFrame(res.records())
            assert got["user_id"].tolist() == want["user_id"].tolist(), kwargs  # the order: revenue, then id
            for col in ("recency_days", "frequency", "r_score", "f_score", "m_score", "segment"):
                assert got[col].tolist() == want[col].tolist(), (kwargs, col)
            assert np.allclose(got["monetary"], want["monetary"], rtol=0, atol=1e-9)
            seg = {s["segment"]: (s["users"], s["revenue"]) for s in res.to_dict()["segments"]}
            assert {k: v[0] for k, v in seg.items()} == {k: v[0] for k, v in summary.items()}, kwargs
            assert {k: round(v[1], 9) for k, v in seg.items()} == {k: round(v[1], 9) for k, v in summary.items()}
            assert res.meta["buyers"] == len(want) > 5
    finally:
        ws.close()
