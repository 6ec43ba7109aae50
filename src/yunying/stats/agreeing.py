"""Intervals that agree with the test: an interval shown excludes 0 exactly when its test's p-value is below α.

The rule (docs/experiments.md#verdicts-and-intervals): each interval inverts the test that gives the p-value.

* **Absolute effect, proportions, pooled test** (the default frequentist test of a conversion): the p-value is the
  pooled two-proportion z-test, which is the score test of ``p_B − p_A = 0``. Its interval is the score interval
  (Farrington–Manning / Miettinen–Nurminen without the n/(n−1) factor, ``statsmodels``'
  ``confint_proportions_2indep(method="score", correction=False)``): the differences δ the score test at δ does
  not reject. At δ = 0 the score statistic *is* the pooled z, so the interval excludes 0 exactly when p < α.
* **Relative effect, proportions, pooled test**: the score interval of the ratio ``p_B / p_A`` (Koopman;
  ``compare="ratio"``), minus 1; at ratio 1 its statistic is again the pooled z.
* **Relative effect, any other test** (Welch t, z on a delta-method standard error, the always-valid mSPRT):
  Fieller's interval for ``m_B / m_A`` with the same critical value ``c`` as the absolute interval
  ``Δ ± c·SE``: the ratios ρ with ``(m_B − ρ m_A)² ≤ c² (s_B² + ρ² s_A²)`` (``s²``: the variance of an arm's
  mean). At ρ = 1 that is ``|Δ| ≤ c·SE``, so it excludes 0 exactly when the absolute interval does. When the
  control mean itself is within the noise of 0 (``m_A² ≤ c² s_A²``) the set is unbounded: ``(-inf, inf)``.

The delta-method interval ``Δr ± c·SE(Δr)`` this replaces is wider on the side of the larger arm and could cross 0
while the test and the absolute interval did not (see the worked example in docs/experiments.md).
"""
from __future__ import annotations

import math

__all__ = ["fieller_relative", "ratio_interval", "score_interval_diff", "score_interval_ratio"]

INF = math.inf


def ratio_interval(mu_d: float, var_d: float, mu_a: float, var_a: float, cov_da: float, crit: float,
                   alternative: str = "two-sided") -> tuple[float, float]:
    """The values u of ``ρ − 1`` (ρ = m_B / m_A, m_B = m_A + Δ) with ``(mu_d − u·mu_a)² ≤ crit²·Var(Δ − u·m_A)``.

    ``(Δ, m_A)`` is jointly normal: means ``mu_d, mu_a``, variances ``var_d, var_a``, covariance ``cov_da``.
    ``Δ − u·m_A = m_B − ρ·m_A`` is normal, so this is the set of ratios its test at ``crit`` does not reject, and
    at u = 0 the test is the one of Δ itself: the interval excludes 0 exactly when ``|mu_d| > crit·sqrt(var_d)``.
    Fieller's interval is the case ``var_d = s_A² + s_B², var_a = s_A², cov_da = −s_A²``; the Bayesian relative
    interval (stats/bayesian.py) the joint posterior's. When ``mu_a`` is within ``crit`` standard errors of 0 the
    set is unbounded: ``(-inf, inf)``.

    >>> lo, hi = ratio_interval(0.03, 0.0002, 0.10, 0.0001, -0.0001, 1.959964)
    >>> round(lo, 4), round(hi, 4)
    (0.02, 0.6838)
    """
    a = mu_a * mu_a - crit * crit * var_a
    if not a > 0:
        return -INF, INF
    half_b = mu_d * mu_a - crit * crit * cov_da
    # (B/2)² − AC, written without the cancelling terms: ≥ 0 whenever a > 0 and the covariance is valid
    disc = crit * crit * (mu_a * mu_a * var_d + mu_d * mu_d * var_a - 2.0 * mu_d * mu_a * cov_da
                          - crit * crit * (var_a * var_d - cov_da * cov_da))
    root = math.sqrt(max(disc, 0.0))
    u1, u2 = (half_b - root) / a, (half_b + root) / a
    if alternative == "two-sided":
        return u1, u2
    lower = (alternative == "greater") == (mu_a > 0)  # the bound that is finite
    return (u1, INF) if lower else (-INF, u2)


def fieller_relative(mean_a: float, s2_a: float, mean_b: float, s2_b: float, crit: float,
                     alternative: str = "two-sided") -> tuple[float, float]:
    """Fieller's interval of ``mean_b / mean_a − 1`` (``s2_*``: the variances of the two means).

    >>> lo, hi = fieller_relative(0.10, 0.0001, 0.13, 0.0001, 1.959964)
    >>> round(lo, 4), round(hi, 4)
    (0.02, 0.6838)
    """
    return ratio_interval(mean_b - mean_a, s2_a + s2_b, mean_a, s2_a, -s2_a, crit, alternative)


