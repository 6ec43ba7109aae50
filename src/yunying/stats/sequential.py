"""Sequential testing that stays valid under continuous peeking.

Method: the mixture sequential probability ratio test (mSPRT) with a normal
mixing distribution (Robbins 1970; Johari, Pekelis & Walsh 2017, used by
Optimizely), applied to the asymptotically normal effect estimate. Its
duality gives *always-valid* p-values and confidence intervals — identical to
the asymptotic confidence sequences of Waudby-Smith et al. (2023) that
gbstats uses. With ``z = Δ / SE`` and ``N`` the total number of units::

    k       = N ρ²                       (ρ² is set by the tuning below)
    log Λ   = z² k / (2 (1 + k)) - ½ log(1 + k)
    p       = min(1, 1 / Λ)
    CI      = Δ ± SE · sqrt((1 + 1/k) (2 log(1/α) + log(1 + k)))

Tuning: ``ρ² = (-2 log α + log(1 - 2 log α)) / N*`` makes the interval
narrowest when the experiment has ``N*`` units in total (``tuning``, default
5000, gbstats' default). A larger ``N*`` gives wider intervals early and
narrower ones late. The mixing variance is ``τ² = σ² ρ²`` with ``σ²`` the
per-unit variance of the effect (``SE² · N``).

Guarantee: under the null, P(p ever < α at any look) ≤ α, and the interval
covers the true effect at every look simultaneously with probability ≥ 1-α
(asymptotically, as with every normal-approximation test). One-sided
settings keep the two-sided boundary and report the relevant side only,
which is conservative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .effects import Difference
from ..errors import Text

__all__ = ["SequentialSettings", "msprt_rho_squared", "msprt_p_value", "msprt_halfwidth", "sequential_fields"]


@dataclass(frozen=True)
class SequentialSettings:
    """Settings of the always-valid (mSPRT) analysis.

    alpha: level of the always-valid test and intervals (default 0.05).
    tuning: ``N*``, the total sample size at which intervals are tightest
        (default 5000). Set it near the sample you expect at the first look
        that matters.
    alternative: ``"two-sided"`` (default), ``"greater"`` or ``"less"``.
    """

    alpha: float = 0.05
    tuning: float = 5000.0
    alternative: Literal["two-sided", "greater", "less"] = "two-sided"

    def __post_init__(self):
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(Text("bayesian.alpha_must_0_1"))
        if not self.tuning > 0:
            raise ValueError(Text("sequential.tuning_n_must_0"))


def msprt_rho_squared(alpha: float, tuning: float) -> float:
    """Mixing scale ρ² that makes the boundary tightest at ``tuning`` units."""
    la = -2.0 * math.log(alpha)
    return (la + math.log(la + 1.0)) / tuning


def msprt_log_lr(z, n_total, alpha: float, tuning: float):
    k = np.asarray(n_total, dtype=float) * msprt_rho_squared(alpha, tuning)
    z = np.asarray(z, dtype=float)
    return z**2 * k / (2.0 * (1.0 + k)) - 0.5 * np.log1p(k)


def msprt_p_value(z, n_total, alpha: float = 0.05, tuning: float = 5000.0):
    """Always-valid p-value ``min(1, 1/Λ)`` for the statistic ``z = Δ/SE``."""
    return np.minimum(1.0, np.exp(-msprt_log_lr(z, n_total, alpha, tuning)))


def msprt_halfwidth(se, n_total, alpha: float = 0.05, tuning: float = 5000.0, level_alpha: float | None = None):
    """Half-width of the always-valid ``1 - level_alpha`` interval (default ``level_alpha = alpha``) of the mSPRT
    tuned at ``alpha``: it excludes 0 exactly when the always-valid p-value is below ``level_alpha``."""
    k = np.asarray(n_total, dtype=float) * msprt_rho_squared(alpha, tuning)
    level = alpha if level_alpha is None else level_alpha
    return np.asarray(se, dtype=float) * np.sqrt((1.0 + 1.0 / k) * (2.0 * math.log(1.0 / level) + np.log1p(k)))


def _interval(est, half, alternative):
    lo = est - half if alternative in ("two-sided", "greater") else -math.inf
    hi = est + half if alternative in ("two-sided", "less") else math.inf
    return (float(lo), float(hi))


def sequential_fields(diff: Difference, settings: SequentialSettings, interval_alpha: float | None = None) -> dict:
    """Fields of :class:`~yunying.stats.effects.EffectResult` for a non-degenerate difference; intervals at level
    ``1 − interval_alpha`` (default ``1 − settings.alpha``) of the same mSPRT."""
    a, t = settings.alpha, settings.tuning
    level = a if interval_alpha is None else interval_alpha
    z = diff.effect_abs / diff.se_abs
    p = float(msprt_p_value(z, diff.n_total, a, t))
    if settings.alternative == "greater" and z <= 0 or settings.alternative == "less" and z >= 0:
        p = 1.0
    half = float(msprt_halfwidth(diff.se_abs, diff.n_total, a, t, level))
    out = {
        "effect_abs": diff.effect_abs,
        "se_abs": diff.se_abs,
        "ci_abs": _interval(diff.effect_abs, half, settings.alternative),
        "ci_level": 1.0 - level,
        "p_value": p,
        "statistic": float(z),
    }
    if diff.effect_rel is not None and diff.se_rel is not None:
        rhalf = float(msprt_halfwidth(diff.se_rel, diff.n_total, a, t, level))
        out.update(effect_rel=diff.effect_rel, se_rel=diff.se_rel,
                   ci_rel=_interval(diff.effect_rel, rhalf, settings.alternative))
    return out
