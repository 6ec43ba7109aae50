"""Named metrics without Ibis (issue 13, start-up): a metric's aggregates without filters or split run as plain
DuckDB SQL (metrics._leaf_sql); on generated data in three time zones they give the frames the Ibis expressions
give (the path of filters, splits and Spark) — per day, week, month and over the whole range, with and without
a date range — and so the same series; the latest local day that explain --period starts from is the same too."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import yunying
from explain_helpers import events_frame
from util import add_config
from yunying.analyses import metrics as MX
from yunying.config import WorkspaceConfig

TOML = ('[metrics]\ngmv = "sum(purchase.revenue)"\nopens = "count(app_open)"\n'
        'score_sum = "sum(app_open.score)"\nper_buyer = "count(purchase) / buyers"\n')
NAMES = ["revenue", "active_users", "buyers", "pay_rate", "arppu", "gmv", "opens", "score_sum", "per_buyer"]


@pytest.fixture(scope="module", params=["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def ws(request, tmp_path_factory):
    df = events_frame(seed=5, users=120, days=40)
    df["score"] = [(i % 7) / 4 if e == "app_open" else None for i, e in enumerate(df["event"])]  # a JSON property
    tmp = tmp_path_factory.mktemp("msql")
    yunying.Workspace.init(tmp / "ws", WorkspaceConfig(name="t", timezone=request.param)).close()
    add_config(tmp / "ws", TOML)
    w = yunying.open(tmp / "ws")
    df.to_csv(tmp / "events.csv", index=False)
    w.import_events([str(tmp / "events.csv")])
    assert w.engine.timezone == request.param
    yield w
    w.close()


@pytest.mark.parametrize("interval", [None, "day", "week", "month"])
@pytest.mark.parametrize("dates", [(None, None), (dt.date(2024, 1, 10), dt.date(2024, 2, 3))])
def test_frame_sql_equals_ibis(ws, interval, dates, monkeypatch):
    from yunying.analyses.sql import plain_duckdb

    e = ws.engine
    assert plain_duckdb(e)
    got = MX.frame(e, NAMES, *dates, interval=interval)
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = MX.frame(e, NAMES, *dates, interval=interval)
    assert len(got) >= 1 and got["opens"].sum() > 0 and got["score_sum"].sum() > 0
    pd.testing.assert_frame_equal(got, exp, rtol=1e-12)


def test_series_same_on_both_paths(ws, monkeypatch):
    got = MX.series(ws.engine, "pay_rate", dt.date(2024, 1, 1), dt.date(2024, 3, 1), interval="week")
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = MX.series(ws.engine, "pay_rate", dt.date(2024, 1, 1), dt.date(2024, 3, 1), interval="week")
    pd.testing.assert_frame_equal(got, exp, rtol=1e-12)
    assert got["value"].isna().sum() > 0  # weeks after the data: n/a, on both paths


def test_explain_last_day_same_on_both_paths(ws, monkeypatch):
    from yunying.analyses.explain import ExplainSpec, _last_day, ranges

    got, got_ranges = _last_day(ws.engine), ranges(ws.engine, ExplainSpec(metric="revenue", period="week"))
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = ws.engine.scalar(ws.engine.local_ts(ws.engine.events().ts).max().date())
    exp = exp.date() if isinstance(exp, dt.datetime) else exp
    assert got == exp and isinstance(got, dt.date)
    assert got_ranges == ranges(ws.engine, ExplainSpec(metric="revenue", period="week"))
