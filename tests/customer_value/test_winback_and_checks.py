"""Win-back lists (ranking, seeded holdout, CSV / JSON / Excel) and the up-front checks of customer value."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

import yunying
from cv_helpers import CAL_END, cdnow_events_csv
from yunying.analyses.customer_value import (CustomerValueSpec, WinbackSpec, customer_value, holdout_flags,
                                             winback)
from yunying.errors import SpecError, ValidationError


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory):
    return cdnow_events_csv(tmp_path_factory.mktemp("wb") / "cdnow.csv")


@pytest.fixture(scope="module")
def engine(events_csv):
    ws = yunying.from_events(str(events_csv))
    yield ws.engine
    ws.close()


def run_cli(args, capsys):
    from yunying.cli import app

    app(args, standalone_mode=False)
    return capsys.readouterr().out


def test_value_at_risk_is_the_documented_combination(engine):
    res = customer_value(engine, CustomerValueSpec(calibration_end=CAL_END, period="week", horizon_days=365))
    f = res.frame
    m = res.model
    rft = (f["frequency"], f["recency"], f["T"])
    # CLV if alive with 30-day steps and a 10 % annual rate, by hand
    steps = [min(k * 30, 365) / 7 for k in range(1, 14)]
    prev, disc = 0.0, 0.0
    for s in steps:
        cur = m.expected_purchases_if_alive(s, *rft)
        disc = disc + (cur - prev) / 1.1 ** (s * 7 / 365)
        prev = cur
    want = (1 - m.p_alive(*rft)) * f["expected_order_value"] * disc
    np.testing.assert_allclose(f["value_at_risk"], want, rtol=1e-12)
    np.testing.assert_allclose(f["clv"] / f["p_alive"], f["expected_order_value"] * disc, rtol=1e-9)


def test_winback_ranking_and_holdout(engine):
    res = winback(engine, WinbackSpec(top=100, holdout=0.1, seed=11))
    f = res.frame
    assert len(f) == 100 and f["rank"].tolist() == list(range(1, 101))
    assert (np.diff(f["value_at_risk"]) <= 0).all() and (f["value_at_risk"] > 0).all()
    full = customer_value(engine, CustomerValueSpec()).frame
    assert f["value_at_risk"].iloc[-1] >= full["value_at_risk"].nlargest(100).iloc[-1] - 1e-12
    assert (f["group"] == "holdout").sum() == 10
    again = winback(engine, WinbackSpec(top=100, holdout=0.1, seed=11)).frame
    assert again.equals(f)
    other = winback(engine, WinbackSpec(top=100, holdout=0.1, seed=12)).frame
    assert set(other.loc[other.group == "holdout", "user_id"]) != set(f.loc[f.group == "holdout", "user_id"])


def test_holdout_is_random_and_stable():
    ids = [f"u{i}" for i in range(10_000)]
    flags = holdout_flags(ids, 0.1, 1)
    assert flags.sum() == 1000
    # a user keeps their group when the list around them changes (the same hash order)
    sub = holdout_flags(ids[:5000], 0.1, 1)
    assert (sub & ~flags[:5000]).sum() <= 10 and sub.sum() == 500
    # no dependence on position: the holdout share of the first and second halves are close
    assert abs(flags[:5000].mean() - flags[5000:].mean()) < 0.02


def test_winback_cli_csv_json_xlsx(events_csv, capsys, tmp_path):
    out = run_cli(["winback", "--events", str(events_csv), "--top", "50", "--holdout", "20%", "--format", "csv",
                   "--xlsx", str(tmp_path / "wb.xlsx")], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 50 and sum(r["group"] == "holdout" for r in rows) == 10
    assert list(rows[0])[:4] == ["rank", "user_id", "group", "value_at_risk"]
    # the workbook is for people: the catalogue's headers, numbers as numbers, and the settings in words
    xl = pd.read_excel(tmp_path / "wb.xlsx", sheet_name=None, dtype={"User ID": str})
    assert list(xl) == ["Win-back list", "Settings"]
    assert list(xl["Win-back list"].columns[:4]) == ["Rank", "User ID", "Group", "Value at risk"]
    assert xl["Win-back list"]["User ID"].tolist() == [r["user_id"] for r in rows]
    assert xl["Win-back list"]["Value at risk"].round(6).tolist() == [round(float(r["value_at_risk"]), 6) for r in rows]
    settings = dict(zip(xl["Settings"]["Setting"], xl["Settings"]["Value"]))
    assert settings["Holdout customers"] == 10 and settings["Customers listed"] == 50
    data = json.loads(run_cli(["winback", "--events", str(events_csv), "--top", "50", "--holdout", "0.2",
                               "--format", "json"], capsys))
    assert [u["user_id"] for u in data["users"]] == [r["user_id"] for r in rows]
    assert data["holdout_users"] == 10 and data["seed"] == 0


@pytest.mark.parametrize("spec,msg", [
    (dict(calibration_end="1996-06-30"), "is before the first purchase; the purchases span 1997-01-01 to 1998-06-30"),
    (dict(calibration_end="1998-06-30"), "leaves no purchase after it"),
    (dict(as_of="1996-01-01"), "no purchases by identified users on or before 1996-01-01"),
    (dict(purchase_event="purchace"), "did you mean 'purchase'"),
    (dict(purchase_event="order_paid"), "no 'order_paid' events"),
])
def test_bad_dates_and_events_are_named(engine, spec, msg):
    with pytest.raises(SpecError) as e:
        customer_value(engine, CustomerValueSpec.parse(spec))
    assert msg in str(e.value)


@pytest.mark.parametrize("spec,msg", [
    (dict(calibration_end="1998-01-01", as_of="1997-06-01"), "must be before as_of"),
    (dict(period="month"), "period"),
    (dict(horizon_days=0), "horizon_days"),
    (dict(churn_high_below=0.8, churn_medium_below=0.5), "churn_high_below"),
])
def test_spec_checks(spec, msg):
    with pytest.raises(SpecError, match=msg):
        CustomerValueSpec.parse(spec)


def test_no_repeat_purchases_and_no_revenue(tmp_path, capsys):
    p = tmp_path / "once.csv"
    p.write_text("user_id,event,timestamp\nu1,purchase,2024-01-01\nu2,purchase,2024-01-03\n", encoding="utf-8")
    ws = yunying.from_events(str(p))
    with pytest.raises(ValidationError, match="none of the 2 customers has a repeat purchase"):
        customer_value(ws.engine, CustomerValueSpec())
    ws.close()
    p.write_text("user_id,event,timestamp\nu1,purchase,2024-01-01\nu1,purchase,2024-01-08\nu2,purchase,2024-01-03\n"
                 "u3,purchase,2024-01-02\nu3,purchase,2024-01-05\nu3,purchase,2024-01-20\n", encoding="utf-8")
    ws = yunying.from_events(str(p))
    with pytest.raises(ValidationError, match="the data do not pin the model down"):  # 3 customers
        customer_value(ws.engine, CustomerValueSpec(period="day"))
    ws.close()


def test_without_revenue_there_is_no_spend(events_csv, tmp_path, capsys):
    p = tmp_path / "norev.csv"
    pd.read_csv(events_csv, dtype=str).drop(columns=["revenue"]).to_csv(p, index=False)
    data = json.loads(run_cli(["clv", "--events", str(p), "--format", "json"], capsys))
    assert data["spend"] is None and "no revenue" in data["note"]
    u = data["users"][0]
    assert u["clv"] is None and u["expected_spend"] is None and u["expected_purchases"] > 0
    assert u["value_at_risk"] >= 0  # in purchases when there is no revenue


def test_rfm_handworked(tmp_path, capsys):
    """Purchases on the same local day are one transaction; T runs to the calibration end (here: as_of)."""
    rows = ["user_id,event,timestamp,revenue", "u1,purchase,2024-01-01 09:00,10", "u1,purchase,2024-01-01 18:00,5",
            "u1,purchase,2024-01-15 10:00,20", "u1,purchase,2024-01-29 10:00,40", "u2,purchase,2024-01-10 10:00,7"]
    rows += [f"c{i},purchase,2024-01-0{1 + i % 5} 12:00,{10 + i}" for i in range(40)]
    rows += [f"c{i},purchase,2024-01-{10 + i % 19} 12:00,{20 + i}" for i in range(0, 40, 2)]
    p = tmp_path / "hand.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    from yunying.analyses.customer_value import read_purchases, resolve_dates, summarise

    ws = yunying.from_events(str(p))
    spec = CustomerValueSpec(period="week", as_of="2024-02-04")
    purchases = read_purchases(ws.engine, spec)
    ws.close()
    cal_end, as_of, holdout = resolve_dates(spec, purchases)
    assert cal_end == as_of and not holdout
    c = summarise(purchases, cal_end, 7.0)
    f = pd.DataFrame({"frequency": c.frequency, "recency": c.recency, "T": c.T, "monetary": c.monetary},
                     index=c.user_id)
    assert len(f) == 42
    assert f.loc["u1", "frequency"] == 2 and f.loc["u1", "recency"] == 28 / 7 and f.loc["u1", "T"] == 34 / 7
    assert f.loc["u1", "monetary"] == 30.0  # mean of the repeat transactions 20 and 40; the first day is not one
    assert f.loc["u2", "frequency"] == 0 and f.loc["u2", "T"] == 25 / 7 and np.isnan(f.loc["u2", "monetary"])


def test_registry_runs_it(engine):
    from yunying.analyses import registry

    res = registry.get("customer_value").run(engine, json.dumps({"period": "week", "calibration_end": CAL_END}))
    assert res.to_dict()["holdout"]["actual"] == 1882
    assert res.chart().data
    assert registry.get("winback").run(engine, {"top": 5}).to_csv().count("\n") == 6


@pytest.mark.parametrize("args,msg", [
    (["--horizon", "90"], "--horizon: give a unit, e.g. 90d"),
    (["--horizon", "soon"], "--horizon: cannot read 'soon'"),
    (["--period", "month"], "period"),
    (["--model", "weibull"], "model"),
])
def test_cli_option_errors(events_csv, args, msg):
    from yunying.cli import app

    with pytest.raises(SpecError, match=msg):
        app(["clv", "--events", str(events_csv), *args, "--format", "json"], standalone_mode=False)
    with pytest.raises(SpecError, match="--holdout: expected a share"):
        app(["winback", "--events", str(events_csv), "--holdout", "ten", "--format", "json"], standalone_mode=False)
