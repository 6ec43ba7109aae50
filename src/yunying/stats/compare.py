"""Compare a treatment arm to control: one entry point for every method.

>>> from yunying.stats import ProportionStats, compare, FrequentistSettings
>>> r = compare(ProportionStats(1000, 100), ProportionStats(1000, 130), FrequentistSettings())
>>> round(r.effect_abs, 3), r.message
(0.03, None)

Degenerate inputs return an :class:`EffectResult` whose ``messages`` name the
problem (``empty_arm``, ``too_few_units``, ``zero_denominator``,
``quantile_unstable``, ``zero_variance``, ``zero_baseline``,
``covariate_constant``); numbers that cannot be computed are ``None``.
"""
from __future__ import annotations

import math
from typing import Union

import numpy as np

from . import messages as M
from .agreeing import critical_of, fieller_relative, score_interval_diff, score_interval_ratio
from .bayesian import BayesianSettings, bayesian_fields
from .effects import Difference, EffectResult, absolute_difference, relative_difference, welch_dof
from .frequentist import FrequentistSettings, frequentist_fields
from .sequential import SequentialSettings, sequential_fields
from .sufficient import (
    ArmEstimate,
    ProportionStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    Stats,
    cuped_theta,
    cuped_variance_reduction,
)

__all__ = ["compare", "difference", "Settings", "method_name"]

Settings = Union[FrequentistSettings, BayesianSettings, SequentialSettings]


def method_name(settings: Settings) -> str:
    if isinstance(settings, BayesianSettings):
        return "bayesian"
    if isinstance(settings, SequentialSettings):
        return "sequential"
    return "frequentist"


def difference(a: ArmEstimate, b: ArmEstimate, *, dof: float | None = None,
               pooled_z: float | None = None) -> Difference:
    d, se = absolute_difference(a.mean, a.variance, a.n, b.mean, b.variance, b.n)
    rel = se_rel = None
    if a.mean != 0:
        with np.errstate(all="ignore"):
            r, sr = relative_difference(a.mean, a.variance, a.n, b.mean, b.variance, b.n)
        rel = float(r) if math.isfinite(r) else None
        se_rel = float(sr) if rel is not None and math.isfinite(sr) and sr > 0 else None
    return Difference(a.n, b.n, a.mean, b.mean, float(d), float(se), rel, se_rel, dof, pooled_z,
                      float(a.variance) / a.n if a.n else None)


def _pooled_z(a: ProportionStats, b: ProportionStats) -> float | None:
    p = (a.sum + b.sum) / (a.n + b.n)
    var = p * (1.0 - p) * (1.0 / a.n + 1.0 / b.n)
    if not var > 0:
        return None
    return (b.mean - a.mean) / math.sqrt(var)


def _cuped_estimates(control: RegressionAdjustedStats, treatment: RegressionAdjustedStats, theta, pre_center,
                     msgs: list[str], extra: dict) -> tuple[ArmEstimate, ArmEstimate]:
    """The two arms' CUPED estimates (theta and pre_center pooled over the two arms unless given)."""
    if theta is None:
        theta = cuped_theta([control, treatment])
    if theta is None:
        msgs.append(M.COVARIATE_CONSTANT)
        theta = 0.0
    if pre_center is None:
        n = control.n + treatment.n
        pre_center = (control.pre_sum + treatment.pre_sum) / n if n else 0.0
    a = control.estimate(theta, pre_center)
    b = treatment.estimate(theta, pre_center)
    extra["theta"] = theta
    if a.n > 0 and b.n > 0:
        vr = cuped_variance_reduction([control, treatment], theta, of_means=True)
        if vr is not None:
            extra["variance_reduction"] = vr
    return a, b


def _welch_dof(a: ArmEstimate, b: ArmEstimate) -> float | None:
    if not a.variance + b.variance > 0:
        return None
    with np.errstate(all="ignore"):
        dof = float(welch_dof(a.variance, a.n, b.variance, b.n))
    return dof if math.isfinite(dof) and dof > 0 else None  # variances too small: normal reference


