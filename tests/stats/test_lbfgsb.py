"""stats/lbfgsb.minimize gives what scipy.optimize.minimize(method="L-BFGS-B") gives, to the bit: the same
iterates (iterations, evaluations), the same optimum and flags, on bounded problems with an analytic gradient,
the default two-point gradient and the three-point one, with bounds active at the optimum and at the start."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import optimize

from yunying.stats import lbfgsb


def rosen(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def poisson_nll(s, y):
    """The shape of the budget's response-curve fit: Poisson deviance of y ~ a·s^k/(h^k + s^k), log parameters."""
    def f(lt):
        a, h, k = np.exp(lt)
        mu = a * s ** k / (h ** k + s ** k)
        return float(np.sum(mu - y * np.log(np.maximum(mu, 1e-300))))
    return f


def _same(mine, ref):
    assert mine.x.tobytes() == np.asarray(ref.x, dtype=float).tobytes(), (mine.x, ref.x)
    assert float(mine.fun) == float(ref.fun)
    assert (mine.success, mine.nit, mine.nfev) == (bool(ref.success), ref.nit, ref.nfev)


CASES = [
    # (objective, gradient, x0, bounds, options)
    (rosen, rosen_grad, [-1.2, 1.0, 0.5], [(-2.0, 2.0)] * 3, {}),
    (rosen, None, [-1.2, 1.0, 0.5], [(-2.0, 2.0)] * 3, {}),
    (rosen, "3-point", [-1.2, 1.0, 0.5], [(-2.0, 2.0)] * 3, {"ftol": 1e-15, "gtol": 1e-9, "maxcor": 20}),
    # the optimum (1, 1, 1) outside the box: bounds active at the end
    (rosen, None, [0.1, 0.2, 0.3], [(-0.5, 0.7), (-1.0, 0.4), (0.0, 3.0)], {}),
    (rosen, "3-point", [0.1, 0.2, 0.3], [(-0.5, 0.7), (-1.0, 0.4), (0.0, 3.0)], {}),
    (rosen, rosen_grad, [0.1, 0.2, 0.3], [(-0.5, 0.7), (-1.0, 0.4), (0.0, 3.0)], {"maxcor": 20}),
    # a start outside the box (clipped) and on a bound: one-sided differences at the edge
    (rosen, None, [5.0, -3.0, 0.7], [(-0.5, 0.7), (-1.0, 0.4), (0.0, 3.0)], {}),
    (rosen, "3-point", [0.7, -1.0, 0.0], [(-0.5, 0.7), (-1.0, 0.4), (0.0, 3.0)], {}),
    # few iterations allowed: stopped by the limit, not converged
    (rosen, None, [-1.2, 1.0, 0.5], [(-2.0, 2.0)] * 3, {"maxiter": 3}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_as_scipy(case):
    fun, jac, x0, bounds, opts = CASES[case]
    ref = optimize.minimize(fun, np.array(x0), jac=jac, method="L-BFGS-B", bounds=bounds, options=opts)
    _same(lbfgsb.minimize(fun, np.array(x0), bounds, jac=jac, **opts), ref)
    if "maxiter" in opts:
        assert not ref.success


@pytest.mark.parametrize("seed", range(6))
def test_same_as_scipy_on_response_curves(seed):
    """Random spend / registration days fitted with the budget's settings (default tolerances, 2-point gradient)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(50, 5000, 40)
    y = rng.poisson(30 * s ** 1.3 / (800 ** 1.3 + s ** 1.3)).astype(float)
    f = poisson_nll(s, y)
    x0 = np.array([np.log(30.0) + rng.normal(0, 0.3), np.log(600.0), 0.1])
    bounds = [(x0[0] - 50, x0[0] + 50), (np.log(1.0), np.log(5e5)), (np.log(0.3), np.log(5.0))]
    ref = optimize.minimize(f, x0, method="L-BFGS-B", bounds=bounds)
    _same(lbfgsb.minimize(f, x0, bounds), ref)


def test_no_scipy_optimize_import():
    """The point of the module: a fit without loading scipy.optimize."""
    code = ("import sys, numpy as np; from yunying.stats import lbfgsb; "
            "r = lbfgsb.minimize(lambda x: float(((x - 0.3) ** 2).sum()), np.zeros(2), [(-1, 1)] * 2); "
            "assert np.allclose(r.x, 0.3) and r.success; print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_other_cases_go_to_scipy():
    """An unbounded variable is passed to SciPy's own function (same answer)."""
    ref = optimize.minimize(rosen, np.array([-1.2, 1.0]), method="L-BFGS-B", bounds=[(None, None), (-2, 2)])
    got = lbfgsb.minimize(rosen, np.array([-1.2, 1.0]), [(None, None), (-2, 2)])
    _same(got, ref)


def test_without_the_compiled_routine_scipy_does_the_work(monkeypatch):
    """Another SciPy (a routine with other arguments, or none to load): the same answer from SciPy's function."""
    monkeypatch.setattr(lbfgsb, "_routine", [None])
    ref = optimize.minimize(rosen, np.array([-1.2, 1.0, 0.5]), method="L-BFGS-B", bounds=[(-2.0, 2.0)] * 3)
    _same(lbfgsb.minimize(rosen, np.array([-1.2, 1.0, 0.5]), [(-2.0, 2.0)] * 3), ref)