def _constrained_diff(x1, n1, x0, n0, delta):
    """The proportions (p1, p0) that maximise the likelihood under p1 − p0 = delta (Miettinen–Nurminen)."""
    n, x = n1 + n0, x1 + x0
    if delta == 0:
        return x / n, x / n
    t3 = n
    t2 = (n1 + 2 * n0) * delta - n - x
    t1 = (x0 * delta - n - 2 * x0) * delta + x
    t0 = x0 * delta * (1 - delta)
    q = (t2 / (3 * t3)) ** 3 - t1 * t2 / (6 * t3 ** 2) + t0 / (2 * t3)
    p = math.copysign(math.sqrt(max((t2 / (3 * t3)) ** 2 - t1 / (3 * t3), 0.0)), q)
    ang = (math.pi + math.acos(max(-1.0, min(1.0, q / p ** 3)))) / 3 if p else math.pi / 3
    p0 = 2 * p * math.cos(ang) - t2 / (3 * t3)
    return p0 + delta, p0


def _constrained_ratio(x1, n1, x0, n0, ratio):
    """(p1, p0) maximising the likelihood under p1 = ratio · p0."""
    n, x = n1 + n0, x1 + x0
    if ratio == 1:
        return x / n, x / n
    a = n * ratio
    b = -(n1 * ratio + x1 + n0 + x0 * ratio)
    p0 = (-b - math.sqrt(max(b * b - 4 * a * x, 0.0))) / (2 * a)
    return p0 * ratio, p0


def _invert(stat, estimate: float, lo: float, hi: float, crit: float, alternative: str) -> tuple[float, float]:
    """The values v in (lo, hi) where the score statistic ``stat(v)`` (falling in v) stays within ±crit."""
    def bound(side: int) -> float:
        edge = lo if side < 0 else hi
        f = (lambda v: stat(v) - crit) if side < 0 else (lambda v: stat(v) + crit)
        at = f(edge)
        if at != at or (at <= 0 if side < 0 else at >= 0):  # never rejected up to the edge
            return edge
        from scipy import optimize  # loaded on first use: its import is a fifth of a second of start-up

        return optimize.brentq(f, edge, estimate, xtol=1e-12, rtol=1e-12)

    low = bound(-1) if alternative in ("two-sided", "greater") else -INF
    high = bound(+1) if alternative in ("two-sided", "less") else INF
    return low, high


def _score_z(diff_stat: float, var: float) -> float:
    return diff_stat / math.sqrt(var) if var > 0 else math.copysign(INF, diff_stat) if diff_stat else 0.0


def score_interval_diff(x_a: int, n_a: int, x_b: int, n_b: int, crit: float,
                        alternative: str = "two-sided") -> tuple[float, float]:
    """Score interval of ``p_B − p_A`` (B: treatment) at critical value ``crit``.

    >>> lo, hi = score_interval_diff(100, 1000, 130, 1000, 1.959964)
    >>> round(lo, 4), round(hi, 4)
    (0.002, 0.058)
    """
    p1, p0 = x_b / n_b, x_a / n_a

    def z(delta: float) -> float:
        q1, q0 = _constrained_diff(x_b, n_b, x_a, n_a, delta)
        return _score_z(p1 - p0 - delta, q1 * (1 - q1) / n_b + q0 * (1 - q0) / n_a)

    eps = 1e-9
    return _invert(z, p1 - p0, -1 + eps, 1 - eps, crit, alternative)


def score_interval_ratio(x_a: int, n_a: int, x_b: int, n_b: int, crit: float,
                         alternative: str = "two-sided") -> tuple[float, float]:
    """Score interval of ``p_B / p_A − 1`` (needs ``x_a > 0``; an infinite bound is ``inf``).

    >>> lo, hi = score_interval_ratio(100, 1000, 130, 1000, 1.959964)
    >>> round(lo, 4), round(hi, 4)
    (0.0179, 0.6613)
    """
    p1, p0 = x_b / n_b, x_a / n_a

    def z(ratio: float) -> float:
        q1, q0 = _constrained_ratio(x_b, n_b, x_a, n_a, ratio)
        return _score_z(p1 - ratio * p0, q1 * (1 - q1) / n_b + ratio * ratio * q0 * (1 - q0) / n_a)

    est = p1 / p0
    top = max(1e6, 1e3 * est)
    lo, hi = _invert(z, est, 1e-9, top, crit, alternative)
    return lo - 1.0, (INF if hi >= top else hi - 1.0)


def critical_of(effect: float, se: float, ci: tuple[float, float]) -> float | None:
    """The critical value an interval ``effect ± c·se`` was built with (its finite side)."""
    for bound in ci:
        if bound is not None and math.isfinite(bound) and se > 0:
            return abs(bound - effect) / se
    return None
