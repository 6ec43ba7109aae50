"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader, Hardie & Lee 2005,
"A note on deriving the Pareto/NBD model and related expressions").

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime is exponential
with rate μ ~ Gamma(s, β), so they can drop out at any time (not only after a purchase as in BG/NBD):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A₀ ]

    A₀ = 2F1(r+s+x, s+1; r+s+x+1; (α-β)/(α+t_x)) / (α+t_x)^(r+s+x) - (same at T)     (α ≥ β)
         2F1(r+s+x, r+x; r+s+x+1; (β-α)/(β+t_x)) / (β+t_x)^(r+s+x) - (same at T)     (α < β)

All in logs; for α < β the hypergeometric function is taken through Euler's transformation,
2F1(r+s+x, r+x; r+s+x+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; r+s+x+1; z), so it cannot overflow for large x.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from ._fit import Fitter, check_rft, compress

__all__ = ["ParetoNBDFitter", "pareto_log_likelihood"]


def pairs(x, tx, T):
    """The distinct (x, t_x) and (x, T) pairs and each customer's index among them: A₀'s hypergeometric
    functions depend on nothing else, and a customer base has far fewer pairs than customers."""
    out = []
    for y in (tx, T):
        pos = np.lexsort((y, x))
        xs, ys = x[pos], y[pos]
        new = np.r_[True, (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])]
        inv = np.empty(x.size, dtype=np.int64)
        inv[pos] = np.cumsum(new) - 1
        out.append((xs[new], ys[new], inv))
    return out


def _log_f(params, x, y):
    """log of 2F1(...) / (max(α, β) + y)^(r+s+x), the two halves of A₀."""
    r, alpha, s, beta = params
    rsx = r + s + x
    m = max(alpha, beta)
    z = abs(alpha - beta) / (m + y)
    if alpha >= beta:
        log_f = np.log(hyp2f1(rsx, s + 1, rsx + 1, z))
    else:
        log_f = (1 - r - x) * np.log1p(-z) + np.log(hyp2f1(1.0, s + 1, rsx + 1, z))
    return log_f - rsx * np.log(m + y)


def _log_a0(params, x, tx, T, by_pair=None):
    if by_pair is None:
        l1, l2 = _log_f(params, x, tx), _log_f(params, x, T)
    else:
        (x1, y1, i1), (x2, y2, i2) = by_pair
        l1, l2 = _log_f(params, x1, y1)[i1], _log_f(params, x2, y2)[i2]
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.minimum(l2 - l1, 0.0)
        return np.where(tx < T, l1 + np.log(-np.expm1(diff)), -np.inf)


def pareto_log_likelihood(params, frequency, recency, T, by_pair=None) -> np.ndarray:
    """Per-customer log-likelihood at ``params = (r, alpha, s, beta)``."""
    r, alpha, s, beta = params
    x, tx, t = (np.asarray(v, float) for v in (frequency, recency, T))
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
    second = np.log(s) - np.log(r + s + x) + _log_a0(params, x, tx, t, by_pair)
    return head + np.logaddexp(first, second)


class ParetoNBDFitter(Fitter):
    """Pareto/NBD purchase model fitted by maximum likelihood (numerical gradient).

    Settings: ``start`` — starting values of (r, alpha, s, beta) (default 1, mean T, 1, mean T).
    Fitted: as :class:`~yunying.stats.clv.bgnbd.BGNBDFitter`.
    """

    param_names = ("r", "alpha", "s", "beta")
    name = "pareto"

    def fit(self, frequency, recency, T, weights=None) -> "ParetoNBDFitter":
        x, tx, t = check_rft(frequency, recency, T)
        (x, tx, t), w = compress(x, tx, t, weights=None if weights is None else np.asarray(weights, float))
        n = float(w.sum())
        mean_t = max(float(np.average(t, weights=w)), 1e-3)
        by_pair = pairs(x, tx, t)

        def total_ll(lp):
            with np.errstate(all="ignore"):
                v = float(w @ pareto_log_likelihood(np.exp(lp), x, tx, t, by_pair))
            return v if np.isfinite(v) else -1e300

        return self._mle(total_ll, (1.0, mean_t, 1.0, mean_t), n)

    def _p(self):
        self._require_fit()
        return tuple(self.params_[k] for k in self.param_names)

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] = rβ / (α(s-1)) · [1 - (β/(β+t))^(s-1)] for a new customer (s = 1 taken as its limit)."""
        r, alpha, s, beta = self._p()
        t = np.asarray(t, float)
        return r / alpha * beta * _one_minus_pow_over(s - 1, np.log(beta / (beta + t)))

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active at T | x, t_x, T)."""
        r, alpha, s, beta = params = self._p()
        x, tx, t = check_rft(frequency, recency, T, need_repeat=False)
        log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + t) + s * np.log(beta + t)
                    + _log_a0(params, x, tx, t))
        return 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700)))

    def expected_purchases_if_alive(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in (T, T+t] | alive at T] = (r+x)(β+T)/((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)]."""
        r, alpha, s, beta = self._p()
        x, _, tt = check_rft(frequency, recency, T, need_repeat=False)
        t = np.asarray(t, float)
        return (r + x) / (alpha + tt) * (beta + tt) * _one_minus_pow_over(s - 1, np.log((beta + tt) / (beta + tt + t)))

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] = P(alive) × E[purchases | alive]."""
        return self.p_alive(frequency, recency, T) * self.expected_purchases_if_alive(t, frequency, recency, T)


def _one_minus_pow_over(k: float, log_base) -> np.ndarray:
    """(1 - exp(k · log_base)) / k, equal to -log_base in the limit k → 0 (no cancellation near s = 1)."""
    if abs(k) < 1e-10:
        return -np.asarray(log_base)
    return -np.expm1(k * np.asarray(log_base)) / k
