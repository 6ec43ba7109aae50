"""The overview and the new-users / revenue series without Ibis or pandas (issue 13, start-up): on random
workspaces (events with channels, signups, activations, purchases; spend), the plain SQL of DuckDB gives the
same rows as the Ibis expressions (the path filters and other engines take), in three time zones; the
zero-filled series equal the earlier pandas fill. Revenue and cost are multiples of 1/4 (sums exact)."""
from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

import yunying
from util import write
from yunying.analyses import overview as O
from yunying.analyses import users as U
from yunying.analyses import overview_sql, users_sql
from yunying.config import WorkspaceConfig
from yunying.sequences.calendar import period_range

EVENTS = ["signup", "activate", "purchase", "app_open", "ad_click"]


def _workspace(tmp_path, tz: str, seed: int):
    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,channel,utm_source,revenue,city"]
    start = dt.datetime(2026, 5, 1)
    for _ in range(700):
        u = f"u{rng.randint(0, 80)}"
        ev = rng.choice(EVENTS)
        when = start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        ch = rng.choice(["search", "feed", "", "", "kol"])
        src = rng.choice(["", "baidu", ""])
        rev = str(rng.randint(1, 800) / 4) if ev == "purchase" and rng.random() < 0.9 else ""
        city = rng.choice(["", "上海", "北京"])
        lines.append(f"{u},{u},{ev},{when.isoformat()}Z,{ch},{src},{rev},{city}")
    costs = {(dt.date(2026, 5, 1) + dt.timedelta(days=rng.randint(0, 60)), rng.choice(["search", "feed", "kol"])):
             rng.randint(0, 4000) / 4 for _ in range(80)}  # one row per (date, channel)
    spend = ["date,channel,cost"] + [f"{d},{ch},{c}" for (d, ch), c in costs.items()]
    ws = yunying.Workspace.init(tmp_path / f"ws{seed}", config=WorkspaceConfig(name="t", timezone=tz))
    ws.import_events(str(write(tmp_path / f"e{seed}.csv", "\n".join(lines) + "\n")))
    ws.import_spend(str(write(tmp_path / f"s{seed}.csv", "\n".join(spend) + "\n")))
    return ws


@pytest.fixture(scope="module", params=[("UTC", 1), ("Asia/Shanghai", 2), ("America/Los_Angeles", 3)])
def ws(request, tmp_path_factory):
    tz, seed = request.param
    w = _workspace(tmp_path_factory.mktemp("ov"), tz, seed)
    yield w
    w.close()


def _sorted(rows):
    return sorted(tuple(r) for r in rows)


def test_overview_sql_equals_ibis(ws):
    e = ws.engine
    for monday in (dt.date(2026, 5, 4), dt.date(2026, 5, 25), dt.date(2026, 6, 22)):
        weeks = [monday - dt.timedelta(days=14), monday - dt.timedelta(days=7), monday]
        for hours in (1, 24, 72):
            spec = O.OverviewSpec.build(activation_hours=hours)
            sql, ibis = overview_sql.weekly(e, spec, weeks), O._weekly_frames(e, spec, e.events(), weeks)
            assert sql.keys() == ibis.keys()
            for k in sql:
                assert _sorted(sql[k]) == _sorted(ibis[k]), (k, monday, hours)
            assert sum(n for _, _, n in sql["by_channel"]) > 0 and sql["rev"] and sql["ret"]
    assert O._data_days(e, True) == O._data_days(e, False)


def test_overview_results_on_both_paths(ws, monkeypatch):
    sql = O.overview(ws.engine, week=dt.date(2026, 6, 1)).to_dict()
    monkeypatch.setattr(O, "plain_duckdb", lambda engine: False)  # the Ibis path, as with filters
    assert O.overview(ws.engine, week=dt.date(2026, 6, 1)).to_dict() == sql
    assert sql["metrics"][0]["current"] > 0


def _old_fill(df: pd.DataFrame, keys, interval, date_from, date_to, value_cols) -> pd.DataFrame:
    """users._fill as it was in pandas (the oracle)."""
    empty = pd.DataFrame(columns=[*keys, *value_cols])
    if df.empty:
        df = empty.astype({"date": object})
    first = date_from or (df["date"].min() if not df.empty else None)
    last = date_to or (df["date"].max() if not df.empty else None)
    if first is None or last is None or first > last or (df.empty and len(keys) > 1):
        return empty
    periods = pd.DataFrame({"date": period_range(first, last, interval)})
    if len(keys) > 1:
        periods = periods.merge(df[keys[1:]].drop_duplicates(), how="cross")
    out = periods.merge(df, on=keys, how="left")
    for c in value_cols:
        out[c] = out[c].fillna(0).astype("float64" if c == "revenue" else "int64")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def test_fill_equals_the_pandas_fill():
    rng = random.Random(3)
    for _ in range(200):
        interval = rng.choice(["day", "week", "month"])
        keys = ["date"] + (["breakdown"] if rng.random() < 0.5 else [])
        cols = rng.choice([["new_users"], ["revenue", "purchases", "paying_users"]])
        found = {}
        for _ in range(rng.randint(0, 12)):
            d = period_range(dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 90)),
                             dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 90)) , interval)
            if not d:
                continue
            key = (d[0],) + ((rng.choice(["a", "b", "(none)"]),) if len(keys) > 1 else ())
            found[key] = tuple((rng.choice([None, rng.randint(0, 99) / 4]) if c == "revenue" else rng.randint(1, 9))
                               for c in cols)
        rows = [(*k, *v) for k, v in found.items()]
        lo = rng.choice([None, dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 90))])
        hi = rng.choice([None, dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 90))])
        new = U._fill(rows, keys, interval, lo, hi, cols)
        old = _old_fill(pd.DataFrame(rows, columns=[*keys, *cols]), keys, interval, lo, hi, cols)
        res = U.SeriesResult(None, new)
        assert res.records() == U.SeriesResult(None, old).records()
        pd.testing.assert_frame_equal(res.frame, old, check_dtype=bool(len(old)))


def test_new_users_and_revenue_sql_equal_ibis(ws):
    e = ws.engine
    for interval in ("day", "week", "month"):
        for lo, hi in ((None, None), (dt.date(2026, 5, 10), dt.date(2026, 6, 10)), (dt.date(2026, 6, 1), None)):
            for by_channel in (False, True):
                spec = U.NewUsersSpec.build(interval=interval, by_channel=by_channel, date_from=lo, date_to=hi)
                keys = ["date"] + (["channel"] if by_channel else [])
                assert _sorted(users_sql.new_users(e, spec, U.DIRECT)) == _sorted(U._new_users_ibis(e, spec, keys))
            for by in (None, "city", "event.channel"):
                spec = U.RevenueSpec.build(interval=interval, by=by, date_from=lo, date_to=hi)
                keys = ["date"] + (["breakdown"] if by else [])
                got = users_sql.revenue(e, spec, "(none)")
                assert _sorted(got) == _sorted(U._revenue_ibis(e, spec, keys)) and got
