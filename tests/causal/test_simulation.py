"""Simulation: planted effects are recovered and the intervals cover at their stated rate.

Coverage is checked within a binomial tolerance: with R replications of a 95 % interval the share that
covers has standard deviation sqrt(.95 × .05 / R); we allow 3.5 of them below (and any excess above).
"""
from __future__ import annotations

import numpy as np
import pytest

from yunying.stats.causal import did_panel, synthetic_control


def _tolerance(reps: int, level: float = 0.95) -> float:
    return 3.5 * np.sqrt(level * (1 - level) / reps)


def _did_panel(rng, n=40, t=8, t0=5, effect=1.0, rho=0.5):
    """Unit and period effects, AR(1) errors within a unit (why SEs must be clustered)."""
    e = np.empty((n, t))
    e[:, 0] = rng.normal(size=n)
    for s in range(1, t):
        e[:, s] = rho * e[:, s - 1] + np.sqrt(1 - rho ** 2) * rng.normal(size=n)
    y = rng.normal(scale=2, size=(n, 1)) + rng.normal(size=(1, t)) + e
    d = np.zeros(n, dtype=bool)
    d[rng.choice(n, n // 2, replace=False)] = True
    p = np.arange(t) >= t0
    y[np.ix_(d, p)] += effect
    return y, d, p


def test_did_recovers_effect_and_covers():
    rng = np.random.default_rng(20261127)
    reps, effect = 400, 1.0
    est, cover, pretrend_reject = [], 0, 0
    for _ in range(reps):
        r = did_panel(*_did_panel(rng, effect=effect))
        est.append(r.estimate)
        cover += r.ci[0] <= effect <= r.ci[1]
        pretrend_reject += r.pre_trend.p_value < 0.05
    est = np.array(est)
    # unbiased: the mean estimate within 4 Monte-Carlo SEs of the planted effect
    assert abs(est.mean() - effect) < 4 * est.std(ddof=1) / np.sqrt(reps)
    assert cover / reps >= 0.95 - _tolerance(reps)
    assert cover / reps <= 0.995                          # not uselessly wide
    # under parallel trends the pre-trend test rejects about 5 % of the time (its size)
    assert pretrend_reject / reps <= 0.05 + 3.5 * np.sqrt(0.05 * 0.95 / reps)


def test_did_pretrend_test_has_power():
    rng = np.random.default_rng(7)
    rejected = 0
    for _ in range(60):
        y, d, p = _did_panel(rng)
        y[d] += 0.4 * np.arange(y.shape[1])             # treated units drift away before the campaign
        rejected += did_panel(y, d, p).pre_trend.p_value < 0.05
    assert rejected / 60 > 0.8


def _factor_panel(rng, units, t, t0, effect):
    """A two-factor model; every unit is drawn alike, unit 0 is treated (so units are exchangeable)."""
    f = rng.normal(size=(t, 2)).cumsum(axis=0)
    load = rng.uniform(0.2, 1.0, size=(units, 2))
    y = 10 + load @ f.T + rng.normal(scale=0.5, size=(units, t))
    pre = np.arange(t) < t0
    y[0, ~pre] += effect
    return y, pre


@pytest.mark.slow
@pytest.mark.parametrize("units, method", [(40, "placebo_rank"), (20, "placebo_normal")])
def test_synthetic_control_recovers_effect_and_covers(units, method):
    rng = np.random.default_rng(units)
    reps, effect = 200, -2.0
    est, cover, reject = [], 0, 0
    for _ in range(reps):
        y, pre = _factor_panel(rng, units, t=16, t0=10, effect=effect)
        r = synthetic_control(y[0], y[1:], pre)
        assert r.ci_method == method
        est.append(r.effect)
        cover += r.ci[0] <= effect <= r.ci[1]
    est = np.array(est)
    assert abs(est.mean() - effect) < 4 * est.std(ddof=1) / np.sqrt(reps) + 0.1
    assert cover / reps >= 0.95 - _tolerance(reps)


@pytest.mark.slow
def test_synthetic_control_placebo_p_value_size():
    rng = np.random.default_rng(99)
    reps, small = 200, 0
    for _ in range(reps):
        y, pre = _factor_panel(rng, 20, t=14, t0=9, effect=0.0)
        small += synthetic_control(y[0], y[1:], pre).p_value <= 0.1       # 2 of 20 ranks: size 0.10
    assert small / reps <= 0.10 + 3.5 * np.sqrt(0.1 * 0.9 / reps)
