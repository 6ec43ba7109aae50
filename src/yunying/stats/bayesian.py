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
* ``ci_abs`` / ``ci_rel`` — the equal-tailed credible intervals whose exclusion of 0 *is* the verdict: with the
  decision threshold ``t = 1 − alpha`` (a win when the chance to win ≥ t, a loss when ≤ 1 − t) their level is
  ``2t − 1 = 1 − 2·alpha`` (90 % by default), from the very posterior of the chance to win.

The relative interval comes from the same posterior: with a flat prior on the control's mean ``m_A`` the joint
posterior of ``(Δ, m_A)`` is normal, its Δ-marginal the ``N(mean, sd²)`` above (whatever the prior on Δ), and
the quantile ``r`` of the ratio ``ρ = m_B/m_A`` solves ``P(m_B − r·m_A ≤ 0) = q``: the Fieller-type set
:func:`~yunying.stats.agreeing.ratio_interval`. At ``ρ = 1`` that event is ``Δ ≤ 0``, so the relative interval
excludes 0 exactly when the absolute one does. With the flat prior it is Fieller's interval at ``z_t``.
``effect_rel`` is the posterior median of ``ρ − 1`` (``mean / E[m_A]``); ``se_rel`` and ``risk_rel`` are
``se_abs`` and ``risk`` over ``|E[m_A]|``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special as _sp

from .agreeing import ratio_interval
from .effects import Difference
from ..errors import Text

__all__ = ["BayesianSettings", "normal_posterior", "chance_to_win", "expected_loss", "bayesian_fields"]


@dataclass(frozen=True)
class BayesianSettings:
    """Settings of the Bayesian analysis.

    alpha: the decision threshold is a chance to win (or to lose) of ``1 - alpha`` (default 0.05: 95 %); the
        credible intervals shown have mass ``1 - 2·alpha`` (90 %), so they exclude 0 exactly at the threshold.
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

    @property
    def threshold(self) -> float:
        """The chance to win that calls a win (``1 − alpha``)."""
        return 1.0 - self.alpha

    @property
    def interval_level(self) -> float:
        """The mass of the credible intervals shown: ``2·threshold − 1``."""
        return 1.0 - 2.0 * self.alpha

    def __post_init__(self):
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(Text("bayes.alpha_below_half", alpha=self.alpha))
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
    zq = float(_sp.ndtri(settings.threshold))  # the central 2t − 1 interval: its ends are the t and 1 − t quantiles
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
        "ci_level": settings.interval_level,
        "chance_to_win": float(chance_to_win(sign * mu, sd)),
        "risk": float(expected_loss(sign * mu, sd)),
        "risk_control": float(expected_loss(-sign * mu, sd)),
    }
    if diff.effect_rel is not None:
        out.update(_relative(diff, mu, sd, zq, out["risk"]))
    return out, notes


def _relative(diff: Difference, mu: float, sd: float, zq: float, risk: float) -> dict:
    """The relative effect from the joint posterior of ``(Δ, m_A)`` (flat prior on ``m_A``; module doc)."""
    se2 = diff.se_abs * diff.se_abs
    s2_a = min(max(diff.var_mean_control or 0.0, 0.0), se2)  # unknown: the control's mean taken as exact
    s2_b = se2 - s2_a
    share = s2_a / se2 if se2 > 0 else 0.0                   # how much of Var(Δ̂) is the control's
    mean_a = diff.mean_control + (diff.effect_abs - mu) * share
    var_a = s2_a * s2_b / se2 + share * share * sd * sd if se2 > 0 else 0.0
    if mean_a == 0:
        return {}
    out = {"effect_rel": mu / mean_a, "se_rel": sd / abs(mean_a), "risk_rel": risk / abs(mean_a),
           "ci_rel": ratio_interval(mu, sd * sd, mean_a, var_a, -share * sd * sd, zq)}
    return out
