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

from ._fit import Fitter, check_rft, compress

__all__ = ["BGNBDFitter", "bgnbd_log_likelihood"]


def _per_x(x):
    """Distinct frequencies and each customer's index among them: the functions of x alone (gammaln, digamma)
    are computed once per distinct value, which is most of the work on a large customer base."""
    ux, inv = np.unique(x, return_inverse=True)
    return ux, inv.ravel()


def _terms(params, x, tx, T, per_x=None):
    r, alpha, a, b = params
    ux, inv = per_x if per_x is not None else _per_x(x)
    lead = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha))[inv]
    lbeta = (betaln(a, b + ux) - betaln(a, b))[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(ux > 0, np.log(a) - np.log(np.maximum(b + ux - 1, 1e-300)), -np.inf)[inv]
    rx = r + x
    t1 = lbeta - rx * np.log(alpha + T)
    t2 = drop + lbeta - rx * np.log(alpha + tx)
    return lead, t1, t2


def bgnbd_log_likelihood(params, frequency, recency, T, per_x=None) -> np.ndarray:
    """Per-customer log-likelihood at ``params = (r, alpha, a, b)``."""
    head, t1, t2 = _terms(params, np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float),
                          per_x)
    return head + np.logaddexp(t1, t2)


def _grad(params, x, tx, T, w, per_x=None):
    """Gradient of Σ w·LL with respect to (r, α, a, b)."""
    r, alpha, a, b = params
    ux, inv = per_x if per_x is not None else _per_x(x)
    _, t1, t2 = _terms(params, x, tx, T, (ux, inv))
    p2 = np.exp(t2 - np.logaddexp(t1, t2))  # share of the "dropped out after t_x" term
    p1 = 1.0 - p2
    la_T, la_tx = np.log(alpha + T), np.log(alpha + tx)
    rx = r + x
    wx = np.bincount(inv, weights=w, minlength=ux.size)           # weight per distinct x
    wp2x = np.bincount(inv, weights=w * p2, minlength=ux.size)    # weighted share per distinct x
    g_r = wx @ (digamma(r + ux) - digamma(r) + np.log(alpha)) - (w * p1) @ la_T - (w * p2) @ la_tx
    g_alpha = r / alpha * wx.sum() - (w * p1 * rx) @ (1 / (alpha + T)) - (w * p2 * rx) @ (1 / (alpha + tx))
    dab, dabx = digamma(a + b), digamma(a + b + ux)
    g_a = wx @ (dab - dabx) + wp2x.sum() / a
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_b = np.where(ux > 0, 1 / np.maximum(b + ux - 1, 1e-300), 0.0)
    g_b = wx @ (digamma(b + ux) - dabx - digamma(b) + dab) - wp2x @ inv_b
    return np.array([g_r, g_alpha, g_a, g_b])


class BGNBDFitter(Fitter):
    """BG/NBD purchase model fitted by maximum likelihood.

    Settings: ``start`` — starting values of (r, alpha, a, b) for the optimiser (default 1, mean T, 1, 1).
    Fitted: ``params_`` (dict), ``standard_errors_``, ``estimates_``, ``log_likelihood_``, ``converged_``,
    ``n_customers_``.
    """

    param_names = ("r", "alpha", "a", "b")
    name = "bgnbd"

    def fit(self, frequency, recency, T, weights=None) -> "BGNBDFitter":
        x, tx, t = check_rft(frequency, recency, T)
        (x, tx, t), w = compress(x, tx, t, weights=None if weights is None else np.asarray(weights, float))
        n = float(w.sum())
        per_x = _per_x(x)

        def total_ll(lp):
            v = bgnbd_log_likelihood(np.exp(lp), x, tx, t, per_x)
            return float(w @ v)

        def total_grad(lp):
            p = np.exp(lp)
            return _grad(p, x, tx, t, w, per_x) * p

        return self._mle(total_ll, (1.0, max(float(np.average(t, weights=w)), 1e-3), 1.0, 1.0), n, total_grad)

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
