"""Seeded simulation checks of the statistical properties.

Data are simulated as sufficient statistics (binomial counts, per-experiment sums)
so thousands of experiments run in about a second. Each check uses a binomial
margin: with R replications the observed rate of an event of probability q has
sd sqrt(q(1-q)/R); we require agreement at the 99.9% level (|z| < 3.3).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from yunying.stats import (
    BayesianSettings,
    FrequentistSettings,
    ProportionStats,
    QuantileStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    absolute_difference,
    compare,
    msprt_halfwidth,
    msprt_p_value,
    p_value,
)

Z = 3.3


def _within(rate: float, target: float, reps: int) -> bool:
    return abs(rate - target) <= Z * math.sqrt(target * (1 - target) / reps)


def _mean_stats(x: np.ndarray) -> list[SampleMeanStats]:
    """One SampleMeanStats per row of a (reps, n) array."""
    n = x.shape[1]
    return [SampleMeanStats(n, float(s), float(ss)) for s, ss in zip(x.sum(1), (x * x).sum(1))]


def test_aa_false_positive_rate_proportions():
    rng = np.random.default_rng(1)
    reps, n, p = 4000, 3000, 0.12
    ka, kb = rng.binomial(n, p, reps), rng.binomial(n, p, reps)
    pv = np.array([compare(ProportionStats(n, a), ProportionStats(n, b)).p_value for a, b in zip(ka, kb)])
    assert _within(np.mean(pv < 0.05), 0.05, reps)
    # p-values are ~uniform under the null
    assert _within(np.mean(pv < 0.5), 0.5, reps)


def test_aa_false_positive_rate_skewed_means():
    rng = np.random.default_rng(2)
    reps, n = 2000, 400
    a = rng.lognormal(0, 1, (reps, n))
    b = rng.lognormal(0, 1, (reps, n))
    pv = np.array([compare(x, y).p_value for x, y in zip(_mean_stats(a), _mean_stats(b))])
    rate = np.mean(pv < 0.05)
    assert _within(rate, 0.05, reps)


def test_interval_coverage_absolute_and_relative():
    rng = np.random.default_rng(3)
    reps, na, nb = 3000, 2000, 2500
    pa, pb = 0.10, 0.115
    ka, kb = rng.binomial(na, pa, reps), rng.binomial(nb, pb, reps)
    res = [compare(ProportionStats(na, a), ProportionStats(nb, b)) for a, b in zip(ka, kb)]
    cov_abs = np.mean([r.ci_abs[0] <= pb - pa <= r.ci_abs[1] for r in res])
    cov_rel = np.mean([r.ci_rel[0] <= pb / pa - 1 <= r.ci_rel[1] for r in res])
    assert _within(cov_abs, 0.95, reps)
    assert _within(cov_rel, 0.95, reps)

    # means: exponential data with a 10% lift
    ea = rng.exponential(1.0, (1500, 500))
    eb = rng.exponential(1.1, (1500, 500))
    res = [compare(x, y) for x, y in zip(_mean_stats(ea), _mean_stats(eb))]
    assert _within(np.mean([r.ci_abs[0] <= 0.1 <= r.ci_abs[1] for r in res]), 0.95, 1500)
    assert _within(np.mean([r.ci_rel[0] <= 0.1 <= r.ci_rel[1] for r in res]), 0.95, 1500)


def test_one_sided_test_level_and_direction():
    rng = np.random.default_rng(4)
    reps, n = 3000, 2000
    ka, kb = rng.binomial(n, 0.2, reps), rng.binomial(n, 0.2, reps)
    s = FrequentistSettings(alternative="greater")
    pv = np.array([compare(ProportionStats(n, a), ProportionStats(n, b), s).p_value for a, b in zip(ka, kb)])
    assert _within(np.mean(pv < 0.05), 0.05, reps)
    # rejections only when the treatment is higher
    assert np.all((kb - ka)[pv < 0.05] > 0)


def test_sequential_keeps_error_rate_under_daily_peeking_where_fixed_test_does_not():
    rng = np.random.default_rng(5)
    reps, days, per_day, p = 2000, 28, 150, 0.2
    ka = np.cumsum(rng.binomial(per_day, p, (reps, days)), axis=1)
    kb = np.cumsum(rng.binomial(per_day, p, (reps, days)), axis=1)
    n = per_day * np.arange(1, days + 1)
    pa, pb = ka / n, kb / n
    d, se = absolute_difference(pa, pa * (1 - pa), n, pb, pb * (1 - pb), n)
    z = d / se
    fixed_any = np.any(p_value(z) < 0.05, axis=1).mean()
    seq_p = msprt_p_value(z, 2 * n, alpha=0.05, tuning=5000)
    seq_any = np.any(seq_p < 0.05, axis=1).mean()
    assert fixed_any > 0.15            # peeking inflates the fixed-horizon error rate well above 5%
    assert seq_any <= 0.05 + Z * math.sqrt(0.05 * 0.95 / reps)
    # the dataclass API gives the same answer as the kernel at one look
    from yunying.stats import SequentialSettings

    i, j = 7, days - 1
    r = compare(ProportionStats(int(n[j]), int(ka[i, j])), ProportionStats(int(n[j]), int(kb[i, j])),
                SequentialSettings(tuning=5000))
    assert r.p_value == pytest.approx(float(seq_p[i, j]), rel=1e-9)


def test_sequential_intervals_cover_at_every_look_simultaneously():
    rng = np.random.default_rng(6)
    reps, days, per_day = 1500, 28, 150
    pa_true, pb_true = 0.20, 0.23
    ka = np.cumsum(rng.binomial(per_day, pa_true, (reps, days)), axis=1)
    kb = np.cumsum(rng.binomial(per_day, pb_true, (reps, days)), axis=1)
    n = per_day * np.arange(1, days + 1)
    pa, pb = ka / n, kb / n
    d, se = absolute_difference(pa, pa * (1 - pa), n, pb, pb * (1 - pb), n)
    half = msprt_halfwidth(se, 2 * n, alpha=0.05, tuning=5000)
    truth = pb_true - pa_true
    always = np.all(np.abs(d - truth) <= half, axis=1).mean()
    assert always >= 0.95 - Z * math.sqrt(0.05 * 0.95 / reps)
    # and the sequential test still detects the effect eventually
    p_end = msprt_p_value(d[:, -1] / se[:, -1], 2 * n[-1], 0.05, 5000)
    assert np.mean(p_end < 0.05) > 0.5


def _cuped_sums(y, x):
    n = y.shape[1]
    return [RegressionAdjustedStats(n, *map(float, v)) for v in zip(
        y.sum(1), (y * y).sum(1), x.sum(1), (x * x).sum(1), (x * y).sum(1))]


def test_cuped_reduces_variance_and_stays_unbiased():
    rng = np.random.default_rng(7)
    reps, n, effect = 1500, 400, 0.25
    xa, xb = rng.normal(0, 1, (reps, n)), rng.normal(0, 1, (reps, n))
    ya = 5 + 1.0 * xa + rng.normal(0, 1, (reps, n))
    yb = 5 + effect + 1.0 * xb + rng.normal(0, 1, (reps, n))   # rho² = 0.5
    cup = [compare(a, b) for a, b in zip(_cuped_sums(ya, xa), _cuped_sums(yb, xb))]
    raw = [compare(a, b) for a, b in zip(_mean_stats(ya), _mean_stats(yb))]
    est_c = np.array([r.effect_abs for r in cup])
    est_r = np.array([r.effect_abs for r in raw])
    # unbiased: the mean estimate is within 3.3 standard errors of the truth
    assert abs(est_c.mean() - effect) < Z * est_c.std() / math.sqrt(reps)
    # variance roughly halves (1 - rho² = 0.5), and the reported reduction says so
    ratio = est_c.var() / est_r.var()
    assert 0.4 < ratio < 0.6
    vr = np.array([r.variance_reduction for r in cup])
    assert abs(vr.mean() - 0.5) < 0.03
    # intervals still cover
    cover = np.mean([r.ci_abs[0] <= effect <= r.ci_abs[1] for r in cup])
    assert _within(cover, 0.95, reps)
    # an uncorrelated covariate changes (almost) nothing
    za, zb = rng.normal(0, 1, (300, n)), rng.normal(0, 1, (300, n))
    none = [compare(a, b) for a, b in zip(_cuped_sums(ya[:300], za), _cuped_sums(yb[:300], zb))]
    assert abs(np.mean([r.variance_reduction for r in none])) < 0.01


def test_bayesian_chance_to_win_is_calibrated_under_aa():
    rng = np.random.default_rng(8)
    reps, n = 3000, 2000
    ka, kb = rng.binomial(n, 0.3, reps), rng.binomial(n, 0.3, reps)
    ctw = np.array([compare(ProportionStats(n, a), ProportionStats(n, b), BayesianSettings()).chance_to_win
                    for a, b in zip(ka, kb)])
    assert _within(np.mean(ctw > 0.95), 0.05, reps)
    assert _within(np.mean(ctw < 0.5), 0.5, reps)


def test_quantile_interval_coverage():
    rng = np.random.default_rng(9)
    reps, n = 600, 1000
    a = rng.exponential(1.0, (reps, n))
    b = rng.exponential(1.2, (reps, n))
    truth = 1.2 * math.log(2) - math.log(2)   # difference of medians
    res = [compare(QuantileStats.from_values(x, 0.5), QuantileStats.from_values(y, 0.5)) for x, y in zip(a, b)]
    cover = np.mean([r.ci_abs[0] <= truth <= r.ci_abs[1] for r in res])
    # order-statistic intervals: close to nominal coverage, and not absurdly wide
    assert cover >= 0.95 - Z * math.sqrt(0.05 * 0.95 / reps)
    assert cover <= 0.995
    cover_rel = np.mean([r.ci_rel[0] <= 0.2 <= r.ci_rel[1] for r in res])
    assert cover_rel >= 0.95 - Z * math.sqrt(0.05 * 0.95 / reps)
