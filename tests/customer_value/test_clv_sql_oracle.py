"""Customer value's purchase days without Ibis (issue 13, start-up): on random workspaces in three time zones
the plain SQL of the DuckDB engine gives the rows the Ibis expression gives (the path of filters and Spark),
with and without ``as_of``, and the whole customer-value result is the same on both paths."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from util import assert_same_rows, csv_workspace
from yunying.analyses import customer_value as CV


def _workspace(tmp_path, tz: str, seed: int):
    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,revenue"]
    start = dt.datetime(2026, 1, 1)
    for i in range(200):  # each customer buys at their own rate until they leave (what the models assume)
        u, t = f"u{i}", rng.uniform(0, 60)
        rate, leaves = rng.uniform(0.02, 0.3), t + rng.expovariate(1 / 90)
        while t < min(leaves, 200):
            rev = str(rng.randint(1, 800) / 4) if rng.random() < 0.9 else ""
            lines.append(f"{u},{u},purchase,{(start + dt.timedelta(days=t)).isoformat()}Z,{rev}")
            if rng.random() < 0.5:
                lines.append(f"{u},{u},app_open,{(start + dt.timedelta(days=t + 0.3)).isoformat()}Z,")
            t += rng.expovariate(rate)
    return csv_workspace(tmp_path, lines, tz)


@pytest.fixture(scope="module", params=[("UTC", 1), ("Asia/Shanghai", 2), ("America/Los_Angeles", 3)])
def ws(request, tmp_path_factory):
    with _workspace(tmp_path_factory.mktemp("cv"), *request.param) as w:
        yield w


def _rows(tab):
    return sorted(zip(*(tab[c].to_pylist() for c in ("user_id", "__day", "value", "n"))))


@pytest.mark.parametrize("as_of", [None, dt.date(2026, 4, 30)])
def test_purchase_days_sql_equals_ibis(ws, as_of, monkeypatch):
    e = ws.engine
    spec = CV.CustomerValueSpec.build(as_of=as_of)
    got = _rows(CV._purchase_days(e, spec, "purchase", "revenue"))
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = _rows(CV._purchase_days(e, spec, "purchase", "revenue"))
    assert len(got) > 100
    assert_same_rows(got, exp)  # floats to 1e-9: DuckDB sums in parallel, in no fixed order
    if as_of is not None:
        assert max(r[1] for r in got) <= as_of


def test_customer_value_same_on_both_paths(ws, monkeypatch):
    got = CV.customer_value(ws.engine, as_of=dt.date(2026, 6, 30)).to_dict()
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = CV.customer_value(ws.engine, as_of=dt.date(2026, 6, 30)).to_dict()
    assert len(got["users"]) > 50
    assert_same_rows(got, exp)


@pytest.mark.parametrize("top", [15, 10_000])
def test_lists_without_pandas_equal_pandas_sorts(ws, top):
    """The per-user table is built as numpy columns (no pandas at a CLI start): its frame has the dtypes it had,
    and the win-back list and clv's top rows are pandas' sorts of that frame (value high to low, then user id)."""
    import numpy as np

    cv = CV.customer_value(ws.engine, as_of=dt.date(2026, 6, 30))
    f = cv.frame
    assert str(f["frequency"].dtype) == "int64" and f["user_id"].dtype == object
    assert all(str(f[c].dtype) == "float64" for c in ("recency", "T", "monetary", "p_alive", "clv", "value_at_risk"))
    exp = f[f["value_at_risk"] > 0].sort_values(["value_at_risk", "user_id"], ascending=[False, True],
                                                kind="stable").head(top).reset_index(drop=True)
    got = CV.winback(ws.engine, as_of=dt.date(2026, 6, 30), top=top, holdout=0.2).frame
    assert len(got) == min(top, int((f["value_at_risk"] > 0).sum())) > 10
    assert got["user_id"].tolist() == exp["user_id"].tolist()
    assert got["rank"].tolist() == list(range(1, len(got) + 1))
    np.testing.assert_array_equal(got["value_at_risk"].to_numpy(), exp["value_at_risk"].to_numpy())
    assert got["group"].tolist() == np.where(CV.holdout_flags(exp["user_id"].tolist(), 0.2, 0), "holdout",
                                             "target").tolist()
    by_clv = f.sort_values(["clv", "user_id"], ascending=[False, True]).head(20)["user_id"].tolist()
    assert [cv.scores["user_id"][i] for i in CV.ranked(cv.scores, "clv")[:20]] == by_clv


def test_json_text_is_json_dumps_of_the_dict(ws):
    """`clv -f json` / `winback -f json` write their text from the columns (analyses/json_text.py): the same text
    json.dumps(indent=2) writes of the result's dict, missing monetary values (null) included; parsed, the same
    dict."""
    import json

    from yunying.analyses.json_text import result_json

    cv = CV.customer_value(ws.engine, as_of=dt.date(2026, 6, 30))
    wb = CV.winback(ws.engine, as_of=dt.date(2026, 6, 30), top=40, holdout=0.2)
    assert any(r["monetary"] is None for r in cv.to_dict()["users"])
    for res in (cv, wb):
        text = result_json(res)
        assert text == json.dumps(res.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)
        assert json.loads(text) == res.to_dict()
