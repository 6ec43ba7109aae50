"""Effect estimates shared by every method, and the result object.

Kernels here work on floats *and* numpy arrays (so simulations can run
thousands of experiments at once); the dataclass API in
:mod:`yunying.stats.compare` calls them with floats.

Definitions (arm A = control, arm B = treatment, ``v`` per-unit variances)::

    absolute effect   Δ  = m_B - m_A
    SE(Δ)                = sqrt(v_A / n_A + v_B / n_B)
    relative effect   Δr = m_B / m_A - 1
    SE(Δr) (delta method)= sqrt(v_B / (n_B m_A²) + m_B² v_A / (n_A m_A⁴))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "Difference",
    "EffectResult",
    "absolute_difference",
    "relative_difference",
    "welch_dof",
    "finite_or_none",
]


def absolute_difference(mean_a, var_a, n_a, mean_b, var_b, n_b):
    """``(Δ, SE(Δ))`` for independent arms."""
    d = np.asarray(mean_b, dtype=float) - mean_a
    se = np.sqrt(np.asarray(var_a, dtype=float) / n_a + np.asarray(var_b, dtype=float) / n_b)
    return d, se


def relative_difference(mean_a, var_a, n_a, mean_b, var_b, n_b):
    """``(Δr, SE(Δr))`` by the delta method; the caller must ensure ``mean_a != 0``."""
    ma = np.asarray(mean_a, dtype=float)
    mb = np.asarray(mean_b, dtype=float)
    r = mb / ma - 1.0
    var = np.asarray(var_b, dtype=float) / (n_b * ma**2) + mb**2 * np.asarray(var_a, dtype=float) / (n_a * ma**4)
    return r, np.sqrt(var)


def welch_dof(var_a, n_a, var_b, n_b):
    """Welch–Satterthwaite degrees of freedom."""
    a = np.asarray(var_a, dtype=float) / n_a
    b = np.asarray(var_b, dtype=float) / n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a + b) ** 2 / (a**2 / (np.asarray(n_a) - 1) + b**2 / (np.asarray(n_b) - 1))


def finite_or_none(x: Any) -> Any:
    """Map NaN/±inf to ``None`` and numpy scalars to Python numbers."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, (list, tuple)):
        return [finite_or_none(v) for v in x]
    return x


@dataclass(frozen=True)
class Difference:
    """Everything a method needs to know about one control/treatment pair."""

    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float
    effect_abs: float
    se_abs: float
    effect_rel: float | None
    se_rel: float | None
    dof: float | None = None              # Welch df when a t reference is used
    pooled_z: float | None = None         # pooled two-proportion z statistic
    var_mean_control: float | None = None  # variance of the control's mean (v_A / n_A): the Bayesian relative interval

    @property
    def n_total(self) -> int:
        return self.n_control + self.n_treatment


@dataclass(frozen=True)
class EffectResult:
    """Result of comparing one treatment arm to control on one metric.

    Numbers that cannot be computed are ``None`` and ``messages`` says why
    (codes from :mod:`yunying.stats.messages`). Interval bounds that are
    infinite (one-sided tests) are ``None`` too.
    """

    method: str
    alpha: float
    alternative: str = "two-sided"
    effect_abs: float | None = None
    ci_abs: tuple[float | None, float | None] | None = None
    se_abs: float | None = None
    effect_rel: float | None = None
    ci_rel: tuple[float | None, float | None] | None = None
    ci_level: float | None = None   # the level of ci_abs / ci_rel (docs/experiments.md#verdicts-and-intervals)
    se_rel: float | None = None
    p_value: float | None = None
    statistic: float | None = None
    dof: float | None = None
    chance_to_win: float | None = None
    risk: float | None = None
    risk_rel: float | None = None
    risk_control: float | None = None
    theta: float | None = None
    variance_reduction: float | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def message(self) -> str | None:
        return self.messages[0] if self.messages else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "messages":
                out["message"] = self.message
                out["messages"] = list(v)
                continue
            if f.name in ("ci_abs", "ci_rel"):
                out[f.name] = None if v is None else [finite_or_none(v[0]), finite_or_none(v[1])]
                continue
            out[f.name] = finite_or_none(v)
        return out
