"""did_panel on a sparse panel (``zero_units``: units left out because every value of theirs is 0, as the campaign
DiD leaves out the users without any purchase) = did_panel on the whole panel with their rows of zeros written out —
every number of the result, on random sparse panels (many units, few units with binned leads, a group with no
listed row at all); the old dense route is the oracle."""
from __future__ import annotations

import numpy as np
import pytest

from util import assert_same_rows
from yunying.errors import SpecError
from yunying.stats.causal import did_panel


def _sparse(seed: int, n: int, t: int, rate: float, share: float):
    rng = np.random.default_rng(seed)
    y = rng.poisson(rate, (n, t)) * rng.gamma(2.0, 30.0, (n, t))
    d = rng.random(n) < share
    return y, d


def _split(y, d):
    """(listed rows, their groups, (treated, control) zero units) of a whole panel, in a shuffled row order."""
    listed = np.flatnonzero(y.any(axis=1))
    listed = np.random.default_rng(1).permutation(listed)
    zero = ~y.any(axis=1)
    return y[listed], d[listed], (int((zero & d).sum()), int((zero & ~d).sum()))


@pytest.mark.parametrize("seed,n,t,t0,rate,share", [
    (1, 4000, 35, 28, 0.004, 0.45),     # the demo's shape: most users never buy
    (2, 600, 12, 6, 0.05, 0.3),
    (3, 12, 40, 30, 0.02, 0.5),          # few units: the leads are binned (m / 2 bins)
    (4, 300, 8, 3, 0.2, 0.6),
])
def test_zero_units_equal_the_whole_panel(seed, n, t, t0, rate, share):
    y, d = _sparse(seed, n, t, rate, share)
    p = np.arange(t) >= t0
    rows, dd, zero = _split(y, d)
    assert sum(zero) > 0 and rows.shape[0] < n
    whole, sparse = did_panel(y, d, p), did_panel(rows, dd, p, zero_units=zero)
    assert_same_rows(sparse.to_dict(), whole.to_dict())
    assert sparse.n_units == n and sparse.n_treated == int(d.sum())


def test_a_group_of_zeros_only():
    # no control unit has any value: the control group is all zero units (means 0, variances 0)
    rng = np.random.default_rng(7)
    y = np.zeros((50, 10))
    d = np.arange(50) < 20
    y[:20] = rng.poisson(0.5, (20, 10))
    p = np.arange(10) >= 6
    whole, sparse = did_panel(y, d, p), did_panel(y[:20], d[:20], p, zero_units=(0, 30))
    assert_same_rows(sparse.to_dict(), whole.to_dict())
    assert sparse.control_pre_mean == 0 and sparse.n_control == 30


def test_no_zero_units_is_the_dense_route_bit_for_bit():
    y, d = _sparse(5, 300, 10, 0.3, 0.5)
    p = np.arange(10) >= 7
    assert did_panel(y, d, p).to_dict() == did_panel(y, d, p, zero_units=(0, 0)).to_dict()


def test_counts_include_the_zero_units():
    y = np.array([[1.0, 2.0], [0.5, 3.0]])
    with pytest.raises(SpecError, match="one treated unit use synthetic_control"):
        did_panel(y, [True, False], [False, True], zero_units=(0, 5))      # one treated unit in all
    with pytest.raises(SpecError, match="treated and control"):
        did_panel(y, [True, True], [False, True])
    r = did_panel(y, [True, True], [False, True], zero_units=(0, 2))      # the control group: two units of zeros
    assert r.n_control == 2 and r.estimate == pytest.approx(((2 - 1) + (3 - 0.5)) / 2)
