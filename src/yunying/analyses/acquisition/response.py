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
from ...errors import Text
from ...stats import lbfgsb


class Curve:
    """A response curve μ(s) = a · g(s), evaluated in log space.

    Parameters are on the log scale (``ltheta = [ln a, ln h, (ln k)]``). When the data show no
    diminishing returns, a and h are not separately identified (only a / h is): their draws then
    run far along that ridge, and a and h alone can be far beyond the float range although μ is
    moderate. So μ = exp(ln a + ln g(s)) with ln g computed directly, never a · g with a = exp(ln a).
    """

    name = "curve"
    params: tuple[str, ...] = ()

    @staticmethod
    def log_shape(log_s, theta):  # ln g(s) given ln s; theta excludes ln a
        raise NotImplementedError

    @classmethod
    def shape(cls, s, theta):  # g(s) with a = 1
        return np.exp(cls.log_shape(_log(s), theta))

    @classmethod
    def mu(cls, s, ltheta):
        with np.errstate(over="ignore"):
            return np.exp(ltheta[0] + cls.log_shape(_log(s), ltheta[1:]))

    @classmethod
    def slope(cls, s, ltheta, eps: float = 1e-4):
        s = np.asarray(s, dtype=float)
        d = np.maximum(s * eps, 1e-6)
        return (cls.mu(s + d, ltheta) - cls.mu(np.maximum(s - d, 0.0), ltheta)) / (s + d - np.maximum(s - d, 0.0))


def _log(s):
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(np.asarray(s, dtype=float), 0.0))  # ln 0 = -inf: g(0) = 0


class LogCurve(Curve):
    name = "log"
    params = ("a", "h")

    @staticmethod
    def log_shape(log_s, theta):
        z = log_s - theta[0]  # ln(s / h)
        with np.errstate(divide="ignore"):
            # ln ln(1 + e^z); for z < -30, ln(1 + e^z) = e^z to 1e-13, so its log is z itself
            return np.where(z < -30, z, np.log(np.logaddexp(0.0, np.maximum(z, -30))))

    @classmethod
    def slope(cls, s, ltheta, eps: float = 0.0):
        # μ'(s) = a / (h + s) = exp(ln a − ln(h + s))
        with np.errstate(over="ignore"):
            return np.exp(ltheta[0] - np.logaddexp(ltheta[1], _log(s)))


class HillCurve(Curve):
    name = "hill"
    params = ("a", "h", "k")

    @staticmethod
    def log_shape(log_s, theta):
        # g = x / (1 + x) with x = (s / h)^k: ln g = −ln(1 + e^(−k ln(s/h)))
        k = np.exp(theta[1])
        with np.errstate(invalid="ignore", over="ignore"):
            z = k * (log_s - theta[0])
        return -np.logaddexp(0.0, -z)


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
    bounds: list = field(repr=False, default=None)   # (low, high) of ln h (and ln k): the fit's box

    @property
    def linear_like(self) -> bool:
        """No diminishing returns visible: h beyond 5x the largest observed spend (or at its bound)."""
        return self.at_bound or math.exp(self.ltheta[1]) > 5 * float(np.max(self.spend))

    @property
    def params(self) -> dict:
        return {name: _exp(v) for name, v in zip(self.curve.params, self.ltheta)}

    @property
    def se(self) -> dict:
        """Delta-method standard errors of the parameters (natural scale; None beyond the float range)."""
        sd = np.sqrt(np.clip(np.diag(self.cov), 0, None))
        return {name: _exp(v + math.log(s)) if s > 0 else 0.0 for name, v, s in zip(self.curve.params, self.ltheta, sd)}

    def mu(self, s, ltheta=None):
        return self.curve.mu(s, self.ltheta if ltheta is None else ltheta)

    def slope(self, s, ltheta=None):
        return self.curve.slope(s, self.ltheta if ltheta is None else ltheta)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Parameter draws (log scale) from the asymptotic normal, truncated to the fit's box.

        h (and k) were fitted inside ``bounds``; draws outside it are not curves the data allow
        (when h sits at its bound the normal is very wide along the a–h ridge), so they are
        redrawn. A well-identified fit has all its draws inside: the first batch is kept as is.
        """
        cov = (self.cov + self.cov.T) / 2
        try:
            out = rng.multivariate_normal(self.ltheta, cov, size=n, method="svd")
        except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - degenerate covariance
            return np.repeat(self.ltheta[None, :], n, axis=0)
        if not self.bounds:
            return out
        lo = np.array([b[0] for b in self.bounds])
        hi = np.array([b[1] for b in self.bounds])

        def inside(d):
            return np.all((d[:, 1:] >= lo) & (d[:, 1:] <= hi), axis=1)

        out = out[inside(out)]
        for _ in range(50):
            if len(out) >= n:
                break
            more = rng.multivariate_normal(self.ltheta, cov, size=n, method="svd")
            out = np.concatenate([out, more[inside(more)]])
        if len(out) < n:  # pragma: no cover - nearly all the mass outside the box: the fit itself
            out = np.concatenate([out, np.repeat(self.ltheta[None, :], n - len(out), axis=0)])
        return out[:n]


def _exp(v: float) -> float | None:
    return math.exp(v) if v < 709.0 else None


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
        raise ValueError(Text("acquisition.response.need_at_least_3"))
    lo_h, hi_h = math.log(max(s.min(), 1e-6) / 100.0), math.log(s.max() * 100.0)
    ks = [0.0] if curve == "log" else [math.log(k) for k in (0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0)]

    def profile(rest):
        g = C.shape(s, rest)
        tot = g.sum()
        if tot <= 0:
            return np.inf, -np.inf
        la = math.log(max(y.sum(), 1e-12) / tot)
        return _nll(C.mu(s, np.concatenate([[la], rest])), y), la

    best = (np.inf, None)
    for lh in np.linspace(lo_h, hi_h, 80):
        for lk in ks:
            rest = np.array([lh] if curve == "log" else [lh, lk])
            v, la = profile(rest)
            if v < best[0]:
                best = (v, np.concatenate([[la], rest]))
    x0 = best[1]
    # ln a is bounded far (e^±50) around its profile start only to keep the search finite
    bounds = [(x0[0] - 50.0, x0[0] + 50.0), (lo_h, hi_h)] + ([] if curve == "log" else [(math.log(0.3), math.log(5.0))])

    def obj(lt):
        return _nll(C.mu(s, lt), y)

    res = lbfgsb.minimize(obj, x0, bounds)  # scipy.optimize's L-BFGS-B, without importing that package
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
    return Fit(C, np.asarray(lt, dtype=float), cov * disp, n, disp, bool(res.success), at_bound, s, y, bounds[1:])


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
    at = {c: float(fits[c].mu(x[c])) for c in names}   # μ_c(x_c)
    ahead = {}                                           # μ_c(x_c + delta), as last computed

    def gain(c):
        if x[c] + delta > caps[c] + 1e-9:
            return None
        ahead[c] = float(fits[c].mu(x[c] + delta))
        return values[c] * (ahead[c] - at[c])

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
        # a full step lands on x + delta: its μ is the one just computed (the same float argument)
        at[c] = ahead[c] if step == delta else float(fits[c].mu(x[c]))
        g = gain(c)
        if g is not None:
            heapq.heappush(heap, (-g, c))
    return x
