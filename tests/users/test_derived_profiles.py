"""Derived user properties ($first_channel, $purchase_count, …) against a pandas reference, and filters on
them, on DuckDB and Spark."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from users_helpers import make_ws

from yunying.analyses import filtering
from yunying.analyses.profiles import DERIVED, derived_users
from yunying.errors import SpecError

TZ = "Asia/Shanghai"


def random_rows(seed=21, n=500):
    rng = random.Random(seed)
    t0 = dt.datetime(2024, 1, 1)
    out = []
    for i in range(n):
        ev = rng.choice(["view", "view", "signup", "purchase"])
        props = {}
        if rng.random() < 0.3:
            props["utm_content"] = rng.choice(["kol-张三", "feed-1", ""])
        u = rng.randrange(60)
        out.append({
            "user_id": f"u{u}", "event": ev, "event_uuid": f"e{i}",
            "ts": t0 + dt.timedelta(seconds=rng.randrange(40 * 86400)),  # distinct enough: no ties
            "channel": rng.choice([None, None, "kol", "search", ""]) if u < 50 else None,  # u50+: never a channel
            "revenue": round(rng.uniform(1, 200), 2) if ev == "purchase" and rng.random() < 0.9 else None,
            "props": props or None,
        })
    return out


def reference(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows).sort_values(["user_id", "ts"], kind="stable")
    df["utm_content"] = df["props"].map(lambda p: (p or {}).get("utm_content"))

    def first(g, col):
        v = g[col].replace("", None).dropna()
        return v.iloc[0] if len(v) else None

    out = {}
    for user, g in df.groupby("user_id"):
        buys = g[g["event"] == "purchase"]
        signups = g[g["event"] == "signup"]
        out[user] = {
            "first_seen": g["ts"].min(), "last_seen": g["ts"].max(),
            "first_channel": first(g, "channel"), "first_placement": first(g, "utm_content"),
            "signup_time": signups["ts"].min() if len(signups) else None,
            "first_purchase_time": buys["ts"].min() if len(buys) else None,
            "purchase_count": len(buys), "lifetime_revenue": float(buys["revenue"].fillna(0).sum()),
        }
    return pd.DataFrame.from_dict(out, orient="index").sort_index()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rows = random_rows()
    ws = make_ws(rows, tz=TZ, directory=tmp_path_factory.mktemp("derived"))
    yield rows, ws
    ws.close()


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request, data):
    from yunying.engines.duckdb import DuckDBEngine
    from yunying.engines.spark import SparkEngine

    return (DuckDBEngine if request.param == "duckdb" else SparkEngine)(data[1])


def test_derived_properties_match_the_reference(data, engine):
    rows, _ = data
    ref = reference(rows)
    got = engine.execute(derived_users(engine)).to_pandas().set_index("user_id").sort_index()
    assert set(got.columns) == set(DERIVED.values())
    assert list(got.index) == list(ref.index)
    for col in ref.columns:
        a, b = got[col].tolist(), ref[col].tolist()
        if col == "lifetime_revenue":
            assert a == pytest.approx(b), col
        else:
            norm = lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else (  # noqa: E731
                pd.Timestamp(v).to_pydatetime() if "time" in col or "seen" in col else v)
            assert [norm(x) for x in a] == [norm(x) for x in b], col


@pytest.mark.parametrize("text", [
    "user.$purchase_count >= 2", "user.$first_channel = 'kol'", "user.$first_channel is not set",
    "user.$lifetime_revenue > 150 and event.event = 'view'", "user.$signup_time >= 2024-01-20",
    "user.$first_placement contains '张'", "not user.$first_purchase_time is set or user.$last_seen < 2024-02-05",
])
def test_filters_on_derived_properties(data, engine, text):
    rows, _ = data
    ref = reference(rows)
    zone = ZoneInfo(TZ)
    local = lambda v: None if v is None or pd.isna(v) else v.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()  # noqa: E731
    user_ok = {
        "user.$purchase_count >= 2": lambda r: r.purchase_count >= 2,
        "user.$first_channel = 'kol'": lambda r: r.first_channel == "kol",
        "user.$first_channel is not set": lambda r: not isinstance(r.first_channel, str),
        "user.$lifetime_revenue > 150 and event.event = 'view'": lambda r: r.lifetime_revenue > 150,
        "user.$signup_time >= 2024-01-20": lambda r: local(r.signup_time) is not None and local(r.signup_time) >= dt.date(2024, 1, 20),
        "user.$first_placement contains '张'": lambda r: isinstance(r.first_placement, str) and "张" in r.first_placement,
        "not user.$first_purchase_time is set or user.$last_seen < 2024-02-05":
            lambda r: local(r.first_purchase_time) is None or local(r.last_seen) < dt.date(2024, 2, 5),
    }[text]
    keep = {u for u, r in ref.iterrows() if user_ok(r)}
    expected = sorted(r["event_uuid"] for r in rows if r["user_id"] in keep
                      and ("event.event = 'view'" not in text or r["event"] == "view"))
    t = filtering.apply(engine, engine.events(), text)
    got = sorted(engine.execute(t.select("event_uuid"))["event_uuid"].to_pylist())
    assert 0 < len(got) < len(rows)
    assert got == expected


def test_misspelt_derived_property(data, engine):
    with pytest.raises(SpecError, match=r"did you mean user\.\$first_channel"):
        filtering.predicate(engine, "user.$first_chanel = 'kol'")
