"""Sufficient statistics: the boundary between data engines and statistics.

Each arm of an experiment is summarised by a handful of sums that any SQL
engine can compute in one ``GROUP BY`` (``COUNT(*)``, ``SUM(x)``,
``SUM(x*x)``, ``SUM(x*y)``). The classes here are small frozen dataclasses;
all except :class:`QuantileStats` support ``a + b`` so strata (days, shards,
countries) merge exactly.

Every class offers :meth:`estimate`, which reduces it to an
:class:`ArmEstimate` — ``(n, mean, variance)`` with ``Var(mean) = variance / n``
— the only thing the comparisons in :mod:`yunying.stats.compare` need.

Conventions (gbstats-compatible):

* ``SampleMeanStats.variance`` is the sample variance (``ddof=1``).
* ``ProportionStats.variance`` is ``p (1 - p)`` (the Bernoulli variance, which
  is what the classic two-proportion z-test and Wald interval use).
* ``RatioStats.variance`` is the delta-method variance of ``M / D`` per unit.
* Degenerate inputs never raise and never produce NaN: means of empty arms are
  ``0.0`` and ``ArmEstimate.message`` names the problem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
from scipy import special as _sp  # norm.ppf = ndtri: scipy.stats (most of a second to import) not needed

from . import messages as M
from ..errors import Text

__all__ = [
    "ArmEstimate",
    "SampleMeanStats",
    "ProportionStats",
    "RatioStats",
    "RegressionAdjustedStats",
    "QuantileStats",
    "Stats",
    "cuped_theta",
    "quantile_ranks",
]


def _var(n: float, s: float, ss: float) -> float:
    """Sample variance (ddof=1) from n, sum and sum of squares, clipped at 0."""
    if n <= 1:
        return 0.0
    v = (ss - s * s / n) / (n - 1)
    return v if v > 0 else 0.0


def _cov(n: float, sx: float, sy: float, sxy: float) -> float:
    if n <= 1:
        return 0.0
    return (sxy - sx * sy / n) / (n - 1)


def _finite_array(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


@dataclass(frozen=True)
class ArmEstimate:
    """One arm reduced to what a two-sample test needs.

    ``mean`` is the arm's estimator (CUPED-adjusted for regression-adjusted
    metrics), ``variance`` the per-unit variance so that the standard error of
    ``mean`` is ``sqrt(variance / n)``. ``message`` names a degeneracy
    (``empty_arm``, ``too_few_units``, ``zero_denominator``,
    ``quantile_unstable``) or is ``None``.
    """

    n: int
    mean: float
    variance: float
    message: str | None = None

    @property
    def se(self) -> float:
        return math.sqrt(self.variance / self.n) if self.n > 0 and self.variance > 0 else 0.0


def _arm_message(n: int) -> str | None:
    if n <= 0:
        return M.EMPTY_ARM
    if n < 2:
        return M.TOO_FEW_UNITS
    return None


@dataclass(frozen=True)
class SampleMeanStats:
    """A numeric metric per unit: ``n``, ``sum`` and ``sum_squares`` of the values."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        return _var(self.n, self.sum, self.sum_squares)

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)

    def estimate(self) -> ArmEstimate:
        return ArmEstimate(self.n, self.mean, self.variance, _arm_message(self.n))

    def __add__(self, other: "SampleMeanStats") -> "SampleMeanStats":
        if not isinstance(other, SampleMeanStats):
            return NotImplemented
        return SampleMeanStats(self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares)

    @classmethod
    def from_values(cls, values) -> "SampleMeanStats":
        x = _finite_array(values)
        return cls(int(x.size), float(x.sum()), float((x * x).sum()))


@dataclass(frozen=True)
class ProportionStats:
    """A 0/1 metric per unit: ``n`` units of which ``sum`` converted."""

    n: int
    sum: float

    @property
    def sum_squares(self) -> float:
        return self.sum

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        p = self.mean
        v = p * (1.0 - p)
        return v if v > 0 else 0.0

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)

    def estimate(self) -> ArmEstimate:
        return ArmEstimate(self.n, self.mean, self.variance, _arm_message(self.n))

    def __add__(self, other: "ProportionStats") -> "ProportionStats":
        if not isinstance(other, ProportionStats):
            return NotImplemented
        return ProportionStats(self.n + other.n, self.sum + other.sum)

    @classmethod
    def from_values(cls, values) -> "ProportionStats":
        x = _finite_array(values)
        if x.size and not np.all((x == 0) | (x == 1)):
            raise ValueError(Text("sufficient.proportionstats_from_values_needs"))
        return cls(int(x.size), float(x.sum()))


