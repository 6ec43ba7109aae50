"""The plain-Python inverse incomplete gamma (stats/gamma_inverse.py, used for the CAC interval so that no SciPy
loads at start-up) against SciPy's ``gammainc`` / ``gammaincinv``, over the shapes a CAC interval meets
(fractional credited payers, none to tens of thousands) and the tails."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from yunying.stats.gamma_inverse import gammainc, gammaincinv

SHAPES = [1e-3, 0.05, 0.5, 1.0, 1.5, 2.0, 3.7, 10.0, 25.5, 100.0, 731.25, 5000.0, 40000.0]
PS = [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999, 1 - 1e-9]


@pytest.mark.parametrize("a", SHAPES)
def test_inverse_matches_scipy(a):
    for p in PS:
        got, exp = gammaincinv(a, p), float(special.gammaincinv(a, p))
        assert math.isclose(got, exp, rel_tol=1e-11, abs_tol=1e-300), (a, p, got, exp)


def test_forward_matches_scipy_on_random_points():
    rng = np.random.default_rng(7)
    for a, x in zip(rng.uniform(0.01, 300, 400), rng.uniform(0, 600, 400)):
        assert math.isclose(gammainc(a, x), float(special.gammainc(a, x)), rel_tol=1e-12, abs_tol=1e-15)


def test_edges():
    assert gammaincinv(2.5, 0.0) == 0.0
    assert math.isclose(gammaincinv(1.0, 0.975), -math.log(0.025), rel_tol=1e-14)  # P(1, x) = 1 - e^-x
    for bad in [(0.0, 0.5), (-1.0, 0.5), (2.0, 1.0), (2.0, -0.1)]:
        with pytest.raises(ValueError):
            gammaincinv(*bad)
