"""Fixed-horizon frequentist tests.

* Sample means: Welch's unequal-variance t-test (t reference with
  Welch–Satterthwaite df), identical to ``scipy.stats.ttest_ind(equal_var=False)``.
* Proportions: the p-value comes from the classic *pooled* two-proportion
  z-test (``statsmodels.stats.proportion.proportions_ztest``); the interval
  here is the unpooled Wald interval, which :func:`yunying.stats.compare`
  replaces by the score interval that inverts the pooled test (stats/agreeing.py).
* Ratios, CUPED-adjusted means and quantiles: z-test on the (delta-method)
  standard error.
* The relative effect uses the same reference distribution with the
  delta-method standard error of ``m_B / m_A - 1``.

``alternative`` follows scipy: ``"two-sided"``, ``"greater"`` (treatment
larger) or ``"less"``. One-sided intervals have an infinite bound, reported
as ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special as _sp

from .effects import Difference
from ..errors import Text

__all__ = ["FrequentistSettings", "critical_value", "p_value", "confidence_interval", "frequentist_fields"]

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class FrequentistSettings:
    """Settings of the fixed-horizon test.

    alpha: significance level; intervals have coverage ``1 - alpha``. Default 0.05.
    alternative: ``"two-sided"`` (default), ``"greater"`` or ``"less"``.
    use_t: Welch t reference for sample-mean metrics (default ``True``);
        normal reference otherwise.
    pooled_proportion_test: p-value of proportion metrics from the pooled
        two-proportion z-test (default ``True``); otherwise from the unpooled
        (Wald) statistic, which then matches the interval exactly.
    """

    alpha: float = 0.05
    alternative: Alternative = "two-sided"
    use_t: bool = True
    pooled_proportion_test: bool = True

    def __post_init__(self):
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(Text("bayesian.alpha_must_0_1"))
        if self.alternative not in ("two-sided", "greater", "less"):
            raise ValueError(Text("frequentist.alternative_must_two_sided"))


def _sf(x, dof=None):
    """Survival function of N(0,1) (``dof=None``) or Student t; vectorised."""
    x = np.asarray(x, dtype=float)
    return _sp.ndtr(-x) if dof is None else _sp.stdtr(dof, -x)


def _ppf(q, dof=None):
    return _sp.ndtri(q) if dof is None else _sp.stdtrit(dof, q)


def critical_value(alpha, alternative: str = "two-sided", dof=None):
    """Critical value of the reference distribution (normal when ``dof`` is None)."""
    q = 1.0 - np.asarray(alpha, dtype=float) / (2.0 if alternative == "two-sided" else 1.0)
    return _ppf(q, dof)


def p_value(statistic, alternative: str = "two-sided", dof=None):
    """p-value of a z (``dof=None``) or t statistic; vectorised."""
    statistic = np.asarray(statistic, dtype=float)
    if alternative == "two-sided":
        return 2.0 * _sf(np.abs(statistic), dof)
    if alternative == "greater":
        return _sf(statistic, dof)
    return _sf(-statistic, dof)


def confidence_interval(estimate, se, alpha, alternative: str = "two-sided", dof=None):
    """``(low, high)``; the open side of a one-sided interval is ±inf."""
    crit = critical_value(alpha, alternative, dof)
    estimate = np.asarray(estimate, dtype=float)
    half = crit * np.asarray(se, dtype=float)
    low = estimate - half if alternative in ("two-sided", "greater") else np.full_like(estimate, -np.inf)
    high = estimate + half if alternative in ("two-sided", "less") else np.full_like(estimate, np.inf)
    return low, high


def frequentist_fields(diff: Difference, settings: FrequentistSettings, interval_alpha: float | None = None) -> dict:
    """Fields of :class:`~yunying.stats.effects.EffectResult` for a non-degenerate difference; intervals at level
    ``1 − interval_alpha`` (default ``1 − settings.alpha``)."""
    level_alpha = settings.alpha if interval_alpha is None else interval_alpha
    dof = diff.dof if settings.use_t else None
    if diff.pooled_z is not None and settings.pooled_proportion_test:
        stat = diff.pooled_z
        p = p_value(stat, settings.alternative, None)
    else:
        stat = diff.effect_abs / diff.se_abs
        p = p_value(stat, settings.alternative, dof)
    lo, hi = confidence_interval(diff.effect_abs, diff.se_abs, level_alpha, settings.alternative, dof)
    out = {
        "effect_abs": diff.effect_abs,
        "se_abs": diff.se_abs,
        "ci_abs": (float(lo), float(hi)),
        "ci_level": 1.0 - level_alpha,
        "p_value": float(p),
        "statistic": float(stat),
        "dof": dof,
    }
    if diff.effect_rel is not None and diff.se_rel is not None:
        rlo, rhi = confidence_interval(diff.effect_rel, diff.se_rel, level_alpha, settings.alternative, dof)
        out.update(effect_rel=diff.effect_rel, se_rel=diff.se_rel, ci_rel=(float(rlo), float(rhi)))
    return out
