"""On the demo data, the known truth (truth.json) is recovered within stated tolerances.

Tolerances (docs/acquisition.md#accuracy):
* first-touch registrations per channel and per placement: exact; spend: exact (to the cent);
* cost per registration vs ``true_cost_per_registration`` (spend / *expected* registrations):
  within 4 Poisson standard errors, |CPR / true - 1| <= 4 / sqrt(expected registrations)
  (5.7 % for the smallest paid channel at 20k users);
* response curve ``a * ln(1 + s / h)``: the truth's a and h within 3.5 standard errors; the fitted
  expected registrations at the channel's typical daily spend within 10 %; the marginal cost of a
  registration there within 35 %;
* the proposed budget split, scored with the *true* curves, beats the current mix scaled to the
  same total and reaches >= 97 % of the true optimum.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

USERS = 20_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import yunying
    from yunying.config import WorkspaceConfig
    from yunying.demo import generate

    d = tmp_path_factory.mktemp("acq_demo")
    truth = generate(d, users=USERS, days=90, seed=7)
    ws = yunying.Workspace.init(d / "ws", WorkspaceConfig(name="demo", timezone=truth["timezone"]))
    ws.import_events(truth["files"])
    ws.import_spend([str(d / "spend.csv")])
    yield ws, truth
    ws.close()


@pytest.fixture(scope="module")
def budget_res(demo):
    from yunying.analyses.acquisition import budget

    ws, _ = demo
    return budget(ws.engine, objective="registrations", seed=1)


def test_first_touch_channels_match_truth(demo):
    from yunying.analyses.acquisition import channels

    ws, truth = demo
    rows = {r["channel"]: r for r in channels(ws.engine).to_dict()["rows"]}
    assert set(rows) == set(truth["channels"])
    for ch, t in truth["channels"].items():
        r = rows[ch]
        assert r["registrations"] == t["registrations"], ch
        assert r["spend"] == pytest.approx(t["spend_total"], abs=0.005)
        if t["paid"]:
            tol = 4 / math.sqrt(t["expected_registrations"])
            assert abs(r["cost_per_registration"] / t["true_cost_per_registration"] - 1) <= tol, ch
        else:
            assert r["cost_per_registration"] is None and r["roas"] is None  # no spend: no cost


def test_first_touch_placements_match_truth(demo):
    from yunying.analyses.acquisition import placements

    ws, truth = demo
    res = placements(ws.engine).to_dict()
    rows = {r["placement"]: r for r in res["rows"]}
    assert set(rows) == set(truth["placements"])
    for pid, t in truth["placements"].items():
        r = rows[pid]
        assert r["channel"] == t["channel"]
        assert r["registrations"] == t["registrations"], pid
        assert r["spend"] == pytest.approx(t["spend_total"], abs=0.005)
        assert r["impressions"] >= r["reads"] >= r["clicks"] >= r["registrations"]
    assert min(r["rank"] for r in res["rows"]) == 1
    assert {r["verdict"] for r in res["rows"]} <= {"better", "worse", "on par", "too early to tell"}
    ranked = [r["cost_per_paying_user"] for r in res["rows"] if r["cost_per_paying_user"] is not None]
    assert ranked == sorted(ranked)
    for r in res["rows"]:
        if r["cac_low"] is not None and r["cac_high"] is not None:
            assert r["cac_low"] <= r["cost_per_paying_user"] <= r["cac_high"]


def test_response_curves_recovered(demo, budget_res):
    _, truth = demo
    rows = {r["channel"]: r for r in budget_res.to_dict()["rows"]}
    paid = [c for c, t in truth["channels"].items() if t["paid"]]
    assert set(rows) == set(paid)
    for ch in paid:
        t = truth["channels"][ch]["response"]
        r = rows[ch]
        assert r["modelled"], ch
        assert abs(r["curve_a"] - t["a"]) / r["curve_a_se"] < 3.5, ch
        assert abs(r["curve_h"] - t["h"]) / r["curve_h_se"] < 3.5, ch
        s = r["typical_day_spend"]
        mu_true = t["a"] * math.log1p(s / t["h"])
        mu_fit = r["curve_a"] * math.log1p(s / r["curve_h"])
        assert abs(mu_fit / mu_true - 1) < 0.10, ch
        mc_true = (t["h"] + s) / t["a"]
        assert abs(r["marginal_cost_per_registration_now"] / mc_true - 1) < 0.35, ch


def test_budget_proposal_is_good_under_the_true_curves(demo, budget_res):
    from yunying.analyses.acquisition.response import allocate

    _, truth = demo
    data = budget_res.to_dict()
    assert data["label"] == "model estimate"
    rows = {r["channel"]: r for r in data["rows"]}

    class TrueCurve:
        def __init__(self, a, h):
            self.a, self.h = a, h

        def mu(self, s, ltheta=None):
            return self.a * np.log1p(np.asarray(s, dtype=float) / self.h)

    true = {c: TrueCurve(truth["channels"][c]["response"]["a"], truth["channels"][c]["response"]["h"]) for c in rows}
    daily = data["summary"]["daily_total"]
    proposed = sum(float(true[c].mu(rows[c]["proposed_daily_spend"])) for c in rows)
    assert sum(r["proposed_daily_spend"] for r in rows.values()) == pytest.approx(daily, rel=1e-6)
    # the current mix (the last 28 days' daily spend pattern) scaled to the same total
    curves = budget_res.meta["curves"]
    k = daily / sum(r["current_daily_spend"] for r in rows.values())
    current = sum(float(np.mean(true[c].mu(np.asarray(curves[c]["recent_spend"]) * k))) for c in rows)
    assert proposed > current
    caps = {c: 3.0 * rows[c]["max_day_spend"] for c in rows}
    best = allocate(true, {c: 1.0 for c in rows}, daily, caps)
    optimum = sum(float(true[c].mu(best[c])) for c in rows)
    assert proposed >= 0.97 * optimum
    s = data["summary"]
    lo, hi = s["proposed_plan"]["expected_value_interval"]
    assert lo <= s["proposed_plan"]["expected_value"] <= hi


def test_acquisition_section_renders(demo):
    from yunying.reports.acquisition import acquisition_section

    ws, truth = demo
    html, summary = acquisition_section(ws.engine)
    assert html.startswith('<section id="acquisition">') and html.rstrip().endswith("</section>")
    assert html.count("plotly-graph-div") >= 4 and "<script src" not in html
    assert "model estimate" in html
    json.dumps(summary, allow_nan=False)
    assert {c["channel"] for c in summary["channels"]} == set(truth["channels"])
    assert summary["budget"]["proposed_plan"]["expected_value"] > 0
