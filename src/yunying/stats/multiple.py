"""Multiple-comparison adjustments of p-values.

* ``holm``: Holm (1979) step-down, controls the family-wise error rate.
  ``p̃_(i) = max_{j≤i} min(1, (m - j + 1) p_(j))``.
* ``bh``: Benjamini–Hochberg (1995) step-up, controls the false discovery rate.
  ``p̃_(i) = min_{j≥i} min(1, m p_(j) / j)``.
* ``none``: unchanged.

``None`` entries (tests that could not be computed) are skipped and stay
``None``; ``m`` counts only the computed p-values. Matches
``statsmodels.stats.multitest.multipletests`` (``holm`` / ``fdr_bh``).

The intervals that agree with the adjusted verdicts (:func:`interval_alpha`): with ``R`` of the ``m`` adjusted
p-values below α, every comparison of the family gets its interval at level ``1 − α'``, and an interval excludes 0
exactly when its comparison is rejected (docs/experiments.md#several-variants-and-metrics-多重比較):

* ``holm``: ``α' = α/(m − R)`` when ``R < m``, ``α`` when ``R = m`` — the rejected p-values are below
  ``α/(m − R + 1)``, the first kept one is at least ``α/(m − R)`` and the others larger;
* ``bh``: ``α' = R·α/m`` for ``R ≥ 1`` (the false-coverage-rate intervals of Benjamini & Yekutieli 2005),
  ``α/m`` for ``R = 0`` — the rejected p-values are below ``R·α/m``, a kept ``p_(j)`` at least ``j·α/m``;
* ``none``: ``α``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from ..errors import Text

__all__ = ["holm", "benjamini_hochberg", "adjust_p_values", "interval_alpha", "CORRECTIONS"]

CORRECTIONS = ("holm", "bh", "none")


def _in_order(p, adjust) -> np.ndarray:
    """``adjust(sorted p-values, m)`` (the adjusted values in the same ascending order), put back in p's order."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    out = np.empty(m)
    out[order] = adjust(p[order], m)
    return out


def holm(p) -> np.ndarray:
    return _in_order(p, lambda s, m: np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * s)))


def benjamini_hochberg(p) -> np.ndarray:
    return _in_order(p, lambda s, m: np.minimum(1.0, np.minimum.accumulate((m * s / np.arange(1, m + 1))[::-1])[::-1]))


def adjust_p_values(p_values: Sequence[float | None], method: str = "holm") -> list[float | None]:
    if method not in CORRECTIONS:
        raise ValueError(Text("multiple.unknown_correction_use_one", method=method, CORRECTIONS=', '.join(CORRECTIONS)))
    idx = [i for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    out: list[float | None] = [None] * len(p_values)
    vals = np.array([p_values[i] for i in idx], dtype=float)
    if method == "holm":
        vals = holm(vals)
    elif method == "bh":
        vals = benjamini_hochberg(vals)
    for i, v in zip(idx, vals):
        out[i] = float(v)
    return out


def interval_alpha(p_adjusted: Sequence[float | None], alpha: float, method: str = "holm") -> float:
    """``α'``: the intervals of a family adjusted by ``method`` at level ``1 − α'`` exclude 0 exactly for the
    comparisons whose adjusted p-value is below ``alpha`` (module doc).

    >>> p = [0.004, 0.02, 0.5]
    >>> adjust_p_values(p, "holm"), round(interval_alpha(adjust_p_values(p, "holm"), 0.05, "holm"), 6)
    ([0.012, 0.04, 0.5], 0.05)
    >>> adjust_p_values(p, "bh"), round(interval_alpha(adjust_p_values(p, "bh"), 0.05, "bh"), 6)
    ([0.012, 0.03, 0.5], 0.033333)
    """
    if method not in CORRECTIONS:
        raise ValueError(Text("multiple.unknown_correction_use_one", method=method, CORRECTIONS=', '.join(CORRECTIONS)))
    done = [p for p in p_adjusted if p is not None and np.isfinite(p)]
    m, r = len(done), sum(p < alpha for p in done)
    if method == "none" or m == 0:
        return alpha
    if method == "holm":
        return alpha / (m - r) if r < m else alpha
    return r * alpha / m if r else alpha / m
