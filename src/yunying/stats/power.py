"""Planning: sample size, minimum detectable effect (MDE) and duration.

Normal-approximation formulas for a two-arm comparison with ``n_c`` control
units and ``n_t = r · n_c`` treatment units, significance ``α`` and power
``1 - β`` (``z_α`` is ``z_{1-α/2}`` two-sided, ``z_{1-α}`` one-sided)::

    proportion (baseline p_c, p_t = p_c + δ, p̄ = (p_c + r p_t)/(1 + r)):
        n_c = (z_α sqrt(p̄(1-p̄)(1 + 1/r)) + z_β sqrt(p_c(1-p_c) + p_t(1-p_t)/r))² / δ²
        (pooled variance under H0, unpooled under H1 — Fleiss without continuity
        correction; the power of the pooled z-test the analysis runs; matches
        ``statsmodels.stats.proportion.power_proportions_2indep``)
    mean (standard deviation σ):
        n_c = (z_α + z_β)² σ² (1 + 1/r) / δ²   (``statsmodels NormalIndPower``)

The MDE inverts the same formula (numerically for proportions). Duration is
``ceil(total units / (daily units · traffic fraction))``. With more than one
treatment arm the plan uses a Bonferroni level ``α / (k - 1)`` by default, a
conservative stand-in for the Holm correction the analysis applies.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Sequence

from scipy import optimize as _opt
from scipy import stats as _st

from .effects import finite_or_none
from ..errors import Text

__all__ = [
    "sample_size_proportion",
    "sample_size_mean",
    "power_proportion",
    "power_mean",
    "mde_proportion",
    "mde_mean",
    "duration_days",
    "plan_experiment",
    "PlanResult",
]

Alternative = Literal["two-sided", "one-sided"]


def _z_alpha(alpha: float, alternative: str) -> float:
    return float(_st.norm.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha))


def _check(alpha: float, power: float, ratio: float):
    if not 0 < alpha < 1:
        raise ValueError(Text("bayesian.alpha_must_0_1"))
    if not 0 < power < 1:
        raise ValueError(Text("power.power_must_0_1"))
    if not ratio > 0:
        raise ValueError(Text("power.ratio_treatment_control_units"))


def _prop_sigmas(p_c: float, delta: float, ratio: float) -> tuple[float, float]:
    p_t = p_c + delta
    pbar = (p_c + ratio * p_t) / (1 + ratio)
    s0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
    s1 = math.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / ratio)
    return s0, s1


def _abs_effect(base: float, mde: float, relative: bool) -> float:
    return abs(mde * base) if relative else abs(mde)


def sample_size_proportion(baseline: float, mde: float, *, relative: bool = True, alpha: float = 0.05,
                           power: float = 0.8, alternative: Alternative = "two-sided",
                           ratio: float = 1.0) -> tuple[int, int]:
    """Units ``(control, treatment)`` needed to detect a change of ``mde`` from
    the ``baseline`` rate (relative: 0.05 = +5%; absolute: 0.01 = +1 point)."""
    _check(alpha, power, ratio)
    if not 0 < baseline < 1:
        raise ValueError(Text("power.baseline_rate_must_0"))
    delta = _abs_effect(baseline, mde, relative)
    if not 0 < delta < 1 - baseline:
        raise ValueError(Text("power.mde_must_0_keep"))
    s0, s1 = _prop_sigmas(baseline, delta, ratio)
    n_c = ((_z_alpha(alpha, alternative) * s0 + _st.norm.ppf(power) * s1) / delta) ** 2
    return math.ceil(n_c), math.ceil(n_c * ratio)


def power_proportion(baseline: float, effect_abs: float, n_control: float, *, alpha: float = 0.05,
                     alternative: Alternative = "two-sided", ratio: float = 1.0) -> float:
    """Power of the pooled two-proportion z-test (one tail; the other is negligible)."""
    s0, s1 = _prop_sigmas(baseline, abs(effect_abs), ratio)
    z = (abs(effect_abs) * math.sqrt(n_control) - _z_alpha(alpha, alternative) * s0) / s1
    return float(_st.norm.cdf(z))


def mde_proportion(baseline: float, n_control: float, *, alpha: float = 0.05, power: float = 0.8,
                   alternative: Alternative = "two-sided", ratio: float = 1.0) -> float | None:
    """Smallest absolute increase of the rate detectable with the given power
    (``None`` when even a rate of ~1 is not detectable)."""
    _check(alpha, power, ratio)
    if not 0 < baseline < 1 or not n_control > 0:
        raise ValueError(Text("power.baseline_must_0_1"))
    hi = 1 - baseline - 1e-12
    f = lambda d: power_proportion(baseline, d, n_control, alpha=alpha, alternative=alternative, ratio=ratio) - power
    if f(hi) < 0:
        return None
    return float(_opt.brentq(f, 1e-12, hi, xtol=1e-12))


def sample_size_mean(stddev: float, mde: float, *, mean: float | None = None, relative: bool = False,
                     alpha: float = 0.05, power: float = 0.8, alternative: Alternative = "two-sided",
                     ratio: float = 1.0) -> tuple[int, int]:
    """Units ``(control, treatment)`` to detect a change of ``mde`` in a mean
    with per-unit standard deviation ``stddev`` (``relative`` needs ``mean``)."""
    _check(alpha, power, ratio)
    if not stddev > 0:
        raise ValueError(Text("power.stddev_must_0"))
    if relative and not mean:
        raise ValueError(Text("power.relative_mde_needs_baseline"))
    delta = _abs_effect(mean or 0.0, mde, relative)
    if not delta > 0:
        raise ValueError(Text("power.mde_must_0"))
    n_c = (_z_alpha(alpha, alternative) + _st.norm.ppf(power)) ** 2 * stddev**2 * (1 + 1 / ratio) / delta**2
    return math.ceil(n_c), math.ceil(n_c * ratio)


def power_mean(stddev: float, effect_abs: float, n_control: float, *, alpha: float = 0.05,
               alternative: Alternative = "two-sided", ratio: float = 1.0) -> float:
    se = stddev * math.sqrt((1 + 1 / ratio) / n_control)
    return float(_st.norm.cdf(abs(effect_abs) / se - _z_alpha(alpha, alternative)))


def mde_mean(stddev: float, n_control: float, *, alpha: float = 0.05, power: float = 0.8,
             alternative: Alternative = "two-sided", ratio: float = 1.0) -> float:
    """Smallest absolute change in the mean detectable with the given power."""
    _check(alpha, power, ratio)
    return float((_z_alpha(alpha, alternative) + _st.norm.ppf(power)) * stddev
                 * math.sqrt((1 + 1 / ratio) / n_control))


def duration_days(total_units: float, daily_units: float, traffic_fraction: float = 1.0) -> int:
    """Days to reach ``total_units`` with ``daily_units`` new eligible units a
    day of which ``traffic_fraction`` enter the experiment."""
    if not daily_units > 0 or not 0 < traffic_fraction <= 1:
        raise ValueError(Text("power.daily_traffic_must_0"))
    return max(1, math.ceil(total_units / (daily_units * traffic_fraction)))


@dataclass(frozen=True)
class PlanResult:
    metric_type: str
    alpha: float
    alpha_per_comparison: float
    power: float
    alternative: str
    variants: int
    split: tuple[float, ...]
    baseline: float
    stddev: float | None
    mde_abs: float | None
    mde_rel: float | None
    n_per_variant: tuple[int, ...] | None
    n_total: int | None
    daily_traffic: float | None
    traffic_fraction: float
    days: int | None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (finite_or_none(list(v)) if isinstance(v, tuple) else finite_or_none(v)) for k, v in d.items()}


def plan_experiment(
    *,
    baseline_rate: float | None = None,
    mean: float | None = None,
    stddev: float | None = None,
    mde: float | None = None,
    relative: bool = True,
    n_total: int | None = None,
    days: int | None = None,
    daily_traffic: float | None = None,
    traffic_fraction: float = 1.0,
    variants: int = 2,
    split: Sequence[float] | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    bonferroni: bool = True,
) -> PlanResult:
    """One call for the planner.

    Give the metric (``baseline_rate`` for a conversion rate, or ``mean`` and
    ``stddev``) and either ``mde`` (→ sample size and, with ``daily_traffic``,
    days) or the sample (``n_total``, or ``days`` × ``daily_traffic``) (→ MDE).
    ``split`` are the planned shares, control first (equal by default).
    """
    if variants < 2:
        raise ValueError(Text("power.experiment_needs_at_least"))
    w = [1.0] * variants if split is None else [float(x) for x in split]
    if len(w) != variants or min(w) <= 0:
        raise ValueError(Text("power.split_needs_one_positive"))
    w = [x / sum(w) for x in w]
    a = alpha / (variants - 1) if bonferroni and variants > 2 else alpha
    is_prop = baseline_rate is not None
    if is_prop == (stddev is not None):
        raise ValueError(Text("power.give_either_baseline_rate"))
    base = baseline_rate if is_prop else (mean if mean is not None else 0.0)
    if not is_prop and relative and mde is not None and not mean:
        raise ValueError(Text("power.relative_mde_mean_metric"))
    w_c = w[0]
    ratios = [wt / w_c for wt in w[1:]]
    kw = dict(alpha=a, power=power, alternative=alternative)
    mtype = "proportion" if is_prop else "mean"
    common = dict(metric_type=mtype, alpha=alpha, alpha_per_comparison=a, power=power, alternative=alternative,
                  variants=variants, split=tuple(w), baseline=float(base), stddev=stddev,
                  daily_traffic=daily_traffic, traffic_fraction=traffic_fraction)
    if mde is not None:
        need_total = 0.0
        for r in ratios:
            if is_prop:
                n_c, n_t = sample_size_proportion(baseline_rate, mde, relative=relative, ratio=r, **kw)
            else:
                n_c, n_t = sample_size_mean(stddev, mde, mean=mean, relative=relative, ratio=r, **kw)
            need_total = max(need_total, n_c / w_c, n_t / (r * w_c))
        total = math.ceil(need_total - 1e-9)
        per = tuple(math.ceil(total * x - 1e-9) for x in w)
        d_abs = _abs_effect(base, mde, relative)
        dd = duration_days(sum(per), daily_traffic, traffic_fraction) if daily_traffic else None
        return PlanResult(mde_abs=d_abs, mde_rel=(d_abs / abs(base) if base else None),
                          n_per_variant=per, n_total=sum(per), days=dd, **common)
    if n_total is None:
        if days is None or daily_traffic is None:
            raise ValueError(Text("power.give_mde_n_total"))
        n_total = int(days * daily_traffic * traffic_fraction)
    n_c = n_total * w_c
    worst = None
    for r in ratios:
        if is_prop:
            m = mde_proportion(baseline_rate, n_c, ratio=r, **kw)
        else:
            m = mde_mean(stddev, n_c, ratio=r, **kw)
        if m is None:
            worst = None
            break
        worst = m if worst is None else max(worst, m)
    per = tuple(int(n_total * x) for x in w)
    msg = None if worst is not None else "no effect is detectable with this sample"
    return PlanResult(mde_abs=worst, mde_rel=(worst / abs(base) if worst is not None and base else None),
                      n_per_variant=per, n_total=int(n_total), days=days, message=msg, **common)
