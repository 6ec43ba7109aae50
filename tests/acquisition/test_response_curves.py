"""Response-curve fitting and the budget allocator on simulated data with known curves."""
from __future__ import annotations

import math

import numpy as np
import pytest

from yunying.analyses.acquisition.response import allocate, fit_curve


def _simulate(a, h, days=120, mean_spend=1000.0, sigma=0.6, seed=0):
    rng = np.random.default_rng(seed)
    s = mean_spend * rng.lognormal(-sigma**2 / 2, sigma, days)
    y = rng.poisson(a * np.log1p(s / h))
    return s, y


def test_log_curve_recovered_within_its_standard_errors():
    z = []
    for seed in range(6):
        s, y = _simulate(80.0, 900.0, seed=seed)
        f = fit_curve(s, y, "log")
        p, se = f.params, f.se
        z += [(p["a"] - 80.0) / se["a"], (p["h"] - 900.0) / se["h"]]
        # the curve at typical spend is pinned down much better than a and h separately
        assert f.mu(1000.0) == pytest.approx(80 * math.log1p(1000 / 900), rel=0.06)
    assert max(abs(v) for v in z) < 3.5
    assert np.mean(np.abs(z)) < 1.6


def test_hill_curve_fits_saturating_data():
    rng = np.random.default_rng(5)
    s = rng.uniform(100, 6000, 150)
    mu = 200 * s**1.5 / (s**1.5 + 2000**1.5)
    f = fit_curve(s, rng.poisson(mu), "hill")
    assert f.params["a"] == pytest.approx(200, rel=0.15)
    assert f.params["h"] == pytest.approx(2000, rel=0.2)
    assert f.params["k"] == pytest.approx(1.5, rel=0.25)


def test_linear_data_is_flagged_at_the_bound():
    rng = np.random.default_rng(2)
    s = rng.uniform(500, 1500, 60)
    f = fit_curve(s, rng.poisson(0.05 * s), "log")
    assert f.linear_like
    assert f.mu(1000.0) == pytest.approx(50, rel=0.08)


def test_curved_data_is_not_linear_like():
    s, y = _simulate(80.0, 900.0, seed=1)
    assert not fit_curve(s, y).linear_like


def test_fit_needs_data():
    with pytest.raises(ValueError):
        fit_curve([100, 0], [3, 0])


class _True:
    def __init__(self, a, h):
        self.a, self.h = a, h

    def mu(self, s, ltheta=None):
        return self.a * np.log1p(np.asarray(s, dtype=float) / self.h)


def test_allocator_equalises_marginal_cost_and_spends_the_total():
    fits = {"x": _True(100, 500), "y": _True(60, 2000), "z": _True(30, 100)}
    values = {"x": 0.2, "y": 0.3, "z": 0.1}
    caps = {k: 1e9 for k in fits}
    alloc = allocate(fits, values, 3000.0, caps, steps=3000)
    assert sum(alloc.values()) == pytest.approx(3000.0)
    # Lagrangian optimum of a*v*ln(1+x/h): x = a*v/lambda - h, with sum x = total
    av = {k: fits[k].a * values[k] for k in fits}
    lam = sum(av.values()) / (3000.0 + sum(f.h for f in fits.values()))
    active = {k: av[k] / lam - fits[k].h for k in fits}
    if min(active.values()) < 0:  # a channel left at zero: solve among the rest
        keep = [k for k in fits if active[k] > 0]
        lam = sum(av[k] for k in keep) / (3000.0 + sum(fits[k].h for k in keep))
        active = {k: max(av[k] / lam - fits[k].h, 0.0) for k in fits}
    for k in fits:
        assert alloc[k] == pytest.approx(active[k], abs=3.0)
    # equal marginal cost per unit of value among funded channels
    mc = [(fits[k].h + alloc[k]) / av[k] for k in fits if alloc[k] > 0]
    assert max(mc) / min(mc) < 1.01


def test_allocator_respects_caps():
    fits = {"x": _True(100, 500), "y": _True(60, 2000)}
    alloc = allocate(fits, {"x": 1.0, "y": 1.0}, 5000.0, {"x": 800.0, "y": 1000.0})
    assert alloc["x"] <= 800.0 + 1e-6 and alloc["y"] <= 1000.0 + 1e-6
    assert sum(alloc.values()) == pytest.approx(1800.0)


@pytest.mark.parametrize("curve", ["log", "hill"])
def test_all_draws_at_once_equal_one_at_a_time(curve):
    """The budget evaluates every parameter draw at once (parameters as columns): the same numbers as one draw at
    a time, for one spend and for a row of daily spends averaged (budget_core._proposal_row)."""
    rng = np.random.default_rng(7)
    s = rng.uniform(100, 3000, 40)
    y = rng.poisson(30 * np.log1p(s / 800))
    f = fit_curve(s, y, curve)
    td = f.draws(300, rng)
    days = rng.uniform(0, 4000, 28)
    days[::5] = 0.0
    one = np.array([float(f.mu(1234.5, t)) for t in td])
    assert np.array_equal(np.asarray(f.mu(1234.5, td.T)), one)
    mean_one = np.array([float(np.mean(f.mu(days, t))) for t in td])
    got = np.mean(f.mu(days[None, :], td.T[:, :, None]), axis=1)
    assert np.array_equal(got, mean_one)


def _best_split(table: dict, steps: int, cap_steps: dict):
    """Exhaustive search (the oracle; no greedy step in it): the whole numbers of steps per channel, within the
    caps and adding up to the steps there are (or to every cap), whose summed value ``table[c][n]`` is largest."""
    import itertools

    names = list(table)
    spend = min(steps, sum(cap_steps.values()))
    best = (-math.inf, None)
    for head in itertools.product(*(range(cap_steps[c] + 1) for c in names[:-1])):
        last = spend - sum(head)
        if 0 <= last <= cap_steps[names[-1]]:
            n = (*head, last)
            best = max(best, (sum(table[c][k] for c, k in zip(names, n)), n))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_allocator_finds_the_best_split_in_whole_steps(seed):
    """Fitted log curves are concave, so the best split of the total in steps of total/steps is what spending step
    by step on the best marginal gain gives: an exhaustive search over every split finds the same steps per
    channel and the same value, with the caps free, binding on one channel, and below the total."""
    rng = np.random.default_rng(seed)
    fits, values = {}, {}
    for i in range(3):
        s = rng.uniform(100, 3000, 30)
        fits[f"c{i}"] = fit_curve(s, rng.poisson(rng.uniform(10, 40) * np.log1p(s / rng.uniform(300, 2000))), "log")
        values[f"c{i}"] = float(rng.uniform(0.05, 0.3))
    steps, total = 48, 4800.0
    delta = total / steps
    table = {c: [values[c] * float(fits[c].mu(n * delta)) for n in range(steps + 1)] for c in fits}
    for cap_steps in ({c: steps for c in fits}, {"c0": 5, "c1": steps, "c2": steps}, {"c0": 10, "c1": 12, "c2": 9}):
        caps = {c: n * delta for c, n in cap_steps.items()}
        value, n = _best_split(table, steps, cap_steps)
        alloc = allocate(fits, values, total, caps, steps=steps)
        assert [alloc[c] / delta for c in fits] == pytest.approx(list(n), abs=1e-6)
        assert sum(values[c] * float(fits[c].mu(alloc[c])) for c in fits) == pytest.approx(value, rel=1e-12)
        assert sum(alloc.values()) == pytest.approx(min(total, sum(caps.values())))
