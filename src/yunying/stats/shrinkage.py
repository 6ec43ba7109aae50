"""Empirical-Bayes shrinkage of rates (docs/content.md#shrinkage).

Beta-binomial model: piece ``i`` has ``k_i`` successes (follows, shares …) out of ``n_i`` trials (reads);
its true rate ``p_i ~ Beta(a, b)``, ``k_i | p_i ~ Binomial(n_i, p_i)``. The prior ``(a, b)`` is fitted on all
pieces of a group (an account, a topic):

* ``method="mom"``: method of moments on the pooled rate and the between-piece variance left after the binomial
  noise (Kleinman 1973's weighting by ``n``);
* ``method="mle"``: maximum of the beta-binomial marginal likelihood (a bounded 2-D search on
  ``mean = a/(a+b)`` and ``log(a+b)``).

The posterior of piece ``i`` is ``Beta(a + k_i, b + n_i - k_i)``: its mean shrinks the raw rate ``k_i/n_i``
towards the prior mean with weight ``(a+b)/(a+b+n_i)``, so a piece with 30 reads moves a lot and one with 30,000
hardly at all. Credible intervals are the equal-tailed quantiles of that beta.

``james_stein``: the James–Stein estimator on means with a known common variance, shrinking towards the grand
mean (Efron & Morris 1975, 1977), as the classic check.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import YunyingError

__all__ = ["BetaPrior", "fit_beta_prior", "posterior", "james_stein"]

# The prior's total weight a+b is kept within these bounds (equivalent reads): below, the prior is flat;
# above, all pieces would be forced to one rate.
KAPPA_MIN, KAPPA_MAX = 1e-2, 1e7


@dataclass(frozen=True)
class BetaPrior:
    a: float
    b: float
    method: str
    groups: int        # pieces the prior was fitted on

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def weight(self) -> float:
        """``a + b``: how many trials the prior counts as."""
        return self.a + self.b

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "mean": self.mean, "weight": self.weight, "method": self.method,
                "pieces": self.groups}


def _check(k, n) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if k.shape != n.shape:
        raise YunyingError(key="shrinkage.shrinkage_successes_trials_must")
    if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
        raise YunyingError(key="shrinkage.shrinkage_expected_0_successes")
    return k, n


def _mom(k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Mean and a+b by the method of moments (n-weighted, binomial noise removed)."""
    N = n.sum()
    m = float(k.sum() / N)
    if m <= 0 or m >= 1:
        return m, KAPPA_MAX
    r = k / n
    s2 = float(np.sum(n * (r - m) ** 2))                   # weighted between-piece sum of squares
    g = len(n)
    # E[s2] = m(1-m) [ (g-1) + rho (N - sum n^2/N) ],   rho = 1/(a+b+1)
    denom = N - np.sum(n ** 2) / N
    rho = (s2 / (m * (1 - m)) - (g - 1)) / denom if denom > 0 else 0.0
    if rho <= 0:
        return m, KAPPA_MAX
    kappa = 1.0 / rho - 1.0
    return float(m), float(np.clip(kappa, KAPPA_MIN, KAPPA_MAX))


def _neg_loglik(theta, k, n) -> float:
    from .ufuncs import betaln, expit  # scipy.special's own ufuncs, without that package's import (start-up)

    m = expit(theta[0])
    kappa = np.exp(theta[1])
    a, b = m * kappa, (1 - m) * kappa
    return -float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))


def fit_beta_prior(successes, trials, method: str = "mle") -> BetaPrior:
    """Fit ``Beta(a, b)`` to the rates ``successes / trials`` of several pieces (those with trials > 0)."""
    k, n = _check(successes, trials)
    keep = n > 0
    k, n = k[keep], n[keep]
    if method not in ("mle", "mom"):
        raise YunyingError(key="shrinkage.shrinkage_method_must_mle", method=method)
    if not len(n):
        raise YunyingError(key="shrinkage.shrinkage_no_piece_with")
    m, kappa = _mom(k, n)
    if len(n) < 2 or m <= 0 or m >= 1:  # nothing to learn the spread from: the pooled rate, a weak prior
        m = float(np.clip(m, 0.5 / (n.sum() + 1), 1 - 0.5 / (n.sum() + 1)))
        kappa = 1.0 if len(n) < 2 else KAPPA_MAX
        return BetaPrior(m * kappa, (1 - m) * kappa, method, int(len(n)))
    if method == "mle":
        from . import lbfgsb  # scipy.optimize's L-BFGS-B to the bit, without importing that package
        from .ufuncs import expit, logit  # loaded when a prior is fitted

        start = np.array([logit(m), np.log(kappa)])
        lo, hi = np.log(KAPPA_MIN), np.log(KAPPA_MAX)
        res = lbfgsb.minimize(lambda x: _neg_loglik(x, k, n), start, [(-30, 30), (lo, hi)])
        best = res.x if res.fun <= _neg_loglik(start, k, n) else start
        m, kappa = float(expit(best[0])), float(np.exp(best[1]))
    return BetaPrior(m * kappa, (1 - m) * kappa, method, int(len(n)))


def posterior(successes, trials, prior: BetaPrior, level: float = 0.9) -> dict[str, np.ndarray]:
    """Posterior mean and equal-tailed ``level`` credible interval of each piece's rate, and the raw rate
    (NaN where trials = 0) and the shrinkage weight of the prior."""
    # betaincinv(a, b, q) = scipy.stats.beta.ppf(q, a, b), without loading scipy.stats (nor scipy.special's package)
    from .ufuncs import betaincinv

    k, n = _check(successes, trials)
    a, b = prior.a + k, prior.b + n - k
    tail = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    return {"raw": raw, "mean": a / (a + b), "lo": betaincinv(a, b, tail),
            "hi": betaincinv(a, b, 1 - tail), "prior_weight": prior.weight / (prior.weight + n)}


def james_stein(y, sigma2: float) -> dict[str, np.ndarray | float]:
    """James–Stein estimates of means from observations ``y_i ~ N(theta_i, sigma2)``, shrunk towards the grand
    mean: ``ybar + c (y - ybar)``, ``c = 1 - (k - 3) sigma2 / sum (y - ybar)^2`` (k >= 4; c floored at 0)."""
    y = np.asarray(y, dtype=float)
    if y.size < 4:
        raise YunyingError(key="shrinkage.james_stein_needs_at")
    ybar = float(y.mean())
    ss = float(np.sum((y - ybar) ** 2))
    c = max(0.0, 1.0 - (y.size - 3) * sigma2 / ss) if ss > 0 else 0.0
    return {"estimates": ybar + c * (y - ybar), "shrinkage_factor": c, "grand_mean": ybar}
