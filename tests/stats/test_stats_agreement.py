"""The stats layer agrees with scipy / statsmodels on the same inputs, and sufficient
statistics merge exactly."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from yunying.stats import (
    BayesianSettings,
    FrequentistSettings,
    ProportionStats,
    QuantileStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    SequentialSettings,
    adjust_p_values,
    benjamini_hochberg,
    compare,
    cuped_theta,
    holm,
    msprt_halfwidth,
    msprt_p_value,
    srm_test,
)

import statsmodels.stats.proportion as sm_prop
import statsmodels.stats.multitest as sm_mt
import statsmodels.api as sm_api


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240601)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_t_test_matches_scipy(rng, alternative):
    a = rng.lognormal(1.0, 0.8, 300)
    b = rng.lognormal(1.1, 0.9, 450)
    r = compare(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b),
                FrequentistSettings(alternative=alternative))
    ref = st.ttest_ind(b, a, equal_var=False, alternative=alternative)
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    lo, hi = r.ci_abs
    assert (lo if math.isfinite(lo) else -np.inf) == pytest.approx(ci.low, rel=1e-9)
    assert (hi if math.isfinite(hi) else np.inf) == pytest.approx(ci.high, rel=1e-9)
    assert r.effect_abs == pytest.approx(b.mean() - a.mean())


def test_pooled_z_and_score_interval_match_statsmodels():
    """The pooled z-test is the score test at 0: its intervals are the score intervals (docs/experiments.md#verdicts-
    and-intervals), statsmodels' confint_proportions_2indep(method="score", correction=False)."""
    a, b = ProportionStats(5000, 610), ProportionStats(5200, 700)
    r = compare(a, b, FrequentistSettings())
    z, p = sm_prop.proportions_ztest([700, 610], [5200, 5000])
    assert r.statistic == pytest.approx(z, rel=1e-10)
    assert r.p_value == pytest.approx(p, rel=1e-10)
    lo, hi = sm_prop.confint_proportions_2indep(700, 5200, 610, 5000, method="score", compare="diff", correction=False)
    assert r.ci_abs[0] == pytest.approx(lo, rel=1e-8) and r.ci_abs[1] == pytest.approx(hi, rel=1e-8)
    lo, hi = sm_prop.confint_proportions_2indep(700, 5200, 610, 5000, method="score", compare="ratio", correction=False)
    assert r.ci_rel[0] == pytest.approx(lo - 1, rel=1e-8) and r.ci_rel[1] == pytest.approx(hi - 1, rel=1e-8)
    # one-sided: the p-value of the one-sided pooled test, the bound of the two-sided interval at 2α
    r1 = compare(a, b, FrequentistSettings(alternative="greater"))
    _, p1 = sm_prop.proportions_ztest([700, 610], [5200, 5000], alternative="larger")
    assert r1.p_value == pytest.approx(p1, rel=1e-10)
    lo1, _ = sm_prop.confint_proportions_2indep(700, 5200, 610, 5000, method="score", compare="diff",
                                                correction=False, alpha=0.10)
    assert r1.ci_abs[0] == pytest.approx(lo1, rel=1e-8) and r1.ci_abs[1] == math.inf


def test_unpooled_test_keeps_the_wald_interval():
    a, b = ProportionStats(5000, 610), ProportionStats(5200, 700)
    r = compare(a, b, FrequentistSettings(pooled_proportion_test=False))
    lo, hi = sm_prop.confint_proportions_2indep(700, 5200, 610, 5000, method="wald", compare="diff")
    assert r.ci_abs[0] == pytest.approx(lo, rel=1e-10) and r.ci_abs[1] == pytest.approx(hi, rel=1e-10)


def test_relative_interval_is_fieller_beside_the_absolute_interval():
    """Beside Δ ± c·SE the relative interval is Fieller's: the ratios ρ whose pivot (m_B − ρ m_A) / sqrt(s_B² + ρ²
    s_A²) stays within ±c — found here by root finding on that pivot (scipy), independently of the closed form."""
    from scipy import optimize

    a, b = ProportionStats(8000, 800), ProportionStats(8000, 880)
    r = compare(a, b, FrequentistSettings(pooled_proportion_test=False))
    pa, pb = 0.1, 0.11
    sa2, sb2 = pa * (1 - pa) / 8000, pb * (1 - pb) / 8000
    c = st.norm.ppf(0.975)
    pivot = lambda rho: (pb - rho * pa) / math.sqrt(sb2 + rho * rho * sa2)  # noqa: E731
    lo = optimize.brentq(lambda rho: pivot(rho) - c, 0.5, pb / pa)
    hi = optimize.brentq(lambda rho: pivot(rho) + c, pb / pa, 2.0)
    assert r.ci_rel[0] == pytest.approx(lo - 1, rel=1e-9) and r.ci_rel[1] == pytest.approx(hi - 1, rel=1e-9)


