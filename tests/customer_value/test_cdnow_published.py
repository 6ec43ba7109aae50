"""Fader–Hardie–Lee's CDNOW figures reproduced from purchase EVENTS (not from the pre-summarised file):
the CDNOW 1/10 sample imported into a workspace, 39-week calibration (1997-01-01 .. 1997-09-30), weeks."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import yunying
from cv_helpers import AS_OF, CAL_END, cdnow_events_csv, cdnow_transactions
from util import shared_file
from yunying.analyses.customer_value import CustomerValueSpec, customer_value


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory):
    return cdnow_events_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv")


@pytest.fixture(scope="module")
def ws(events_csv):
    w = yunying.Workspace.init(events_csv.parent / "ws")
    rep = w.import_events([str(events_csv)])
    assert rep.rows_added == 6919
    yield w
    w.close()


@pytest.fixture(scope="module")
def bg(ws):
    return customer_value(ws.engine, CustomerValueSpec(calibration_end=CAL_END, as_of=AS_OF, period="week",
                                                        horizon_days=39 * 7))


def within(got, want, rel=0.01):
    assert abs(got - want) <= rel * abs(want), (got, want)


def test_rfm_from_events_equals_the_published_summary(bg):
    summary = pd.read_csv(shared_file("datasets/cdnow_customers_summary.csv"))
    f = bg.frame.assign(ID=bg.frame["user_id"].astype(int)).set_index("ID").loc[summary["ID"]]
    assert len(f) == len(summary) == 2357
    assert (f["frequency"].to_numpy() == summary["frequency"].to_numpy()).all()
    np.testing.assert_allclose(f["recency"].to_numpy(), summary["recency"].to_numpy(), atol=0.005 + 1e-9)
    np.testing.assert_allclose(f["T"].to_numpy(), summary["T"].to_numpy(), atol=0.005 + 1e-9)


def test_bgnbd_published(bg):
    m = bg.meta["model"]
    for k, v in dict(r=0.243, alpha=4.414, a=0.793, b=2.426).items():
        within(m[k]["value"], v)
        assert m[k]["se"] > 0
    assert abs(bg.meta["log_likelihood"] - (-9582.4)) < 0.05
    for t, want in zip((1, 3, 32, 78), (0.0532, 0.1506, 1.0437, 1.8576)):
        within(bg.model.expected_purchases(t), want)
    within(bg.model.conditional_expected_purchases(39, 2, 30.43, 38.86)[0], 1.226)


def test_gamma_gamma_published_on_the_946_repeat_customers(bg):
    s = bg.meta["spend"]
    assert s["customers"] == 946
    for k, v in dict(p=6.25, q=3.74, v=15.45).items():
        within(s[k]["value"], v)


def test_pareto_published(ws):
    res = customer_value(ws.engine, CustomerValueSpec(model="pareto", calibration_end=CAL_END, period="week"))
    m = res.meta["model"]
    for k, v in dict(r=0.553, alpha=10.578, s=0.606, beta=11.669).items():
        within(m[k]["value"], v)
    assert abs(res.meta["log_likelihood"] - (-9595.0)) < 0.1
    within(res.model.p_alive(26, 30.86, 31)[0], 0.9979, 0.001)
    within(res.model.conditional_expected_purchases(52, 26, 30.86, 31)[0], 25.46)


def test_holdout_against_a_recount_of_the_raw_file(bg):
    d = cdnow_transactions()
    d["day"] = pd.to_datetime(d["date"], format="%Y%m%d")
    days = d.drop_duplicates(["sid", "day"])
    first = days.groupby("sid")["day"].transform("min")
    cal = days[days["day"] <= CAL_END]
    freq = (cal.groupby("sid").size() - 1).rename("x")
    hold = days[(days["day"] > CAL_END) & (days["day"] <= AS_OF)].groupby("sid").size().reindex(freq.index,
                                                                                                fill_value=0)
    h = bg.meta["holdout"]
    assert h["actual"] == int(hold.sum()) == 1882
    bucket = np.minimum(freq, 7)
    for row in h["buckets"]:
        b = 7 if row["frequency"] == "7+" else int(row["frequency"])
        assert row["actual"] == int(hold[bucket == b].sum())
        assert row["customers"] == int((bucket == b).sum())
    f = bg.frame
    want = bg.model.conditional_expected_purchases(39, f["frequency"], f["recency"], f["T"]).sum()
    assert abs(h["predicted"] - want) < 1e-6
    # the cumulative chart ends with every repeat purchase of the period counted
    repeat = days[(days["day"] > first) & (days["day"] <= AS_OF)]
    assert bg.meta["tracking"][-1]["actual"] == len(repeat)
    assert bg.meta["tracking"][38]["actual"] == int(freq.sum())  # end of week 39 = calibration end
    within(bg.meta["tracking"][-1]["expected"], len(repeat), 0.1)


def test_clv_json_contract(events_csv, capsys):
    from yunying.cli import app

    app(["clv", "--events", str(events_csv), "--calibration-end", CAL_END, "--as-of", AS_OF, "--period", "week",
         "--model", "bgnbd", "--horizon", "90d", "--format", "json"], standalone_mode=False)
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["name"] == "bgnbd"
    assert set(out["model"]) >= {"r", "alpha", "a", "b"}
    assert all(set(out["model"][k]) == {"value", "se"} for k in ("r", "alpha", "a", "b"))
    assert out["log_likelihood"] < 0
    assert set(out["spend"]) >= {"p", "q", "v"}
    u = out["users"][0]
    assert set(u) >= {"user_id", "frequency", "recency", "T", "p_alive", "expected_purchases", "expected_spend", "clv"}
    assert len(out["users"]) == 2357
    assert set(out["holdout"]) >= {"predicted", "actual", "buckets"}
    assert [b["frequency"] for b in out["holdout"]["buckets"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
