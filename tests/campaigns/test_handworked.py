"""The hand-worked examples of docs/campaigns.md (ROI arithmetic, pacing projection), the schedule checks, the
trajectory shape and the afterwards interval (against statsmodels' Newcombe interval)."""
from __future__ import annotations


import numpy as np
import pytest

from yunying.analyses.campaigns.pacing import project, status
from yunying.analyses.campaigns.plan import check_tasks, shape
from yunying.analyses.campaigns.review import cost_per, economics, rate_diff
from yunying.storage import campaigns as store

BASE = {"name": "c", "start": "2026-03-01", "end": "2026-03-07", "goals": [{"metric": "purchases", "target": 700}]}


def _iv(v, lo, hi):
    return {"value": v, "low": lo, "high": hi}


def test_roi_handworked():
    camp = store.parse({**BASE, "margin": 0.4}, "x")
    n = 8000
    lift = {"metrics": {"purchases": {"incremental": _iv(0.0125 * n, 0.005 * n, 0.02 * n)},
                        "revenue": {"incremental": _iv(0.75 * n, 0.25 * n, 1.25 * n)}}}
    cost = {"total": 500 + 1300 + 200}
    e = economics(camp, lift, cost)
    approx = lambda d, v, lo, hi: (pytest.approx(d["value"]) == v and pytest.approx(d["low"]) == lo  # noqa
                                   and pytest.approx(d["high"]) == hi)
    assert approx(e["incremental_purchases"], 100, 40, 160)
    assert approx(e["incremental_revenue"], 6000, 2000, 10000)
    assert approx(e["incremental_margin"], 2400, 800, 4000)
    assert approx(e["net_return"], 400, -1200, 2000)
    assert approx(e["roi"], 0.20, -0.60, 1.00)
    assert approx(e["cost_per_incremental_purchase"], 20, 12.5, 50)
    assert approx(e["cost_per_incremental_revenue"], 2000 / 6000, 0.2, 1.0)


def test_cost_per_unbounded():
    out = cost_per(1000, _iv(50, -10, 110))
    assert out["value"] == 20 and out["low"] == pytest.approx(1000 / 110) and out["high"] is None
    assert out["unbounded"]
    assert cost_per(1000, _iv(-5, -20, 10))["value"] is None


def test_pacing_handworked():
    p = project(np.array([90.0, 110.0, 100.0]), np.ones(7) / 7, 3)
    assert p["actual"] == 300 and p["projected"] == pytest.approx(700)
    assert p["low"] == pytest.approx(568.55, abs=0.01) and p["high"] == pytest.approx(831.45, abs=0.01)
    assert status(700, p) == "on_track"
    assert status(800, p) == "at_risk"
    assert status(850, p) == "off_track"


def test_pacing_interval_covers_simulated_totals():
    """Property: for Poisson days at a constant rate, the projection's interval covers the realised total about
    95 % of the time."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(2000):
        y = rng.poisson(50, 14).astype(float)
        p = project(y, np.ones(14), 7)
        hits += p["low"] <= y.sum() <= p["high"]
    assert 0.92 <= hits / 2000 <= 0.985


def test_shape_stretch():
    # a past period of 2 days (1, 3) stretched to 4 days: shares at 1/4, 2/4, 3/4, 4/4 of the running share
    assert shape(np.array([1.0, 3.0]), 4) == pytest.approx([0.125, 0.25, 0.625, 1.0])
    assert shape(np.array([2.0, 2.0, 2.0]), 3) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_schedule_checks():
    camp = store.parse({**BASE, "tasks": [
        {"name": "a", "start": "2026-02-01", "end": "2026-02-10", "depends_on": ["c"]},
        {"name": "b", "start": "2026-02-05", "end": "2026-02-12", "depends_on": ["a"]},
        {"name": "c", "start": "2026-02-13", "end": "2026-02-14", "depends_on": ["b"]},
        {"name": "d", "start": "2026-03-02", "end": "2026-03-09"},
        {"name": "review", "start": "2026-03-10", "end": "2026-03-12", "depends_on": ["d"]},
    ]}, "x")
    probs = check_tasks(camp)
    codes = sorted((p["code"], p["task"]) for p in probs)
    assert ("cycle", "a") in codes
    assert next(p for p in probs if p["code"] == "cycle")["tasks"] == ["a", "c", "b"]
    assert ("before_dependency", "b") in codes            # b starts 02-05, a ends 02-10
    assert ("before_dependency", "a") in codes            # a starts 02-01, c ends 02-14
    assert ("before_dependency", "c") not in codes        # c starts 02-13, b ends 02-12
    assert ("after_campaign", "d") in codes               # ends 03-09 after 03-07
    assert ("after_campaign", "review") not in codes      # follow-up of d, which ends after the campaign
    assert len([c for c in codes if c[0] == "cycle"]) == 1


@pytest.mark.parametrize("ka, na, kb, nb", [(30, 100, 20, 120), (0, 3, 1, 6), (5, 5, 2, 9), (400, 2704, 300, 2199)])
def test_rate_diff_matches_statsmodels_newcombe(ka, na, kb, nb):
    from statsmodels.stats.proportion import confint_proportions_2indep

    a = np.r_[np.ones(ka), np.zeros(na - ka)]
    b = np.r_[np.ones(kb), np.zeros(nb - kb)]
    d = rate_diff(a, b)
    lo, hi = confint_proportions_2indep(ka, na, kb, nb, method="newcomb", compare="diff")
    assert d["value"] == pytest.approx(ka / na - kb / nb)
    assert d["low"] == pytest.approx(lo, abs=1e-9) and d["high"] == pytest.approx(hi, abs=1e-9)