def test_srm_matches_scipy_chisquare():
    obs = [1030, 980, 2100]
    r = srm_test(obs, [1, 1, 2])
    tot = sum(obs)
    ref = st.chisquare(obs, [tot / 4, tot / 4, tot / 2])
    assert r.chi2 == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)
    assert r.dof == 2


def test_multiple_testing_matches_statsmodels(rng):
    p = rng.uniform(0, 0.2, 17)
    p[3] = p[5]  # ties
    for ours, name in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
        ref = sm_mt.multipletests(p, method=name)[1]
        np.testing.assert_allclose(ours(p), ref, rtol=1e-12)
    mixed = [0.01, None, 0.04, 0.03]
    out = adjust_p_values(mixed, "holm")
    assert out[1] is None
    np.testing.assert_allclose([out[0], out[2], out[3]], sm_mt.multipletests([0.01, 0.04, 0.03], method="holm")[1])
    assert adjust_p_values(mixed, "none") == mixed


def test_sufficient_statistics_match_numpy_and_merge_exactly(rng):
    x = rng.normal(3, 2, 1000)
    d = rng.poisson(3, 1000) + 1.0
    s = SampleMeanStats.from_values(x)
    assert s.mean == pytest.approx(x.mean()) and s.variance == pytest.approx(x.var(ddof=1))
    parts = np.array_split(np.arange(1000), 4)
    merged = SampleMeanStats.from_values(x[parts[0]])
    for p in parts[1:]:
        merged = merged + SampleMeanStats.from_values(x[p])
    assert merged.n == s.n and merged.sum == pytest.approx(s.sum) and merged.sum_squares == pytest.approx(s.sum_squares)
    r = RatioStats.from_values(x, d)
    r2 = RatioStats.from_values(x[:400], d[:400]) + RatioStats.from_values(x[400:], d[400:])
    assert r2.mean == pytest.approx(r.mean) and r2.variance == pytest.approx(r.variance)
    ra = RegressionAdjustedStats.from_values(x, d)
    ra2 = RegressionAdjustedStats.from_values(x[:10], d[:10]) + RegressionAdjustedStats.from_values(x[10:], d[10:])
    assert ra2.covariance == pytest.approx(np.cov(x, d)[0, 1])
    assert ra2.covariance == pytest.approx(ra.covariance)
    p = ProportionStats.from_values((x > 3).astype(int))
    assert p + ProportionStats(10, 4) == ProportionStats(p.n + 10, p.sum + 4)


def test_ratio_delta_method_equals_linearisation(rng):
    # Var(M/D) by the delta method == variance of the linearised residual (m - R d) / d̄.
    m = rng.gamma(2, 10, 2000)
    d = rng.poisson(4, 2000) + 1.0
    s = RatioStats.from_values(m, d)
    R = m.sum() / d.sum()
    lin = (m - R * d) / d.mean()
    assert s.mean == pytest.approx(R)
    assert s.variance == pytest.approx(lin.var(ddof=1), rel=1e-9)


def test_cuped_matches_ols_with_arm_indicator(rng):
    n = 3000
    x = rng.normal(10, 3, n)
    t = rng.integers(0, 2, n)
    y = 2 + 0.8 * x + 0.5 * t + rng.normal(0, 2, n)
    a = RegressionAdjustedStats.from_values(y[t == 0], x[t == 0])
    b = RegressionAdjustedStats.from_values(y[t == 1], x[t == 1])
    r = compare(a, b)
    X = sm_api.add_constant(np.column_stack([t, x]))
    ols = sm_api.OLS(y, X).fit(cov_type="HC0")
    # same point estimate as ANCOVA (pooled within-arm slope), SE within 1% of the robust OLS SE
    assert cuped_theta([a, b]) == pytest.approx(ols.params[2], rel=1e-9)
    assert r.effect_abs == pytest.approx(ols.params[1], rel=1e-9)
    assert r.se_abs == pytest.approx(ols.bse[1], rel=0.01)
    assert 0.3 < r.variance_reduction < 0.7  # rho^2 = 0.8²·9 / (0.8²·9 + 4) ≈ 0.59


