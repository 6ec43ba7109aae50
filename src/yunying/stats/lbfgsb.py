"""L-BFGS-B with bounds, as ``scipy.optimize.minimize(method="L-BFGS-B")`` computes it, without importing
``scipy.optimize`` (issue 13, start-up: that package loads linprog, shgo, sparse linear algebra … and parses
hundreds of docstrings, a third of a second before the first fit).

:func:`minimize` drives SciPy's own compiled L-BFGS-B routine (``scipy/optimize/_lbfgsb``, loaded from its file
so that the package's ``__init__`` does not run) through the same reverse-communication loop as SciPy's
``_minimize_lbfgsb``, and computes the finite-difference gradients as SciPy's ``approx_derivative`` does (the
same steps, the same arithmetic), so the iterates, the optimum and the flags are the ones SciPy gives, to the
bit: tests/stats/test_lbfgsb.py compares them on bounded problems with an analytic gradient, the default
two-point gradient and the three-point one. Where the compiled routine is not the one this loop was written for
(another SciPy whose ``setulb`` takes other arguments), :func:`minimize` calls SciPy's public function instead:
the same answer, only slower to start.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: the argument list of the C ``setulb`` this module's loop drives (SciPy ≥ 1.15, L-BFGS-B in C)
_SETULB = "setulb(m,x,l,u,nbd,f,g,factr,pgtol,wa,iwa,task,lsave,isave,dsave,maxls,ln_task)"
_EPS = float(np.finfo(np.float64).eps)
_routine: list = []   # [the compiled module or None], loaded on first use


@dataclass(frozen=True)
class Result:
    """What :func:`minimize` found (the fields of SciPy's ``OptimizeResult`` that callers here read)."""

    x: np.ndarray
    fun: float
    success: bool
    nit: int
    nfev: int


def _compiled():
    """SciPy's compiled L-BFGS-B module when its ``setulb`` is the one of :data:`_SETULB`, else None."""
    if not _routine:
        mod = None
        try:
            import scipy

            folder = os.path.join(os.path.dirname(scipy.__file__), "optimize")
            suffixes = importlib.machinery.EXTENSION_SUFFIXES
            name = next((f for f in sorted(os.listdir(folder)) if f.startswith("_lbfgsb.")
                         and any(f.endswith(s) for s in suffixes)), None)
            if name is not None:
                loader = importlib.machinery.ExtensionFileLoader("scipy.optimize._lbfgsb", os.path.join(folder, name))
                spec = importlib.util.spec_from_file_location(loader.name, loader.path, loader=loader)
                candidate = importlib.util.module_from_spec(spec)
                loader.exec_module(candidate)
                if (getattr(candidate.setulb, "__doc__", "") or "").strip().startswith(_SETULB):
                    mod = candidate
        except Exception:   # whatever keeps the file from loading: SciPy's public function does the work
            mod = None
        _routine.append(mod)
    return _routine[0]


class _Objective:
    """f and its gradient at the last point asked for (SciPy's ``ScalarFunction``: one evaluation per new point)."""

    def __init__(self, fun, jac, x0: np.ndarray, lb: np.ndarray, ub: np.ndarray, eps: float):
        self.fun, self.jac, self.lb, self.ub, self.eps = fun, jac, lb, ub, eps
        self.nfev = 0
        self._at(x0)

    def _f(self, x: np.ndarray) -> float:
        fx = self.fun(np.copy(x))
        self.nfev += 1
        return fx if np.isscalar(fx) else np.asarray(fx).item()

    def _at(self, x: np.ndarray) -> None:
        self.x = np.array(x, dtype=np.float64)
        self.f = self._f(self.x)
        self.g = np.atleast_1d(self.jac(np.copy(self.x))) if callable(self.jac) else self._difference(self.x, self.f)

    def __call__(self, x: np.ndarray):
        if not np.array_equal(x, self.x):
            self._at(x)
        return self.f, self.g

    def _difference(self, x0: np.ndarray, f0: float) -> np.ndarray:
        """``approx_derivative(fun, x0, f0=f0, method=…, bounds=(lb, ub))``: an absolute step ``eps`` for the
        default two-point scheme (SciPy's ``jac=None``), a relative one for ``"3-point"``."""
        lo, hi = x0 - self.lb, self.ub - x0
        sign = (x0 >= 0).astype(float) * 2 - 1
        if self.jac == "3-point":
            h = np.abs(_EPS ** (1 / 3) * sign * np.maximum(1.0, np.abs(x0)))
            central = (lo >= h) & (hi >= h)
            one_sided = ~central
            forward = (hi >= lo) & ~central
            backward = (hi < lo) & ~central
            h[forward] = np.minimum(h[forward], 0.5 * hi[forward])
            h[backward] = -np.minimum(h[backward], 0.5 * lo[backward])
            nearest = np.minimum(hi, lo)
            adjusted = ~central & (np.abs(h) <= nearest)
            h[adjusted] = nearest[adjusted]
            one_sided[adjusted] = False
            return np.array([self._three_point(x0, f0, i, h[i], one_sided[i]) for i in range(x0.size)])
        h = np.where(((x0 + self.eps) - x0) == 0, _EPS ** 0.5 * sign * np.maximum(1.0, np.abs(x0)), self.eps)
        out = (x0 + h < self.lb) | (x0 + h > self.ub)
        fits = np.abs(h) <= np.maximum(lo, hi)
        h[out & fits] *= -1
        h[(hi >= lo) & ~fits] = hi[(hi >= lo) & ~fits]
        h[(hi < lo) & ~fits] = -lo[(hi < lo) & ~fits]
        g = np.empty(x0.size)
        for i in range(x0.size):
            x1 = np.copy(x0)
            x1[i] = x0[i] + h[i]
            g[i] = (np.atleast_1d(self._f(x1)) - np.atleast_1d(f0))[0] / ((x0[i] + h[i]) - x0[i])
        return g

    def _three_point(self, x0, f0, i, h, one_sided) -> float:
        x1, x2 = np.copy(x0), np.copy(x0)
        if one_sided:
            x1[i], x2[i] = x0[i] + h, x0[i] + 2 * h
        else:
            x1[i], x2[i] = x0[i] - h, x0[i] + h
        f1, f2 = np.atleast_1d(self._f(x1)), np.atleast_1d(self._f(x2))
        if one_sided:
            return (-3.0 * np.atleast_1d(f0) + 4 * f1 - f2)[0] / (x2[i] - x0[i])
        return (f2 - f1)[0] / (x2[i] - x1[i])


def minimize(fun: Callable[[np.ndarray], float], x0, bounds, *, jac=None, ftol: float = 2.2204460492503131e-09,
             gtol: float = 1e-5, maxcor: int = 10, maxiter: int = 15000, maxfun: int = 15000, maxls: int = 20,
             eps: float = 1e-8) -> Result:
    """Minimise ``fun`` over the box ``bounds`` (a ``(low, high)`` per variable) from ``x0``,
    as ``scipy.optimize.minimize(fun, x0, jac=jac, method="L-BFGS-B", bounds=bounds, options=…)``.

    ``jac``: a function giving the gradient, None (two-point differences with the absolute step ``eps``) or
    ``"3-point"``. A box with an open side or a fixed variable, or another ``jac``, goes to SciPy's function."""
    x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    lb = np.array([-np.inf if b[0] is None else float(b[0]) for b in bounds])
    ub = np.array([np.inf if b[1] is None else float(b[1]) for b in bounds])
    routine = _compiled()
    if routine is None or not (np.all(np.isfinite(lb)) and np.all(np.isfinite(ub)) and np.all(lb < ub)) \
            or not (jac is None or callable(jac) or jac == "3-point"):
        from scipy.optimize import minimize as scipy_minimize   # another SciPy, or a case the loop does not cover

        res = scipy_minimize(fun, x0, jac=jac, method="L-BFGS-B", bounds=list(zip(lb, ub)),
                             options={"ftol": ftol, "gtol": gtol, "maxcor": maxcor, "maxiter": maxiter,
                                      "maxfun": maxfun, "maxls": maxls, "eps": eps})
        return Result(np.asarray(res.x), res.fun, bool(res.success), int(res.nit), int(res.nfev))
    return _run(routine, fun, np.clip(x0, lb, ub), lb, ub, jac, ftol / _EPS, gtol, maxcor, maxiter, maxfun, maxls, eps)


def _run(routine, fun, x0, lb, ub, jac, factr, pgtol, m, maxiter, maxfun, maxls, eps) -> Result:
    """SciPy's ``_minimize_lbfgsb`` loop: ``setulb`` asks for f and g (task 3), reports an iterate (task 1) or
    stops (4: converged; otherwise an iteration/evaluation limit or an abnormal line search)."""
    n = x0.size
    obj = _Objective(fun, jac, x0, lb, ub, eps)
    nbd = np.full(n, 2, dtype=np.int32)   # both bounds
    x = np.array(x0, dtype=np.float64)
    f = np.array(0.0, dtype=np.float64)
    g = np.zeros((n,), dtype=np.float64)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64)
    iwa = np.zeros(3 * n, dtype=np.int32)
    task = np.zeros(2, dtype=np.int32)
    ln_task = np.zeros(2, dtype=np.int32)
    lsave = np.zeros(4, dtype=np.int32)
    isave = np.zeros(44, dtype=np.int32)
    dsave = np.zeros(29, dtype=np.float64)
    nit = 0
    while True:
        g = g.astype(np.float64)
        routine.setulb(m, x, lb, ub, nbd, f, g, factr, pgtol, wa, iwa, task, lsave, isave, dsave, maxls, ln_task)
        if task[0] == 3:
            f, g = obj(x)
        elif task[0] == 1:
            nit += 1
            if nit >= maxiter:
                task[0], task[1] = 5, 504
            elif obj.nfev > maxfun:
                task[0], task[1] = 5, 502
        else:
            break
    return Result(x, f, bool(task[0] == 4), nit, obj.nfev)
