"""Bayesian analysis with a Gaussian prior on the effect (gbstats' engine).

Model: the estimated effect is approximately ``N(true effect, SE²)``; the
prior on the *relative* effect is ``N(prior_mean, prior_stddev²)``, which on
the absolute scale is ``N(prior_mean·|m_A|, (prior_stddev·|m_A|)²)``. With the
default flat (improper) prior the posterior is ``N(Δ, SE²)``; with a proper
prior it is the precision-weighted combination::

    precision = 1/SE² + 1/s0²,   mean = (Δ/SE² + μ0/s0²) / precision

Reported, with ``X`` the posterior of the effect in the *good* direction
(``+Δ`` when higher is better, ``-Δ`` otherwise):

* ``chance_to_win``  = P(X > 0)
* ``risk``           = E[max(0, -X)] — expected loss, in metric units, of
  shipping the treatment (``risk_rel`` on the relative scale)
* ``risk_control``   = E[max(0, X)] — expected loss of keeping control
* ``ci_abs`` / ``ci_rel`` — equal-tailed ``1 - alpha`` credible intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special as _sp

from .effects import Difference
from ..errors import Text

__all__ = ["BayesianSettings", "normal_posterior", "chance_to_win", "expected_loss", "bayesian_fields"]


@dataclass(frozen=True)
class BayesianSettings:
    """Settings of the Bayesian analysis.

    alpha: credible intervals have mass ``1 - alpha`` (default 0.05).
    prior_mean: prior mean of the relative effect (default 0: no lift expected).
    prior_stddev: prior standard deviation of the relative effect (default 0.3,
        i.e. lifts beyond ±60% are a priori unlikely). Used only when
        ``proper_prior`` is true.
    proper_prior: use the Gaussian prior (default ``False``: flat prior, so
        the posterior is driven by the data alone — gbstats' default).
    """

    alpha: float = 0.05
    prior_mean: float = 0.0
    prior_stddev: float = 0.3
    proper_prior: bool = False

    def __post_init__(self):
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(Text("bayesian.alpha_must_0_1"))
        if self.proper_prior and not self.prior_stddev > 0:
            raise ValueError(Text("bayesian.prior_stddev_must_0"))


def normal_posterior(estimate, se, prior_mean=0.0, prior_stddev=None):
    """Posterior ``(mean, sd)`` of a normal likelihood and normal prior
    (``prior_stddev=None``: flat prior). Vectorised."""
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    if prior_stddev is None:
        return estimate, se
    # precision weighting written scale-free (hypot) so tiny or huge scales do not overflow
    h = np.hypot(se, prior_stddev)
    w = (prior_stddev / h) ** 2          # weight of the data: s0² / (se² + s0²)
    mean = w * estimate + (1.0 - w) * prior_mean
    return mean, se * (prior_stddev / h)


def chance_to_win(mean, sd):
    """P(X > 0) for X ~ N(mean, sd²)."""
    return _sp.ndtr(np.asarray(mean, dtype=float) / sd)


def expected_loss(mean, sd):
    """E[max(0, -X)] for X ~ N(mean, sd²): ``sd φ(mean/sd) - mean Φ(-mean/sd)``."""
    mean = np.asarray(mean, dtype=float)
    z = mean / sd
    return sd * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) - mean * _sp.ndtr(-z)


def bayesian_fields(diff: Difference, settings: BayesianSettings, higher_is_better: bool = True) -> tuple[dict, list[str]]:
    """Fields of :class:`~yunying.stats.effects.EffectResult` and extra messages."""
    notes: list[str] = []
    sign = 1.0 if higher_is_better else -1.0
    zq = float(_sp.ndtri(1.0 - settings.alpha / 2.0))
    base = abs(diff.mean_control)
    if settings.proper_prior and base > 0:
        prior_abs = (settings.prior_mean * base, settings.prior_stddev * base)
    else:
        prior_abs = (0.0, None)
        if settings.proper_prior:
            notes.append("prior_ignored")
    mu, sd = normal_posterior(diff.effect_abs, diff.se_abs, *prior_abs)
    mu, sd = float(mu), float(sd)
    out = {
        "effect_abs": mu,
        "se_abs": sd,
        "ci_abs": (mu - zq * sd, mu + zq * sd),
        "chance_to_win": float(chance_to_win(sign * mu, sd)),
        "risk": float(expected_loss(sign * mu, sd)),
        "risk_control": float(expected_loss(-sign * mu, sd)),
    }
    if diff.effect_rel is not None and diff.se_rel is not None:
        prior_rel = (settings.prior_mean, settings.prior_stddev) if settings.proper_prior else (0.0, None)
        rmu, rsd = normal_posterior(diff.effect_rel, diff.se_rel, *prior_rel)
        rmu, rsd = float(rmu), float(rsd)
        out.update(
            effect_rel=rmu,
            se_rel=rsd,
            ci_rel=(rmu - zq * rsd, rmu + zq * rsd),
            risk_rel=float(expected_loss(sign * rmu, rsd)),
        )
    return out, notes