def test_quantile_estimate_and_interval_bracket():
    x = np.arange(1, 1001, dtype=float)
    q = QuantileStats.from_values(x, 0.5)
    assert q.value == np.quantile(x, 0.5)
    # the order statistics bracket ranks n q ± z sqrt(n q (1-q)) ≈ 500 ± 31
    assert 465 <= q.lower <= 470 and 531 <= q.upper <= 535
    # distribution-free coverage of [lower, upper] for a continuous law, exact by the binomial
    lo, hi = int(q.lower), int(q.upper)
    cover = st.binom.cdf(hi - 1, 1000, 0.5) - st.binom.cdf(lo - 1, 1000, 0.5)
    assert cover >= 0.95


def test_bayesian_flat_prior_equals_normal_posterior_and_proper_prior_shrinks():
    a, b = ProportionStats(4000, 400), ProportionStats(4000, 460)
    flat = compare(a, b, BayesianSettings())
    freq = compare(a, b, FrequentistSettings(pooled_proportion_test=False))
    # the credible interval is the central 90 %: the threshold 95 % chance to win on either side
    assert flat.ci_abs == pytest.approx(compare(a, b, FrequentistSettings(alpha=0.1, pooled_proportion_test=False)).ci_abs)
    assert flat.ci_level == pytest.approx(0.9)
    assert flat.chance_to_win == pytest.approx(st.norm.cdf(freq.effect_abs / freq.se_abs))
    # expected loss by numerical integration
    mu, sd = flat.effect_abs, flat.se_abs
    xs = np.linspace(mu - 10 * sd, mu + 10 * sd, 200001)
    loss = np.trapezoid(np.maximum(0, -xs) * st.norm.pdf(xs, mu, sd), xs)
    assert flat.risk == pytest.approx(loss, rel=1e-4)
    gain = np.trapezoid(np.maximum(0, xs) * st.norm.pdf(xs, mu, sd), xs)
    assert flat.risk_control == pytest.approx(gain, rel=1e-4)
    # a proper prior centred at 0 pulls the effect towards 0 (conjugate normal update on the absolute scale, the
    # prior sd 0.05 of the relative effect times the control's rate; the relative posterior: tests/stats/test_bayes_interval.py)
    prior = BayesianSettings(proper_prior=True, prior_mean=0.0, prior_stddev=0.05)
    post = compare(a, b, prior)
    s0 = 0.05 * 0.1
    w = s0**2 / (s0**2 + freq.se_abs**2)
    assert post.effect_abs == pytest.approx(w * freq.effect_abs, rel=1e-9)
    assert 0 < post.effect_rel < flat.effect_rel and post.se_rel < flat.se_rel
    # lower-is-better flips the chance to win
    inv = compare(a, b, BayesianSettings(), higher_is_better=False)
    assert inv.chance_to_win == pytest.approx(1 - flat.chance_to_win)


def test_sequential_p_value_and_interval_are_dual():
    a, b = ProportionStats(3000, 300), ProportionStats(3000, 370)
    s = SequentialSettings(alpha=0.05, tuning=5000)
    r = compare(a, b, s)
    f = compare(a, b, FrequentistSettings(pooled_proportion_test=False))
    # always-valid interval is wider than the fixed-horizon one, and rejects iff it excludes 0
    assert (r.ci_abs[1] - r.ci_abs[0]) > (f.ci_abs[1] - f.ci_abs[0])
    assert (r.p_value < 0.05) == (r.ci_abs[0] > 0 or r.ci_abs[1] < 0)
    z = f.effect_abs / f.se_abs
    assert r.p_value == pytest.approx(float(msprt_p_value(z, 6000, 0.05, 5000)))
    half = float(msprt_halfwidth(f.se_abs, 6000, 0.05, 5000))
    assert r.ci_abs == pytest.approx((f.effect_abs - half, f.effect_abs + half))
    # at the boundary the p-value equals alpha: find the z where |Δ| = halfwidth
    zb = half / f.se_abs
    assert float(msprt_p_value(zb, 6000, 0.05, 5000)) == pytest.approx(0.05, rel=1e-9)
