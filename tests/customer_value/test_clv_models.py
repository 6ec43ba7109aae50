"""The customer-value models against independent references: the published CDNOW summary (Fader–Hardie–Lee),
brute-force numerical integration of the individual-level likelihoods, and input checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import roots_genlaguerre, roots_jacobi

from util import shared_file
from yunying.errors import ValidationError
from yunying.stats.clv import (BGNBDFitter, GammaGammaFitter, ParetoNBDFitter, ValueSettings, bgnbd_log_likelihood,
                               churn_risk, discounted_purchases, pareto_log_likelihood)


@pytest.fixture(scope="module")
def summary():
    return pd.read_csv(shared_file("datasets/cdnow_customers_summary.csv"))


def close(a, b, rel=0.01):
    return abs(a - b) <= rel * abs(b)


def test_bgnbd_on_published_summary(summary):
    m = BGNBDFitter().fit(summary.frequency, summary.recency, summary["T"])
    # lifetimes' documentation: r 0.242593, alpha 4.413532, a 0.792886, b 2.425752 (FHL 2005: 0.243 4.414 0.793 2.426)
    for k, v in dict(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752).items():
        assert close(m.params_[k], v, 1e-3), (k, m.params_[k])
    assert abs(m.log_likelihood_ - (-9582.4)) < 0.05
    assert m.converged_
    np.testing.assert_allclose(m.expected_purchases([1, 3, 32, 78]), [0.0532, 0.1506, 1.0437, 1.8576], atol=6e-4)
    assert abs(m.conditional_expected_purchases(39, 2, 30.43, 38.86)[0] - 1.226) < 1e-3
    # standard errors as lifetimes reports them (0.0126, 0.378, 0.186, 0.705)
    np.testing.assert_allclose([m.standard_errors_[k] for k in ("r", "alpha", "a", "b")],
                               [0.0126, 0.378, 0.186, 0.705], rtol=0.02)


def test_pareto_on_published_summary(summary):
    m = ParetoNBDFitter().fit(summary.frequency, summary.recency, summary["T"])
    for k, v in dict(r=0.553, alpha=10.578, s=0.606, beta=11.669).items():
        assert close(m.params_[k], v), (k, m.params_[k])
    assert abs(m.log_likelihood_ - (-9595.0)) < 0.1
    m.params_ = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    assert abs(m.p_alive(26, 30.86, 31)[0] - 0.9979) < 1e-4
    assert close(m.conditional_expected_purchases(52, 26, 30.86, 31)[0], 25.46, 0.001)


def _gamma_nodes(shape, rate, n=100):
    """Gauss–Laguerre nodes and weights for E[g(λ)], λ ~ Gamma(shape, rate): exact for smooth g to ~1e-11."""
    u, w = roots_genlaguerre(n, shape - 1)
    return u / rate, w / w.sum()


def _beta_nodes(a, b, n=100):
    """Gauss–Jacobi nodes and weights for E[g(p)], p ~ Beta(a, b)."""
    x, w = roots_jacobi(n, b - 1, a - 1)
    return (1 + x) / 2, w / w.sum()


def _bg_brute(params, x, tx, T):
    """The individual-level BG/NBD likelihood integrated numerically over λ and p (no hypergeometric function)."""
    r, alpha, a, b = params
    lam, wl = _gamma_nodes(r, alpha)
    p, wp = _beta_nodes(a, b)
    L, P = lam[:, None], p[None, :]
    ind = (1 - P) ** x * L ** x * np.exp(-L * T)
    if x > 0:
        ind = ind + P * (1 - P) ** (x - 1) * L ** x * np.exp(-L * tx)
    return np.log(wl @ ind @ wp)


def _pareto_brute(params, x, tx, T):
    """The individual-level Pareto/NBD likelihood (alive until an exponential death) integrated over λ and μ."""
    r, alpha, s, beta = params
    lam, wl = _gamma_nodes(r, alpha)
    mu, wm = _gamma_nodes(s, beta)
    L, M = lam[:, None], mu[None, :]
    ind = L ** x * np.exp(-(L + M) * T) + L ** x * M / (L + M) * (np.exp(-(L + M) * tx) - np.exp(-(L + M) * T))
    return np.log(wl @ ind @ wm)


@pytest.mark.parametrize("params", [(0.9, 3.0, 0.8, 2.5), (2.0, 8.0, 1.7, 0.9)])
@pytest.mark.parametrize("cust", [(0, 0.0, 10.0), (1, 2.5, 10.0), (4, 9.0, 12.0)])
def test_bgnbd_likelihood_equals_numerical_integral(params, cust):
    assert abs(bgnbd_log_likelihood(params, *cust) - _bg_brute(params, *cust)) < 1e-8


@pytest.mark.parametrize("params", [(0.9, 3.0, 0.8, 2.5), (1.5, 2.0, 1.2, 6.0), (1.0, 4.0, 1.3, 4.0)])
@pytest.mark.parametrize("cust", [(0, 0.0, 10.0), (1, 2.5, 10.0), (4, 9.0, 12.0), (3, 12.0, 12.0)])
def test_pareto_likelihood_equals_numerical_integral(params, cust):
    # both branches of A0 (alpha >= beta and alpha < beta) and alpha == beta
    assert abs(pareto_log_likelihood(params, *cust) - _pareto_brute(params, *cust)) < 1e-8


def test_gamma_gamma_expected_value_is_the_weighted_mean():
    m = GammaGammaFitter()
    m.params_ = {"p": 6.25, "q": 3.74, "v": 15.45}
    pop = 6.25 * 15.45 / 2.74
    x, mx = 3, 40.0
    w = 6.25 * 3 / (6.25 * 3 + 3.74 - 1)
    assert abs(m.expected_order_value([x, 0], [mx, 0])[0] - ((1 - w) * pop + w * mx)) < 1e-9
    assert abs(m.expected_order_value([0], [0])[0] - pop) < 1e-12


def test_clv_discounting_handworked():
    class Linear:  # expected purchases grow by 1 per unit of time
        def conditional_expected_purchases(self, t, *a):
            return np.asarray(t, float) * np.ones(1)

    s = ValueSettings(discount_rate=0.2, step_days=30)
    got = discounted_purchases(Linear(), 90, [0], [0], [1], unit_days=1, settings=s)
    want = sum(30 / 1.2 ** (k * 30 / 365) for k in (1, 2, 3))
    assert abs(got[0] - want) < 1e-12
    got = discounted_purchases(Linear(), 10, [0], [0], [1], unit_days=7, settings=s)  # 70 days: 30, 60, 70
    want = (30 / 7) / 1.2 ** (30 / 365) + (30 / 7) / 1.2 ** (60 / 365) + (10 / 7) / 1.2 ** (70 / 365)
    assert abs(got[0] - want) < 1e-12


def test_churn_labels_at_the_thresholds():
    assert churn_risk([0.0, 0.2999, 0.3, 0.6999, 0.7, 1.0]).tolist() == ["high", "high", "medium", "medium", "low",
                                                                        "low"]


@pytest.mark.parametrize("args,msg", [
    (([0, 0], [0, 0], [5, 6]), "none of the 2 customers has a repeat purchase"),
    (([1, -1], [2, 0], [5, 6]), "frequency: 1 customer(s) have a negative frequency"),
    (([1, 1.5], [2, 3], [5, 6]), "not a whole number"),
    (([1, 2], [2, 7], [5, 6]), "recency > T"),
    (([1, 2], [2, -1], [5, 6]), "negative recency"),
    (([1, 0], [2, 1], [5, 6]), "recency > 0 but no repeat purchase"),
    (([1, 2], [2, 3], [5, np.nan]), "T: 1 value(s) are missing"),
    (([1, 2], [2, 3], [5]), "T: expected 2 values"),
])
@pytest.mark.parametrize("cls", [BGNBDFitter, ParetoNBDFitter])
def test_inputs_checked_up_front(cls, args, msg):
    with pytest.raises(ValidationError) as e:
        cls().fit(*args)
    assert msg in str(e.value)


def test_spend_inputs_checked():
    with pytest.raises(ValidationError, match="mean spend <= 0"):
        GammaGammaFitter().fit([1, 2], [10.0, -3.0])
    with pytest.raises(ValidationError, match="no repeat purchase"):
        GammaGammaFitter().fit([0, 2], [10.0, 3.0])
    with pytest.raises(ValidationError, match="not fitted"):
        GammaGammaFitter().expected_order_value([1], [2.0])


def test_fit_is_deterministic_and_weights_equal_repeats(summary):
    a = BGNBDFitter().fit(summary.frequency, summary.recency, summary["T"])
    b = BGNBDFitter().fit(summary.frequency, summary.recency, summary["T"])
    assert a.params_ == b.params_
    half = summary.iloc[: len(summary) // 2]
    w = BGNBDFitter().fit(half.frequency, half.recency, half["T"], weights=np.full(len(half), 2.0))
    d = BGNBDFitter().fit(pd.concat([half, half]).frequency, pd.concat([half, half]).recency,
                          pd.concat([half, half])["T"])
    for k in w.params_:
        assert abs(w.params_[k] - d.params_[k]) < 1e-6 * d.params_[k]


def test_standard_errors_without_a_gradient_match_the_analytic_path(summary):
    """The Pareto/NBD path (Hessian from the log-likelihood alone) against the BG/NBD one (Hessian from the
    analytic gradient), on the same BG/NBD fit."""
    from yunying.stats.clv._fit import standard_errors

    m = BGNBDFitter().fit(summary.frequency, summary.recency, summary["T"])
    lp = np.log([m.params_[k] for k in ("r", "alpha", "a", "b")])
    total = lambda v: float(bgnbd_log_likelihood(np.exp(v), summary.frequency, summary.recency, summary["T"]).sum())  # noqa: E731
    np.testing.assert_allclose(standard_errors(total, lp), [m.standard_errors_[k] for k in ("r", "alpha", "a", "b")],
                               rtol=1e-3)


def test_gamma_gamma_fast_paths_equal_the_plain_formula():
    from yunying.stats.clv import gamma_gamma_log_likelihood
    from yunying.stats.clv.gamma_gamma import _Data

    rng = np.random.default_rng(3)
    x = rng.integers(1, 9, 500).astype(float)
    m = rng.gamma(3.0, 10.0, 500)
    w = rng.integers(1, 4, 500).astype(float)
    d = _Data(x, m, w)
    par = (5.0, 3.5, 12.0)
    assert abs(d.total_ll(*par) - w @ gamma_gamma_log_likelihood(par, x, m)) < 1e-8
    h = 1e-6
    num = [(w @ gamma_gamma_log_likelihood(np.add(par, h * e), x, m) - w @ gamma_gamma_log_likelihood(
        np.subtract(par, h * e), x, m)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(d.grad(*par), num, rtol=1e-6)