@dataclass(frozen=True)
class RatioStats:
    """A ratio of two per-unit sums, e.g. revenue per session: ``sum(M) / sum(D)``.

    The unit of randomisation is the unit (user), not the denominator event,
    so the variance is the delta-method variance
    ``Var(M)/D̄² - 2 Cov(M,D) M̄/D̄³ + Var(D) M̄²/D̄⁴`` per unit.
    """

    n: int
    m_sum: float
    m_sum_squares: float
    d_sum: float
    d_sum_squares: float
    m_d_sum_products: float

    @property
    def mean(self) -> float:
        return self.m_sum / self.d_sum if self.d_sum != 0 else 0.0

    @property
    def m_mean(self) -> float:
        return self.m_sum / self.n if self.n > 0 else 0.0

    @property
    def d_mean(self) -> float:
        return self.d_sum / self.n if self.n > 0 else 0.0

    @property
    def covariance(self) -> float:
        return _cov(self.n, self.m_sum, self.d_sum, self.m_d_sum_products)

    @property
    def variance(self) -> float:
        if self.n <= 1 or self.d_sum == 0:
            return 0.0
        mm, dm = self.m_mean, self.d_mean
        vm = _var(self.n, self.m_sum, self.m_sum_squares)
        vd = _var(self.n, self.d_sum, self.d_sum_squares)
        v = vm / dm**2 - 2.0 * self.covariance * mm / dm**3 + vd * mm**2 / dm**4
        return v if v > 0 else 0.0

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)

    def estimate(self) -> ArmEstimate:
        msg = _arm_message(self.n)
        if msg is None and self.d_sum == 0:
            msg = M.ZERO_DENOMINATOR
        return ArmEstimate(self.n, self.mean, self.variance, msg)

    def __add__(self, other: "RatioStats") -> "RatioStats":
        if not isinstance(other, RatioStats):
            return NotImplemented
        return RatioStats(
            self.n + other.n,
            self.m_sum + other.m_sum,
            self.m_sum_squares + other.m_sum_squares,
            self.d_sum + other.d_sum,
            self.d_sum_squares + other.d_sum_squares,
            self.m_d_sum_products + other.m_d_sum_products,
        )

    @classmethod
    def from_values(cls, numerator, denominator) -> "RatioStats":
        m = np.asarray(numerator, dtype=float).ravel()
        d = np.asarray(denominator, dtype=float).ravel()
        keep = np.isfinite(m) & np.isfinite(d)
        m, d = m[keep], d[keep]
        return cls(int(m.size), float(m.sum()), float((m * m).sum()), float(d.sum()),
                   float((d * d).sum()), float((m * d).sum()))


