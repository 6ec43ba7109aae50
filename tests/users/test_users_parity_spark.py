"""RFM and repurchase give the same answer on DuckDB and on PySpark (local mode), filters included."""
from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest
from users_helpers import make_ws

from yunying.analyses.repurchase import repurchase
from yunying.analyses.rfm import rfm

pytestmark = pytest.mark.spark


def rows(seed=5, n=1500):
    rng = random.Random(seed)
    t0 = dt.datetime(2024, 1, 1)
    out = []
    for i in range(n):
        user = f"u{rng.randrange(150)}"
        when = t0 + dt.timedelta(minutes=rng.randrange(150 * 1440))
        kind = rng.choice(["purchase", "purchase", "view"])
        props = {"order_id": f"o{rng.randrange(400)}" if rng.random() < 0.8 else None,
                 "city": rng.choice(["上海", "北京", "广州", None]), "amount_text": rng.choice(["12", " 3.5", "x"])}
        out.append({"user_id": user, "event": kind, "ts": when, "event_uuid": f"e{i}",
                    "revenue": round(rng.uniform(1, 300), 2) if kind == "purchase" else None,
                    "channel": rng.choice(["ads", "kol", None]), "props": {k: v for k, v in props.items() if v}})
    return out


@pytest.fixture(scope="module", params=["UTC", "Asia/Shanghai"])
def engines(request, tmp_path_factory):
    from yunying.engines.duckdb import DuckDBEngine
    from yunying.engines.spark import SparkEngine

    ws = make_ws(rows(), tz=request.param, directory=tmp_path_factory.mktemp("parity"))
    yield DuckDBEngine(ws), SparkEngine(ws)
    ws.close()


def same(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False,
                                  check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("kwargs", [
    dict(as_of=dt.date(2024, 4, 30)),
    dict(model="mean8", order_property="order_id"),
    dict(bins=3, filters=["event.city in ('上海', '北京') and event.amount_text > 3", "not event.channel = 'kol'"]),
])
def test_rfm_parity(engines, kwargs):
    duck, spark = engines
    a, b = rfm(duck, **kwargs), rfm(spark, **kwargs)
    assert len(a.frame) > 20
    same(a.frame, b.frame)
    sa, sb = a.to_dict()["segments"], b.to_dict()["segments"]
    assert [(s["segment"], s["users"]) for s in sa] == [(s["segment"], s["users"]) for s in sb]
    assert [s["revenue"] for s in sa] == pytest.approx([s["revenue"] for s in sb], rel=1e-9)


@pytest.mark.parametrize("kwargs", [
    dict(period="month"),
    dict(period="week", basis="orders", order_property="order_id"),
    dict(period="week", date_from=dt.date(2024, 2, 7), date_to=dt.date(2024, 4, 20), filters="event.city = '上海'"),
])
def test_repurchase_parity(engines, kwargs):
    duck, spark = engines
    a, b = repurchase(duck, **kwargs), repurchase(spark, **kwargs)
    assert a.frame["buyers"].sum() > 0
    same(a.frame, b.frame)
