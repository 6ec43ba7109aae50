"""Multiple-comparison adjustments of p-values.

* ``holm``: Holm (1979) step-down, controls the family-wise error rate.
  ``p̃_(i) = max_{j≤i} min(1, (m - j + 1) p_(j))``.
* ``bh``: Benjamini–Hochberg (1995) step-up, controls the false discovery rate.
  ``p̃_(i) = min_{j≥i} min(1, m p_(j) / j)``.
* ``none``: unchanged.

``None`` entries (tests that could not be computed) are skipped and stay
``None``; ``m`` counts only the computed p-values. Matches
``statsmodels.stats.multitest.multipletests`` (``holm`` / ``fdr_bh``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from ..errors import Text

__all__ = ["holm", "benjamini_hochberg", "adjust_p_values", "CORRECTIONS"]

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
