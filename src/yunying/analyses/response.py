"""Diminishing-returns response curves and a budget allocator (pure NumPy/SciPy).

A channel's expected conversions on a day with spend ``s`` (docs/acquisition.md#budget):

``log``   μ(s) = a · ln(1 + s / h)                    (a: scale, h: spend at which returns halve-ish)
``hill``  μ(s) = a · s^k / (s^k + h^k)                (a: ceiling, h: half-saturation spend, k: shape)

Fitted by Poisson maximum likelihood on days with spend (conversions are counts), with ``a``
profiled out in closed form (â = Σy / Σg(s)) for a robust grid start, then refined.
Standard errors come from the Fisher information ``Jᵀ diag(1/μ) J`` scaled by the Pearson
dispersion (quasi-Poisson, never below 1). Uncertainty of anything derived from a curve comes
from draws of the parameters from their asymptotic normal distribution on the log scale
(a parametric bootstrap).

The allocator splits a daily budget into small increments and gives each to the channel with
the highest marginal value (value per conversion × extra conversions), which equalises marginal
cost across channels for concave curves (the Lagrangian optimum), respecting per-channel caps.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize


class Curve:
    name = "curve"
    params: tuple[str, ...] = ()

    @staticmethod
    def shape(s, theta):  # g(s) with a = 1; theta excludes ln a
        raise NotImplementedError

    @classmethod
    def mu(cls, s, ltheta):
        return math.exp(ltheta[0]) * cls.shape(s, ltheta[1:])

    @classmethod
    def slope(cls, s, ltheta, eps: float = 1e-4):
        s = np.asarray(s, dtype=float)
        d = np.maximum(s * eps, 1e-6)
        return (cls.mu(s + d, ltheta) - cls.mu(np.maximum(s - d, 0.0), ltheta)) / (s + d - np.maximum(s - d, 0.0))


class LogCurve(Curve):
    name = "log"
    params = ("a", "h")

    @staticmethod
    def shape(s, theta):
        return np.log1p(np.asarray(s, dtype=float) / math.exp(theta[0]))

    @classmethod
    def slope(cls, s, ltheta, eps: float = 0.0):
        a, h = math.exp(ltheta[0]), math.exp(ltheta[1])
        return a / (h + np.asarray(s, dtype=float))


class HillCurve(Curve):
    name = "hill"
    params = ("a", "h", "k")

    @staticmethod
    def shape(s, theta):
        s = np.asarray(s, dtype=float)
        h, k = math.exp(theta[0]), math.exp(theta[1])
        x = np.power(np.maximum(s, 0.0) / h, k)
        return x / (1.0 + x)


CURVES = {"log": LogCurve, "hill": HillCurve}


@dataclass
class Fit:
    curve: type
    ltheta: np.ndarray                 # log parameters
    cov: np.ndarray                    # covariance of the log parameters
    n: int
    dispersion: float
    converged: bool
    at_bound: bool
    spend: np.ndarray = field(repr=False, default=None)
    y: np.ndarray = field(repr=False, default=None)

    @property
    def linear_like(self) -> bool:
        """No diminishing returns visible: h beyond 5x the largest observed spend (or at its bound)."""
        return self.at_bound or math.exp(self.ltheta[1]) > 5 * float(np.max(self.spend))

    @property
    def params(self) -> dict:
        return {name: float(math.exp(v)) for name, v in zip(self.curve.params, self.ltheta)}

    @property
    def se(self) -> dict:
        """Delta-method standard errors of the parameters (natural scale)."""
        sd = np.sqrt(np.clip(np.diag(self.cov), 0, None))
        return {name: float(math.exp(v) * s) for name, v, s in zip(self.curve.params, self.ltheta, sd)}

    def mu(self, s, ltheta=None):
        return self.curve.mu(s, self.ltheta if ltheta is None else ltheta)

    def slope(self, s, ltheta=None):
        return self.curve.slope(s, self.ltheta if ltheta is None else ltheta)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Parameter draws (log scale) from the asymptotic normal."""
        cov = (self.cov + self.cov.T) / 2
        try:
            return rng.multivariate_normal(self.ltheta, cov, size=n, method="svd")
        except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - degenerate covariance
            return np.repeat(self.ltheta[None, :], n, axis=0)


