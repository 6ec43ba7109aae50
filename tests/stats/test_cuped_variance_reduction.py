"""The one CUPED variance-reduction formula (stats.cuped_variance_reduction) against plain numpy:
the within-arm R² of the regression with arm fixed effects, and 1 − SE²_cuped / SE²_raw."""
from __future__ import annotations

import numpy as np
import pytest

from yunying.stats import RegressionAdjustedStats, cuped_theta, cuped_variance_reduction


def _arms(seed=4):
    rng = np.random.default_rng(seed)
    out = []
    for n, shift in ((400, 0.0), (350, 1.0), (5, 2.0)):
        x = rng.gamma(2.0, 3.0, n)
        y = 0.7 * x + shift + rng.normal(0, 2.0, n)
        out.append((y, x))
    return out


def test_pooled_is_the_within_arm_r_squared():
    data = _arms()
    arms = [RegressionAdjustedStats.from_values(y, x) for y, x in data]
    theta = cuped_theta(arms)
    # OLS of y on x with one intercept per arm
    y = np.concatenate([d[0] for d in data])
    X = np.column_stack([np.concatenate([d[1] for d in data])]
                        + [np.concatenate([np.full(len(d[0]), float(i == j)) for j, d in enumerate(data)])
                           for i in range(len(data))])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert theta == pytest.approx(coef[0], rel=1e-10)
    resid = y - X @ coef
    syy = sum(((d[0] - d[0].mean()) ** 2).sum() for d in data)
    assert cuped_variance_reduction(arms, theta) == pytest.approx(1 - (resid ** 2).sum() / syy, rel=1e-10)


def test_of_means_is_one_minus_the_ratio_of_squared_standard_errors():
    (y1, x1), (y2, x2), _ = _arms(9)
    arms = [RegressionAdjustedStats.from_values(y1, x1), RegressionAdjustedStats.from_values(y2, x2)]
    theta = cuped_theta(arms)
    se_raw = y1.var(ddof=1) / len(y1) + y2.var(ddof=1) / len(y2)
    adj1, adj2 = y1 - theta * x1, y2 - theta * x2
    se_adj = adj1.var(ddof=1) / len(y1) + adj2.var(ddof=1) / len(y2)
    assert cuped_variance_reduction(arms, theta, of_means=True) == pytest.approx(1 - se_adj / se_raw, rel=1e-9)


def test_degenerate_cases_are_none():
    a = RegressionAdjustedStats.from_values([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert cuped_variance_reduction([a, a], None) is None
    empty = RegressionAdjustedStats.from_values([], [])
    assert cuped_variance_reduction([a, empty], 0.5, of_means=True) is None
    flat = RegressionAdjustedStats.from_values([2.0, 2.0], [1.0, 3.0])
    assert cuped_variance_reduction([flat, flat], 0.0) is None
