"""Trends without Ibis or pandas on the hot path (issue 13, start-up): on random event logs, the DuckDB SQL
path gives the same raw series as the Ibis path (which Spark and filters use), and the pandas-free result
equals the earlier pandas computation (trends_reference.py) record for record, in CSV and as a DataFrame.
Revenue values are multiples of 1/4, so every sum is exact whatever order an engine adds in."""
from __future__ import annotations

import datetime as dt
import json
import random

import pandas as pd
import pytest

from yunying.analyses import trends as T
from yunying.analyses import trends_sql

import trends_reference as R
from analytics_helpers import make_ws

EVENTS = ["view", "buy", "signup"]


def _rows(seed: int, n: int = 400):
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1)
    rows = []
    for _ in range(n):
        props = {}
        if rng.random() < 0.8:
            props["channel"] = rng.choice(["ads", "seo", "kol", "mail", ""])
        if rng.random() < 0.6:
            props["revenue"] = rng.randint(-4, 400) / 4
        if rng.random() < 0.5:
            props["city"] = rng.choice(["上海", "北京", "深圳", "O'Hare"])
        if rng.random() < 0.5:
            props["score"] = rng.randint(0, 40) / 2
        when = start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 100))
        rows.append((f"u{rng.randint(0, 60)}", rng.choice(EVENTS), when, props))
    return rows


@pytest.fixture(scope="module", params=[("UTC", 1), ("Asia/Shanghai", 2), ("America/New_York", 3)])
def ws(request):
    tz, seed = request.param
    w = make_ws(_rows(seed), tz=tz)
    yield w
    w.close()


def _specs(rng: random.Random):
    measures = ["count", "users", "per_user", "sum", "avg", "min", "max", "median", "p90", "p99"]
    for _ in range(40):
        def series():
            m = rng.choice(measures)
            s = {"measure": m}
            if rng.random() < 0.25:
                s["active"] = True
            else:
                s["event"] = rng.choice(EVENTS)
            if m in T.NEEDS_PROPERTY:
                s["property"] = rng.choice(["revenue", "score"])
            return s
        kw = {"interval": rng.choice(["day", "week", "month"]), "compare": rng.random() < 0.5,
              "fill_zeros": rng.random() < 0.8}
        n = rng.choice([1, 1, 2, 3])
        if n == 1:
            kw.update(series())
        else:
            kw.update(series=[series() for _ in range(n)], formula=rng.choice(["A/B", "A+B*2", "(A-B)/A"])
                      + ("+C" if n == 3 else ""))
        if rng.random() < 0.6:
            kw.update(by=rng.choice(["channel", "city", "event.city"]), top=rng.choice([1, 2, 3, 20]))
        if rng.random() < 0.5:
            a = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(-10, 90))
            kw.update(date_from=a, date_to=a + dt.timedelta(days=rng.randint(0, 60)))
        elif rng.random() < 0.3:
            kw.update(date_to=dt.date(2024, 3, 1))
        yield T.TrendsSpec.build(**kw)


def _run(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - both sides must refuse alike
        return f"{type(exc).__name__}: {exc}"


def test_sql_and_ibis_raw_series_agree(ws):
    assert trends_sql.applies(ws.engine, T.TrendsSpec.build(event="view", by="channel"))
    rng = random.Random(11)
    checked = 0
    for spec in _specs(rng):
        for s in spec.all_series:
            first, last = spec.date_from, spec.date_to
            sql = trends_sql.raw_series(ws.engine, s, spec, first, last, T.PERCENTILES, T.NONE)
            ibis = T._ibis_series(ws.engine, s, spec, first, last)
            assert sql == ibis, spec
            assert all(type(sql[k]) is type(ibis[k]) for k in sql), spec
            checked += len(sql)
    assert checked > 500
    series = [T.Series(event="buy"), T.Series(event="view")]
    first, last = trends_sql.data_range(ws.engine, series)
    spec = T.TrendsSpec.build(event="buy", filters=["event.channel = 'ads'"])  # filters: the Ibis path
    assert not trends_sql.applies(ws.engine, spec)
    assert (first, last) == T._data_range(ws.engine, series, spec)
    assert first is not None and first <= last


def test_pandas_free_result_equals_the_pandas_computation(ws):
    rng = random.Random(5)
    compared = 0
    for spec in _specs(rng):
        new, old = _run(T.trends, ws.engine, spec), _run(R.trends, ws.engine, spec)
        if isinstance(old, str):
            assert new == old
            continue
        assert json.dumps(new.to_dict(), sort_keys=True) == json.dumps(old.to_dict(), sort_keys=True), spec
        assert new.to_csv() == old.to_csv(), spec
        # an empty percentile series was an object column of NaN before; the values are the same
        pd.testing.assert_frame_equal(new.frame, old.frame, check_dtype=False)
        compared += len(new)
    assert compared > 300


def test_hand_worked_sql_trend():
    # u1 buys twice on Monday 2024-01-01 (10.5 + 2.25, channel ads), u2 once on Sunday 2024-01-07 (no channel)
    w = make_ws([("u1", "buy", "2024-01-01 10:00", {"channel": "ads", "revenue": 10.5}),
                 ("u1", "buy", "2024-01-01 11:00", {"channel": "ads", "revenue": 2.25}),
                 ("u2", "buy", "2024-01-07 23:00", {"revenue": 4}),
                 ("u2", "view", "2024-01-08 00:30")])
    try:
        res = T.trends(w.engine, event="buy", measure="sum", property="revenue", interval="week", by="channel")
        assert res.records() == [{"date": "2024-01-01", "breakdown": "(none)", "value": 4.0, "channel": "(none)"},
                                 {"date": "2024-01-01", "breakdown": "ads", "value": 12.75, "channel": "ads"}]
        res = T.trends(w.engine, event="buy", measure="count", interval="day", compare=True,
                       date_from=dt.date(2024, 1, 7), date_to=dt.date(2024, 1, 8))
        assert [(r["date"], r["value"], r["previous_value"]) for r in res.records()] == [
            ("2024-01-07", 1, 0), ("2024-01-08", 0, 0)]
        assert res.meta["total"] == 1.0 and res.meta["previous_total"] == 0.0
    finally:
        w.close()


def test_events_per_user_sql_equals_ibis(ws):
    """`stickiness --per-user` (analyses/distribution.py): the histogram of events per user, both paths."""
    from yunying.analyses import distribution as D

    for event in ("$any", "buy", "nothing"):
        for lo, hi in ((None, None), (dt.date(2024, 1, 20), dt.date(2024, 2, 10))):
            spec = D.DistributionSpec.build(event=event, date_from=lo, date_to=hi)
            sql, ibis = sorted(D._histogram_sql(ws.engine, spec)), sorted(D._histogram(ws.engine, spec))
            assert sql == ibis and (bool(sql) or event == "nothing")
            assert sum(u for _, u in sql) == D.distribution(ws.engine, spec).meta["users"]
