"""Simulation: customer bases drawn from BG/NBD and Pareto/NBD with known parameters are recovered, the 95 %
intervals cover the truth at their stated rate over many seeds, and P(alive) is calibrated."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from yunying.stats.clv import BGNBDFitter, GammaGammaFitter, ParetoNBDFitter

BG_TRUE = dict(r=0.5, alpha=6.0, a=0.8, b=2.5)
PARETO_TRUE = dict(r=0.6, alpha=9.0, s=0.8, beta=10.0)


def draw_bgnbd(rng, n, r, alpha, a, b):
    """Exact BG/NBD draws. With N ~ Poisson(λT) purchases had the customer stayed, and dropout after the J-th
    repeat purchase (J ~ Geometric(p)), x = min(N, J); the x-th of N uniform purchase times on [0, T] is
    T · Beta(x, N - x + 1). Returns x, t_x, T and whether the customer is alive at T."""
    T = rng.uniform(26, 39, n)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    N = rng.poisson(lam * T)
    J = rng.geometric(p)
    x = np.minimum(N, J)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(N - x + 1, 1)), 0.0)
    return x, tx, T, J > N


def draw_pareto(rng, n, r, alpha, s, beta):
    """Exact Pareto/NBD draws: lifetime τ ~ Exp(μ); purchases in [0, min(τ, T)] are Poisson(λ·min(τ, T)) with
    uniform times, so t_x = min(τ, T) · Beta(x, 1) (the largest of x uniforms)."""
    T = rng.uniform(26, 39, n)
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    tau = rng.exponential(1 / mu)
    end = np.minimum(tau, T)
    x = rng.poisson(lam * end)
    tx = np.where(x > 0, end * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, tx, T, tau > T


def coverage(fitter, truth, draw, seeds, n):
    hits = total = 0
    for seed in seeds:
        x, tx, T, _ = draw(np.random.default_rng(seed), n, **truth)
        m = fitter().fit(x, tx, T)
        for k, v in truth.items():
            lo, hi = m.estimates_[k].interval
            hits += lo <= v <= hi
            total += 1
    return hits, total


def assert_rate(hits, total, rate=0.95):
    # two-sided 99.9 % binomial acceptance region around the stated rate
    lo, hi = stats.binom.ppf([0.0005, 0.9995], total, rate)
    assert lo <= hits <= hi, f"{hits}/{total} intervals covered the truth, expected about {rate:.0%}"


def test_bgnbd_intervals_cover_the_truth():
    hits, total = coverage(BGNBDFitter, BG_TRUE, draw_bgnbd, range(30), 2000)
    assert_rate(hits, total)


@pytest.mark.slow
def test_pareto_intervals_cover_the_truth():
    hits, total = coverage(ParetoNBDFitter, PARETO_TRUE, draw_pareto, range(100, 120), 2000)
    assert_rate(hits, total)


def test_bgnbd_recovers_parameters_and_p_alive_is_calibrated():
    x, tx, T, alive = draw_bgnbd(np.random.default_rng(2024), 30_000, **BG_TRUE)
    m = BGNBDFitter().fit(x, tx, T)
    for k, v in BG_TRUE.items():
        assert abs(m.params_[k] - v) < 3 * m.standard_errors_[k], (k, m.params_[k], v)
    p = m.p_alive(x, tx, T)
    rep = x > 0  # customers with no repeat purchase have P(alive) = 1 by construction of BG/NBD
    assert alive[~rep].all()
    edges = np.quantile(p[rep], np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, p[rep], side="right") - 1, 0, 9)
    for k in range(10):
        sel = bins == k
        assert abs(p[rep][sel].mean() - alive[rep][sel].mean()) < 0.03, k


def test_pareto_recovers_parameters_and_p_alive_is_calibrated():
    x, tx, T, alive = draw_pareto(np.random.default_rng(7), 10_000, **PARETO_TRUE)
    m = ParetoNBDFitter().fit(x, tx, T)
    for k, v in PARETO_TRUE.items():
        assert abs(m.params_[k] - v) < 3 * m.standard_errors_[k], (k, m.params_[k], v)
    p = m.p_alive(x, tx, T)
    edges = np.quantile(p, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    for k in range(10):
        sel = bins == k
        assert abs(p[sel].mean() - alive[sel].mean()) < 0.05, k


def test_gamma_gamma_intervals_cover_the_truth():
    truth = dict(p=6.0, q=4.0, v=15.0)
    hits = total = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        x = rng.integers(1, 8, 1000)
        nu = rng.gamma(truth["q"], 1 / truth["v"], x.size)
        mean = rng.gamma(truth["p"] * x, 1 / (nu * x))  # mean of x Gamma(p, ν) values
        m = GammaGammaFitter().fit(x, mean)
        for k, v in truth.items():
            lo, hi = m.estimates_[k].interval
            hits += lo <= v <= hi
            total += 1
    assert_rate(hits, total)