def compare(
    control: Stats,
    treatment: Stats,
    settings: Settings | None = None,
    *,
    higher_is_better: bool = True,
    theta: float | None = None,
    pre_center: float | None = None,
    interval_alpha: float | None = None,
) -> EffectResult:
    """Compare ``treatment`` with ``control`` (same statistics class).

    For :class:`RegressionAdjustedStats` (CUPED), ``theta`` defaults to the
    pooled slope of the two arms and ``pre_center`` to their pooled covariate
    mean; with several treatment arms pass the values pooled over all arms.
    ``higher_is_better`` only affects the Bayesian ``chance_to_win`` and risks.
    ``interval_alpha``: the frequentist or sequential intervals at level ``1 − interval_alpha`` instead of
    ``1 − settings.alpha`` (the level a multiple-comparison correction used, stats/multiple.py); the test and
    its p-value stay those of ``settings``. Bayesian intervals have level ``1 − 2·alpha`` (stats/bayesian.py).
    """
    settings = settings or FrequentistSettings()
    if type(control) is not type(treatment):
        raise TypeError(f"control and treatment must be the same statistics class, got "
                        f"{type(control).__name__} and {type(treatment).__name__}")
    method = method_name(settings)
    alternative = getattr(settings, "alternative", "two-sided")
    msgs: list[str] = []
    extra: dict = {}

    if isinstance(control, RegressionAdjustedStats):
        a, b = _cuped_estimates(control, treatment, theta, pre_center, msgs, extra)
    else:
        a, b = control.estimate(), treatment.estimate()

    def degenerate(*codes: str, **fields) -> EffectResult:
        return EffectResult(method=method, alpha=settings.alpha, alternative=alternative,
                            messages=tuple(dict.fromkeys([*codes, *msgs])), **extra, **fields)

    for est in (a, b):
        if est.message == M.EMPTY_ARM:
            return degenerate(M.EMPTY_ARM)
    for est in (a, b):
        if est.message == M.ZERO_DENOMINATOR:
            return degenerate(M.ZERO_DENOMINATOR)

    point = {"effect_abs": b.mean - a.mean}
    rel = b.mean / a.mean - 1.0 if a.mean != 0 else math.nan
    if math.isfinite(rel):
        point["effect_rel"] = rel
    else:
        msgs.append(M.ZERO_BASELINE)
    for est in (a, b):
        if est.message in (M.TOO_FEW_UNITS, M.QUANTILE_UNSTABLE):
            return degenerate(est.message, **point)

    dof = _welch_dof(a, b) if isinstance(control, SampleMeanStats) else None
    pooled = _pooled_z(control, treatment) if isinstance(control, ProportionStats) else None
    diff = difference(a, b, dof=dof, pooled_z=pooled)
    if not (diff.se_abs > 0 and math.isfinite(diff.se_abs) and math.isfinite(diff.effect_abs)):
        return degenerate(M.ZERO_VARIANCE, **point)

    if isinstance(settings, BayesianSettings):
        fields, notes = bayesian_fields(diff, settings, higher_is_better)
        msgs.extend(notes)
    elif isinstance(settings, SequentialSettings):
        fields = sequential_fields(diff, settings, interval_alpha)
    else:
        fields = frequentist_fields(diff, settings, interval_alpha)
    if not isinstance(settings, BayesianSettings):
        fields.update(_agreeing_intervals(control, treatment, a, b, fields, settings, alternative))
    if not _finite_fields(fields):
        return degenerate(M.NUMERICAL_PRECISION, **point)
    if "effect_rel" not in fields and diff.effect_rel is not None:
        fields["effect_rel"] = diff.effect_rel  # point estimate only (no usable standard error)
    return EffectResult(method=method, alpha=settings.alpha, alternative=alternative,
                        messages=tuple(dict.fromkeys(msgs)), **extra, **fields)


def _agreeing_intervals(control: Stats, treatment: Stats, a: ArmEstimate, b: ArmEstimate, fields: dict,
                        settings: Settings, alternative: str) -> dict:
    """The intervals that invert the test of the p-value (stats/agreeing.py): the score intervals of a proportion
    under the pooled test, else Fieller's relative interval beside ``Δ ± c·SE`` — so an interval excludes 0
    exactly when p < α, on the absolute and on the relative scale alike."""
    crit = critical_of(fields["effect_abs"], fields["se_abs"], fields["ci_abs"])
    if crit is None:
        return {}
    out: dict = {}
    pooled = (isinstance(settings, FrequentistSettings) and settings.pooled_proportion_test
              and type(control) is ProportionStats)
    if pooled:
        xa, xb = int(round(control.sum)), int(round(treatment.sum))
        out["ci_abs"] = score_interval_diff(xa, control.n, xb, treatment.n, crit, alternative)
        if "ci_rel" in fields and xa > 0:
            out["ci_rel"] = score_interval_ratio(xa, control.n, xb, treatment.n, crit, alternative)
    elif "ci_rel" in fields:
        out["ci_rel"] = fieller_relative(a.mean, a.variance / a.n, b.mean, b.variance / b.n, crit, alternative)
    return out


def _finite_fields(fields: dict) -> bool:
    """No NaN anywhere (infinite interval bounds of one-sided tests are fine)."""
    for k, v in fields.items():
        if k in ("ci_abs", "ci_rel"):
            if any(math.isnan(x) for x in v):
                return False
        elif isinstance(v, float) and not math.isfinite(v):
            return False
    return True