@dataclass(frozen=True)
class RegressionAdjustedStats:
    """A metric (``post``) with a pre-period covariate (``pre``) for CUPED.

    CUPED (Deng et al. 2013) estimates each arm's mean as
    ``Ȳ - θ (X̄ - μ_X)`` where ``θ`` is the pooled within-arm regression slope
    of Y on X (see :func:`cuped_theta`) and ``μ_X`` the pooled covariate mean.
    The per-unit variance becomes ``Var(Y) + θ² Var(X) - 2 θ Cov(X, Y)``,
    i.e. ``Var(Y)(1 - ρ²)`` at the optimal θ.
    """

    n: int
    post_sum: float
    post_sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    post_pre_sum_products: float

    @property
    def post(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.post_sum, self.post_sum_squares)

    @property
    def pre(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def mean(self) -> float:
        """The unadjusted post-period mean."""
        return self.post.mean

    @property
    def covariance(self) -> float:
        return _cov(self.n, self.post_sum, self.pre_sum, self.post_pre_sum_products)

    @property
    def correlation(self) -> float:
        vx, vy = self.pre.variance, self.post.variance
        if vx <= 0 or vy <= 0:
            return 0.0
        return max(-1.0, min(1.0, self.covariance / math.sqrt(vx * vy)))

    def adjusted_variance(self, theta: float) -> float:
        v = self.post.variance + theta**2 * self.pre.variance - 2.0 * theta * self.covariance
        return v if v > 0 else 0.0

    def estimate(self, theta: float = 0.0, pre_center: float | None = None) -> ArmEstimate:
        """The CUPED estimate of this arm's mean, centred at ``pre_center``
        (the pooled covariate mean; this arm's own mean when ``None``)."""
        center = self.pre.mean if pre_center is None else pre_center
        mean = self.post.mean - theta * (self.pre.mean - center)
        return ArmEstimate(self.n, mean, self.adjusted_variance(theta), _arm_message(self.n))

    def unadjusted(self) -> SampleMeanStats:
        return self.post

    def __add__(self, other: "RegressionAdjustedStats") -> "RegressionAdjustedStats":
        if not isinstance(other, RegressionAdjustedStats):
            return NotImplemented
        return RegressionAdjustedStats(
            self.n + other.n,
            self.post_sum + other.post_sum,
            self.post_sum_squares + other.post_sum_squares,
            self.pre_sum + other.pre_sum,
            self.pre_sum_squares + other.pre_sum_squares,
            self.post_pre_sum_products + other.post_pre_sum_products,
        )

    @classmethod
    def from_values(cls, post, pre) -> "RegressionAdjustedStats":
        y = np.asarray(post, dtype=float).ravel()
        x = np.asarray(pre, dtype=float).ravel()
        keep = np.isfinite(x) & np.isfinite(y)
        y, x = y[keep], x[keep]
        return cls(int(y.size), float(y.sum()), float((y * y).sum()), float(x.sum()),
                   float((x * x).sum()), float((x * y).sum()))


def cuped_variance_reduction(arms: Sequence[RegressionAdjustedStats], theta: float | None, *,
                             of_means: bool = False) -> float | None:
    """The share of variance CUPED removes: ``1 − Σ w·Var_adj(θ) / Σ w·Var(Y)`` over arms.

    ``of_means=False``: w = n − 1, i.e. ``1 − Σ residual SS / Σ S_YY`` — the within-arm R² of the
    pooled regression (``cuped.variance_reduction`` of a metric). ``of_means=True``: w = 1/n, i.e.
    ``1 − SE²_cuped / SE²_raw`` of a comparison of arm means. ``None`` without a slope, with an
    empty arm in a comparison, or when Y does not vary.
    """
    if theta is None:
        return None
    arms = [a for a in arms if a.n > 0]
    if of_means and len(arms) < 2:
        return None
    w = [1.0 / a.n if of_means else a.n - 1.0 for a in arms]
    raw = sum(wi * a.post.variance for wi, a in zip(w, arms))
    adj = sum(wi * a.adjusted_variance(theta) for wi, a in zip(w, arms))
    return 1.0 - adj / raw if raw > 0 else None


def cuped_theta(arms: Sequence[RegressionAdjustedStats]) -> float | None:
    """Pooled within-arm OLS slope of post on pre (regression with arm fixed
    effects), ``Σ Sxy / Σ Sxx`` over arms. ``None`` when the covariate does not
    vary within arms (then no adjustment is possible)."""
    sxy = sxx = 0.0
    for a in arms:
        if a.n <= 1:
            continue
        sxy += a.post_pre_sum_products - a.post_sum * a.pre_sum / a.n
        sxx += a.pre_sum_squares - a.pre_sum**2 / a.n
    scale = sum(abs(a.pre_sum_squares) for a in arms) or 1.0
    if sxx <= 1e-12 * scale:
        return None
    return sxy / sxx


def quantile_ranks(n, q: float, z: float = 1.959963984540054):
    """1-based ranks ``(lower, upper)`` of the order statistics that bracket
    the ``q``-quantile with ~``1 - 2Φ(-z)`` coverage (normal approximation to
    the binomial count of values below the quantile). Works on arrays of ``n``.
    Ranks outside ``[1, n]`` mean the sample is too small."""
    n = np.asarray(n, dtype=float)
    half = z * np.sqrt(n * q * (1.0 - q))
    lower = np.floor(n * q - half).astype(int)
    upper = np.ceil(n * q + half).astype(int) + 1
    return lower, upper


@dataclass(frozen=True)
class QuantileStats:
    """A quantile metric (e.g. the median or p90 of a per-unit value).

    ``estimate_value`` is the sample quantile; ``lower`` and ``upper`` are the
    order statistics that bracket it with confidence ``1 - 2Φ(-z)`` (a
    distribution-free interval), so its standard error is
    ``(upper - lower) / (2 z)`` (the approach of gbstats, Eppo and Statsig).
    Quantiles do not add across strata: there is no ``+``.
    """

    n: int
    quantile: float
    value: float
    lower: float
    upper: float
    z: float = 1.959963984540054
    stable: bool = True

    @property
    def mean(self) -> float:
        """The quantile estimate (named ``mean`` so every stats class has one)."""
        return self.value

    @property
    def se(self) -> float:
        return max(self.upper - self.lower, 0.0) / (2.0 * self.z)

    @property
    def variance(self) -> float:
        return self.se**2 * self.n

    def estimate(self) -> ArmEstimate:
        msg = _arm_message(self.n)
        if msg is None and not self.stable:
            msg = M.QUANTILE_UNSTABLE
        return ArmEstimate(self.n, self.value, self.variance, msg)

    @classmethod
    def from_values(cls, values, quantile: float, alpha: float = 0.05) -> "QuantileStats":
        if not 0.0 < quantile < 1.0:
            raise ValueError(Text("sufficient.quantile_must_strictly_between"))
        x = np.sort(_finite_array(values))
        n = int(x.size)
        z = float(_sp.ndtri(1.0 - alpha / 2.0))
        if n == 0:
            return cls(0, quantile, 0.0, 0.0, 0.0, z, False)
        value = float(np.quantile(x, quantile))
        lo, hi = quantile_ranks(n, quantile, z)
        lo, hi = int(lo), int(hi)
        stable = lo >= 1 and hi <= n
        lo, hi = min(max(lo, 1), n), min(max(hi, 1), n)
        return cls(n, quantile, value, float(x[lo - 1]), float(x[hi - 1]), z, stable)


Stats = Union[SampleMeanStats, ProportionStats, RatioStats, RegressionAdjustedStats, QuantileStats]