def _nll(mu, y):
    mu = np.maximum(mu, 1e-12)
    return float(np.sum(mu - y * np.log(mu)))


def fit_curve(spend, y, curve: str = "log") -> Fit:
    """Poisson ML fit of a response curve to daily (spend, conversions) with spend > 0."""
    C = CURVES[curve]
    s = np.asarray(spend, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = s > 0
    s, y = s[keep], y[keep]
    n = len(s)
    if n < 3 or y.sum() <= 0:
        raise ValueError("need at least 3 days with spend and some conversions")
    lo_h, hi_h = math.log(max(s.min(), 1e-6) / 100.0), math.log(s.max() * 100.0)
    ks = [0.0] if curve == "log" else [math.log(k) for k in (0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0)]

    def profile(rest):
        g = C.shape(s, rest)
        tot = g.sum()
        if tot <= 0:
            return np.inf, -np.inf
        la = math.log(max(y.sum(), 1e-12) / tot)
        return _nll(math.exp(la) * g, y), la

    best = (np.inf, None)
    for lh in np.linspace(lo_h, hi_h, 80):
        for lk in ks:
            rest = np.array([lh] if curve == "log" else [lh, lk])
            v, la = profile(rest)
            if v < best[0]:
                best = (v, np.concatenate([[la], rest]))
    x0 = best[1]
    bounds = [(None, None), (lo_h, hi_h)] + ([] if curve == "log" else [(math.log(0.3), math.log(5.0))])

    def obj(lt):
        return _nll(C.mu(s, lt), y)

    res = minimize(obj, x0, method="L-BFGS-B", bounds=bounds)
    lt = res.x if res.fun <= best[0] else x0
    at_bound = bool(abs(lt[1] - hi_h) < 1e-3 or abs(lt[1] - lo_h) < 1e-3)
    mu = C.mu(s, lt)
    # Fisher information from the Jacobian of mu wrt the log parameters
    p = len(lt)
    J = np.empty((n, p))
    J[:, 0] = mu
    for j in range(1, p):
        e = np.zeros(p)
        e[j] = 1e-5
        J[:, j] = (C.mu(s, lt + e) - C.mu(s, lt - e)) / 2e-5
    W = 1.0 / np.maximum(mu, 1e-9)
    info = J.T @ (J * W[:, None])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(info)
    disp = float(np.sum((y - mu) ** 2 / np.maximum(mu, 1e-9)) / max(n - p, 1))
    disp = max(disp, 1.0)
    return Fit(C, np.asarray(lt, dtype=float), cov * disp, n, disp, bool(res.success), at_bound, s, y)


def allocate(fits: dict, values: dict, daily_total: float, caps: dict, steps: int = 2000,
             floors: dict | None = None) -> dict:
    """Split ``daily_total`` over channels to maximise Σ value_c · μ_c(x_c) with 0 ≤ x_c ≤ cap_c.

    Greedy increments of daily_total/steps to the best marginal gain (optimal for concave curves).
    Returns ``{channel: daily spend}``; what no channel can take (all at their caps) is left out.
    """
    names = list(fits)
    x = {c: float((floors or {}).get(c, 0.0)) for c in names}
    left = daily_total - sum(x.values())
    if left <= 0 or not names:
        return x
    delta = daily_total / steps

    def gain(c):
        if x[c] + delta > caps[c] + 1e-9:
            return None
        return values[c] * float(fits[c].mu(x[c] + delta) - fits[c].mu(x[c]))

    heap = []
    for c in names:
        g = gain(c)
        if g is not None:
            heapq.heappush(heap, (-g, c))
    while left > 1e-9 and heap:
        _, c = heapq.heappop(heap)
        step = min(delta, left, caps[c] - x[c])
        if step <= 1e-12:
            continue
        x[c] += step
        left -= step
        g = gain(c)
        if g is not None:
            heapq.heappush(heap, (-g, c))
    return x
