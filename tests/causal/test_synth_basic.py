"""synthetic_control: exact recovery when the treated unit is a convex combination of donors, the solver
against scipy's SLSQP, the placebo p-value / interval arithmetic, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import optimize

from yunying.errors import SpecError
from yunying.stats.causal import sc_evidence, simplex_least_squares, synthetic_control


def _slsqp(a, b):
    j = a.shape[1]
    res = optimize.minimize(lambda w: np.sum((a @ w - b) ** 2), np.full(j, 1 / j), method="SLSQP",
                            bounds=[(0, 1)] * j, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                            options={"ftol": 1e-14, "maxiter": 1000})
    return res.x


def test_simplex_solver_matches_slsqp():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=(15, 8)), rng.normal(size=15)
        w = simplex_least_squares(a, b)
        assert w.min() >= 0 and w.sum() == pytest.approx(1)
        ref = _slsqp(a, b)
        assert np.sum((a @ w - b) ** 2) <= np.sum((a @ ref - b) ** 2) + 1e-9
        assert np.allclose(w, ref, atol=1e-4)


def test_convex_combination_is_recovered_with_planted_effect():
    rng = np.random.default_rng(1)
    t, t0 = 20, 14
    donors = rng.normal(size=(6, t)).cumsum(axis=1) + 50
    true_w = np.array([0.5, 0.3, 0.2, 0, 0, 0])
    treated = true_w @ donors
    pre = np.arange(t) < t0
    treated[~pre] += -4.0
    r = synthetic_control(treated, donors, pre, donor_names=list("ABCDEF"))
    assert np.allclose(r.weights, true_w, atol=1e-6)
    assert r.pre_rmspe == pytest.approx(0, abs=1e-6)
    assert r.effect == pytest.approx(-4.0)
    assert np.allclose(np.array(r.gap)[~pre], -4.0)
    assert r.top_weights(0.1) == [("A", pytest.approx(0.5)), ("B", pytest.approx(0.3)), ("C", pytest.approx(0.2))]
    # placebos: one per donor; p-value = (1 + #ratios >= treated's) / (J + 1)
    ratios = np.array([p.rmspe_ratio for p in r.placebos])
    assert r.n_placebos == 6
    assert r.p_value == pytest.approx((1 + np.sum(ratios >= r.rmspe_ratio)) / 7)
    # J + 1 = 7 < 2/alpha: the normal prediction interval from the placebo effects
    e = np.array([p.effect for p in r.placebos])
    half = __import__("scipy").stats.t.ppf(0.975, 5) * e.std(ddof=1) * np.sqrt(1 + 1 / 6)
    assert r.ci_method == "placebo_normal"
    assert r.ci == pytest.approx((r.effect - e.mean() - half, r.effect - e.mean() + half))
    json.dumps(r.to_dict(), allow_nan=False)


def test_rank_interval_with_enough_donors():
    rng = np.random.default_rng(2)
    t, t0, j = 16, 10, 39
    f = rng.normal(size=(t, 2)).cumsum(axis=0)
    y = rng.uniform(size=(j + 1, 2)) @ f.T + rng.normal(scale=0.2, size=(j + 1, t))
    pre = np.arange(t) < t0
    r = synthetic_control(y[0], y[1:], pre)
    e = np.sort([p.effect for p in r.placebos])
    assert r.ci_method == "placebo_rank"       # k = floor(0.025 · 40) = 1: the extreme placebos
    assert r.ci == pytest.approx((r.effect - e[-1], r.effect - e[0]))


def test_covariates_give_v_weights_and_balance():
    rng = np.random.default_rng(3)
    t, t0, j = 18, 12, 12
    y = rng.normal(size=(j + 1, t)).cumsum(axis=1) + 20
    x = np.column_stack([y[:, :t0].mean(axis=1), y[:, t0 - 1], rng.normal(size=j + 1)])
    r = synthetic_control(y[0], y[1:], np.arange(t) < t0, covariates=(x[0], x[1:]), placebo=False)
    assert r.v_weights is not None and len(r.v_weights) == 3 and sum(r.v_weights) == pytest.approx(1)
    assert np.allclose(r.predictors_synthetic, x[1:].T @ np.array(r.weights))
    assert r.p_value is None and r.ci == (None, None) and "no_placebos" in r.evidence_reasons


def test_evidence_rule():
    assert sc_evidence(19, 38, 0.015, 0.3) == ("strong", ())
    assert sc_evidence(4, 38, 0.015, 0.3)[0] == "weak"
    assert sc_evidence(19, 3, 0.015, 0.3)[0] == "weak"
    assert sc_evidence(19, 38, 0.015, 0.95) == ("weak", ("poor_pre_fit",))
    assert sc_evidence(8, 38, 0.015, 0.3) == ("moderate", ("short_pre_period",))
    assert sc_evidence(19, 38, 0.2, 0.3) == ("moderate", ("loose_pre_fit",))


def test_bad_input():
    with pytest.raises(SpecError, match="must match"):
        synthetic_control([1, 2, 3], [[1, 2]], [True, False, False])
    with pytest.raises(SpecError, match="pre period and one post"):
        synthetic_control([1, 2], [[1, 2]], [True, True])
    with pytest.raises(SpecError, match="missing"):
        synthetic_control([1, np.nan], [[1, 2]], [True, False])
    with pytest.raises(SpecError, match="donor_names has 1 names for 2 donors"):
        synthetic_control([1, 2], [[1, 2], [2, 3]], [True, False], donor_names=["a"])
