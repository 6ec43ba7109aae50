"""Response curves stay finite where a and h alone leave the float range (issue #19 item 10:
`budget` answered 500 with 'math range error' on sparse, close-to-linear data)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from yunying.analyses.acquisition.response import HillCurve, LogCurve, allocate, fit_curve

# nine days of one channel: few registrations, no diminishing returns visible (h ends at its bound)
SPEND = [67.08, 174.34, 171.47, 119.85, 113.72, 120.36, 67.99, 23.62, 126.13]
REGS = [0, 0, 3, 1, 1, 0, 1, 0, 0]


def test_log_and_hill_match_their_formulas():
    s = np.array([0.0, 1.0, 250.0, 1e4, 3e6])
    for a, h in ((120.0, 3000.0), (0.5, 2.0), (1e5, 1e7)):
        lt = np.log([a, h])
        assert np.allclose(LogCurve.mu(s, lt), a * np.log1p(s / h), rtol=1e-12, atol=0)
        assert np.allclose(LogCurve.slope(s, lt), a / (h + s), rtol=1e-12, atol=0)
        for k in (0.5, 1.0, 2.5):
            x = (s / h) ** k
            assert np.allclose(HillCurve.mu(s, np.log([a, h, k])), a * x / (1 + x), rtol=1e-12, atol=0)
    # the worked example of docs/acquisition.md#budget: a = 120, h = 3,000
    lt = np.log([120.0, 3000.0])
    assert float(LogCurve.mu(3000.0, lt)) == pytest.approx(83.18, abs=0.01)
    assert 1 / float(LogCurve.slope(3000.0, lt)) == pytest.approx(50.0)
    assert 1 / float(LogCurve.slope(6000.0, lt)) == pytest.approx(75.0)


def test_far_along_the_ridge_the_curve_is_its_slope():
    # a = e^800, h = e^805 (each beyond the float range): μ(s) = a ln(1 + s/h) = s e^-5 to 1e-300
    lt = np.array([800.0, 805.0])
    assert float(LogCurve.mu(1000.0, lt)) == pytest.approx(1000 * math.exp(-5), rel=1e-12)
    assert float(LogCurve.slope(1000.0, lt)) == pytest.approx(math.exp(-5), rel=1e-12)
    # a steep Hill curve past its half-saturation spend is at its ceiling a
    assert float(HillCurve.mu(2000.0, np.log([100.0, 1000.0, 400.0]))) == pytest.approx(100.0)
    assert float(HillCurve.mu(500.0, np.log([100.0, 1000.0, 400.0]))) == pytest.approx(0.0, abs=1e-100)


@pytest.mark.parametrize("curve", ["log", "hill"])
def test_sparse_linear_data_draws_and_allocation_are_finite(curve):
    f = fit_curve(SPEND, REGS, curve)
    assert f.linear_like or curve == "hill"
    draws = f.draws(400, np.random.default_rng(0))
    mu = np.array([float(f.mu(120.0, t)) for t in draws])
    assert np.all(np.isfinite(mu)) and np.all(mu >= 0)
    assert math.isfinite(float(f.slope(120.0))) and math.isfinite(float(f.mu(120.0)))
    # the fitted curve still reproduces the observed total (Poisson ML with a free scale)
    assert float(np.sum(f.mu(np.array(SPEND)))) == pytest.approx(sum(REGS), rel=0.02)
    x = allocate({"c": f}, {"c": 1.0}, 200.0, {"c": 3 * max(SPEND)})
    assert x["c"] == pytest.approx(200.0)


def test_budget_on_sparse_data_is_answered(tmp_path):
    import yunying
    from yunying.analyses.acquisition import budget
    from yunying.config import WorkspaceConfig

    start = pd.Timestamp("2026-03-01", tz="UTC")
    ev, sp = [], []
    for rep in range(2):  # 18 days: the same nine-day pattern twice
        for i, (cost, regs) in enumerate(zip(SPEND, REGS)):
            d = start + pd.Timedelta(days=9 * rep + i)
            sp.append({"date": d.date().isoformat(), "channel": "search", "campaign": "c", "placement": "p",
                       "cost": cost, "currency": "CNY"})
            for j in range(regs):
                u = f"u{rep}_{i}_{j}"
                ev.append({"user_id": u, "event": "ad_click", "ts": d + pd.Timedelta(hours=9), "channel": "search"})
                ev.append({"user_id": u, "event": "signup", "ts": d + pd.Timedelta(hours=10), "channel": None})
                ev.append({"user_id": u, "event": "purchase", "ts": d + pd.Timedelta(hours=11), "channel": None})
    ev.append({"user_id": "z", "event": "ping", "ts": start + pd.Timedelta(days=25), "channel": None})
    pd.DataFrame(ev).to_parquet(tmp_path / "e.parquet")
    pd.DataFrame(sp).to_csv(tmp_path / "s.csv", index=False)
    ws = yunying.Workspace.init(tmp_path / "ws", WorkspaceConfig(name="t", timezone="UTC"))
    try:
        ws.import_events([str(tmp_path / "e.parquet")])
        ws.import_spend([str(tmp_path / "s.csv")])
        res = budget(ws.engine, total=3000.0, days=30)
        d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        row = d["rows"][0]
        assert row["modelled"] and row["proposed_spend"] == pytest.approx(3000.0)
        lo, hi = d["summary"]["proposed_plan"]["expected_value_interval"]
        assert 0 <= lo <= hi and math.isfinite(hi)
    finally:
        ws.close()
