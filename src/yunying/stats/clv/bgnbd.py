"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (rate α); after each repeat
purchase they become inactive for good with probability p ~ Beta(a, b). For one customer with ``x`` repeat
purchases, the last at ``t_x``, observed for ``T`` since the first purchase:

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+T)^-(r+x)
        + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+t_x)^-(r+x)

computed as a log-sum-exp of the two terms. Expectations use Euler's transformation of the Gaussian
hypergeometric function, so its parameters stay bounded however many purchases a customer made.

>>> import numpy as np
>>> m = BGNBDFitter().fit([2, 1, 0, 0], [30.43, 1.71, 0, 0], [38.86, 38.86, 38.86, 38.86])
>>> sorted(m.params_)
['a', 'alpha', 'b', 'r']
"""
from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ._fit import Fitter, check_rft, compress, fit_log_params, standard_errors

__all__ = ["BGNBDFitter", "bgnbd_log_likelihood"]


def _terms(params, x, tx, T):
    r, alpha, a, b = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + betaln(a, b + x) - betaln(a, b)
                      - (r + x) * np.log(alpha + tx), -np.inf)
    return head, t1, t2


def bgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer log-likelihood at ``params = (r, alpha, a, b)``."""
    head, t1, t2 = _terms(params, np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float))
    return head + np.logaddexp(t1, t2)


def _grad(params, x, tx, T, w):
    """Gradient of Σ w·LL with respect to (r, α, a, b)."""
    r, alpha, a, b = params
    _, t1, t2 = _terms(params, x, tx, T)
    lse = np.logaddexp(t1, t2)
    p2 = np.exp(t2 - lse)  # share of the "dropped out after t_x" term
    p1 = 1.0 - p2
    g_r = digamma(r + x) - digamma(r) + np.log(alpha) - p1 * np.log(alpha + T) - p2 * np.log(alpha + tx)
    g_alpha = r / alpha - p1 * (r + x) / (alpha + T) - p2 * (r + x) / (alpha + tx)
    dab = digamma(a + b)
    dabx = digamma(a + b + x)
    g_a1 = dab - dabx
    g_b1 = digamma(b + x) - dabx - digamma(b) + dab
    g_a = g_a1 + p2 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        g_b = g_b1 - np.where(x > 0, p2 / np.maximum(b + x - 1, 1e-300), 0.0)
    return np.array([w @ g_r, w @ g_alpha, w @ g_a, w @ g_b])


class BGNBDFitter(Fitter):
    """BG/NBD purchase model fitted by maximum likelihood.

    Settings: ``start`` — starting values of (r, alpha, a, b) for the optimiser (default 1, mean T, 1, 1).
    Fitted: ``params_`` (dict), ``standard_errors_``, ``estimates_``, ``log_likelihood_``, ``converged_``,
    ``n_customers_``.
    """

    param_names = ("r", "alpha", "a", "b")
    name = "bgnbd"

    def __init__(self, start: tuple[float, float, float, float] | None = None):
        self.start = start

    def fit(self, frequency, recency, T, weights=None) -> "BGNBDFitter":
        x, tx, t = check_rft(frequency, recency, T)
        (x, tx, t), w = compress(x, tx, t, weights=None if weights is None else np.asarray(weights, float))
        n = float(w.sum())
        start = self.start or (1.0, max(float(np.average(t, weights=w)), 1e-3), 1.0, 1.0)

        def total_ll(lp):
            v = bgnbd_log_likelihood(np.exp(lp), x, tx, t)
            return float(w @ v)

        def total_grad(lp):
            p = np.exp(lp)
            return _grad(p, x, tx, t, w) * p

        def neg(lp):
            v = total_ll(lp)
            return -v / n if np.isfinite(v) else 1e300

        lp, ok = fit_log_params(neg, np.log(start), lambda lp: -total_grad(lp) / n)
        self._set_fit(lp, total_ll(lp), standard_errors(total_ll, lp, total_grad), ok, int(round(n)))
        return self

    # -- expectations ------------------------------------------------------------------------------
    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)]: expected repeat purchases of a new customer in ``t`` time units after the first purchase."""
        self._require_fit()
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        t = np.asarray(t, float)
        z = t / (alpha + t)
        # (α/(α+t))^r 2F1(r, b; a+b-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)   (Euler)
        inner = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        return (a + b - 1) / (a - 1) * (1 - inner)

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active at T | x, t_x, T); always 1 for customers with no repeat purchase (a BG/NBD property)."""
        self._require_fit()
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, tx, t = check_rft(frequency, recency, T, need_repeat=False)
        with np.errstate(divide="ignore"):
            log_odds = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + t)
                                                                                       - np.log(alpha + tx))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700))), 1.0)

    def expected_purchases_if_alive(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T, still alive at T]."""
        self._require_fit()
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, tx, tt = check_rft(frequency, recency, T, need_repeat=False)
        t = np.asarray(t, float)
        z = t / (alpha + tt + t)
        inner = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - inner)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units (P(alive) × if-alive)."""
        return self.p_alive(frequency, recency, T) * self.expected_purchases_if_alive(t, frequency, recency, T)
