"""Sample ratio mismatch (SRM) check.

Pearson's chi-square goodness-of-fit test of the observed arm sizes against
the planned split: ``χ² = Σ (O_i - E_i)² / E_i`` with ``E_i = w_i · Σ O``,
``k - 1`` degrees of freedom (``scipy.stats.chisquare``).

Thresholds (documented defaults, settable):

* ``p < threshold`` (0.001, GrowthBook's and Kohavi et al.'s recommendation)
  → ``status="mismatch"``: assignment or logging is broken, results are not
  trustworthy.
* ``p < caution_threshold`` (0.01) → ``status="caution"``.

``warning`` is true for both; report consumers show it before any effect.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import special as _sp  # chi2.sf(x, k) = chdtrc(k, x), without importing scipy.stats

from . import messages as M
from .effects import finite_or_none
from ..errors import Text

__all__ = ["SRMResult", "srm_test", "DEFAULT_SRM_THRESHOLD", "DEFAULT_SRM_CAUTION"]

DEFAULT_SRM_THRESHOLD = 0.001
DEFAULT_SRM_CAUTION = 0.01


@dataclass(frozen=True)
class SRMResult:
    chi2: float | None
    p_value: float | None
    dof: int | None
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    weights: tuple[float, ...]
    threshold: float = DEFAULT_SRM_THRESHOLD
    caution_threshold: float = DEFAULT_SRM_CAUTION
    status: str = "ok"
    message: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def warning(self) -> bool:
        return self.status in ("mismatch", "caution")

    def to_dict(self) -> dict[str, Any]:
        labels = self.labels or tuple(str(i) for i in range(len(self.observed)))
        code = {"mismatch": M.SRM_MISMATCH, "caution": M.SRM_CAUTION,
                "not_testable": M.SRM_NOT_TESTABLE}.get(self.status)
        return {
            "chi2": finite_or_none(self.chi2),
            "p_value": finite_or_none(self.p_value),
            "dof": self.dof,
            "threshold": self.threshold,
            "caution_threshold": self.caution_threshold,
            "status": self.status,
            "warning": self.warning,
            "code": code,
            "message": self.message,
            "observed": {k: int(v) for k, v in zip(labels, self.observed)},
            "expected": {k: finite_or_none(v) for k, v in zip(labels, self.expected)},
            "expected_share": {k: finite_or_none(v) for k, v in zip(labels, self.weights)},
        }


def srm_test(
    observed: Sequence[int],
    weights: Sequence[float] | None = None,
    *,
    threshold: float = DEFAULT_SRM_THRESHOLD,
    caution_threshold: float = DEFAULT_SRM_CAUTION,
    labels: Sequence[str] | None = None,
) -> SRMResult:
    """Chi-square SRM test of ``observed`` counts against planned ``weights``
    (any positive numbers, normalised; equal split when ``None``)."""
    obs = np.asarray(observed, dtype=float)
    k = obs.size
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=float)
    if w.size != k:
        raise ValueError(Text("srm.arms_but_planned_shares", k=k, size=w.size))
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(Text("srm.planned_shares_must_non"))
    w = w / w.sum()
    total = obs.sum()
    exp = w * total
    labs = tuple(str(x) for x in labels) if labels is not None else ()
    base = dict(observed=tuple(int(x) for x in obs), expected=tuple(float(x) for x in exp),
                weights=tuple(float(x) for x in w), threshold=threshold,
                caution_threshold=caution_threshold, labels=labs)
    if k < 2 or total <= 0:
        return SRMResult(None, None, None, status="not_testable",
                         message=M.describe(M.SRM_NOT_TESTABLE), **base)
    if np.any((w == 0) & (obs > 0)):
        return SRMResult(None, 0.0, int(k - 1), status="mismatch",
                         message="units found in an arm planned to get none; " + M.describe(M.SRM_MISMATCH),
                         **base)
    if np.count_nonzero(w) < 2:
        return SRMResult(None, None, None, status="not_testable",
                         message=M.describe(M.SRM_NOT_TESTABLE), **base)
    keep = w > 0
    chi2 = float(np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep]))
    dof = int(keep.sum() - 1)
    p = float(_sp.chdtrc(dof, chi2))
    if p < threshold:
        status, msg = "mismatch", M.describe(M.SRM_MISMATCH)
    elif p < caution_threshold:
        status, msg = "caution", M.describe(M.SRM_CAUTION)
    else:
        status, msg = "ok", None
    if msg:
        msg = f"{msg} (chi-square {chi2:.4f}, p = {p:.4g})"
    return SRMResult(chi2, p, dof, status=status, message=msg, **base)
