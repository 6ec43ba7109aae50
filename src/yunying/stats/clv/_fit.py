"""What the three customer-value fitters share: input checks, compression, the optimiser, standard errors.

Every model is fitted by maximum likelihood over the logarithms of its parameters (so they stay positive)
with L-BFGS-B from a fixed start, which makes a fit deterministic. Standard errors come from the observed
information: the Hessian of the total log-likelihood at the optimum, taken by central differences of the
gradient in log-parameter space and carried to the natural scale by the delta method
(``se(θ) = θ · se(log θ)``; at an optimum the two scales give the same information).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import ValidationError
from .. import lbfgsb

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter: value, standard error and a 95 % Wald interval (value ± 1.96·se)."""

    value: float
    se: float | None

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.se is None:
            return None
        return (self.value - Z95 * self.se, self.value + Z95 * self.se)

    def to_dict(self) -> dict:
        return {"value": self.value, "se": self.se}


def as_array(name: str, values, n: int | None = None) -> np.ndarray:
    """``values`` as a 1-d float array, finite, of length ``n`` when given."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValidationError(key="clv._fit.expected_1_d_array", name=name, shape=arr.shape)
    if n is not None and arr.size != n:
        raise ValidationError(key="clv._fit.expected_values_one_per", name=name, n=n, size=arr.size)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValidationError(key="clv._fit.value_s_are_missing", name=name, size=bad.size, bad=bad[0],
                              details={"field": name, "rows": bad[:10].tolist()})
    return arr


def _refuse(mask: np.ndarray, message: str, field: str) -> None:
    rows = np.flatnonzero(mask)
    if rows.size:
        raise ValidationError(key="clv._fit.customer_s_first_at", field=field, size=rows.size, message_=message, rows=rows[0],
                              details={"field": field, "rows": rows[:10].tolist()})


def check_rft(frequency, recency, T, *, need_repeat: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check frequency / recency / T of a customer base (time in any one unit) and return them as arrays.

    frequency = repeat purchases (whole, >= 0); recency = time of the last purchase after the first
    (0 when frequency is 0); T = time from the first purchase to the end of the calibration period.
    """
    x = as_array("frequency", frequency)
    n = x.size
    if n == 0:
        raise ValidationError(key="clv._fit.no_customers_model_needs")
    tx = as_array("recency", recency, n)
    t = as_array("T", T, n)
    _refuse(x < 0, "have a negative frequency (repeat purchases must be >= 0)", "frequency")
    _refuse(x != np.round(x), "have a frequency that is not a whole number", "frequency")
    _refuse(tx < 0, "have a negative recency", "recency")
    _refuse(t < 0, "have a negative T (first purchase after the end of the calibration period)", "T")
    _refuse(tx > t * (1 + 1e-12) + 1e-12, "have recency > T (a purchase after the end of the calibration period)",
            "recency")
    _refuse((x == 0) & (tx != 0), "have recency > 0 but no repeat purchase", "recency")
    _refuse((x > 0) & (tx <= 0), "have repeat purchases but recency 0 (a repeat purchase must come later)",
            "recency")
    if need_repeat and not (x > 0).any():
        raise ValidationError(key="clv._fit.none_customers_has_repeat", n=n)
    return x, np.minimum(tx, t), t


def compress(*columns: np.ndarray, weights: np.ndarray | None = None):
    """Identical customers collapsed into one row with a weight (exact: the likelihood is a weighted sum).

    A lexicographic sort and a run split (np.unique(axis=0) is ~30x slower on a million rows)."""
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in sorted_cols])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    return [c[starts].copy() for c in sorted_cols], np.bincount(group, weights=w, minlength=starts.size)


def fit_log_params(neg_ll: Callable[[np.ndarray], float], x0: np.ndarray,
                   grad: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, bool]:
    """Minimise ``neg_ll`` over log-parameters from ``x0`` (fixed, so fits are deterministic).

    A second polish from the first optimum catches L-BFGS-B stopping early on the flat ridges these
    likelihoods have; the better of the two is kept.
    """
    bounds = [(-20.0, 20.0)] * len(x0)
    opts = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20}
    jac = grad if grad is not None else "3-point"
    res = lbfgsb.minimize(neg_ll, x0, bounds, jac=jac, **opts)   # scipy.optimize's, without importing it
    res2 = lbfgsb.minimize(neg_ll, res.x, bounds, jac=jac, **opts)
    best = res2 if res2.fun <= res.fun else res
    ok = bool(np.all(np.isfinite(best.x)) and np.isfinite(best.fun) and np.all(np.abs(best.x) < 19.9))
    return best.x, ok


def standard_errors(total_ll: Callable[[np.ndarray], float], log_params: np.ndarray,
                    total_grad: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Natural-scale standard errors from the inverse observed information (Hessian of the total LL).

    NaN where the information matrix is not positive definite (a parameter the data cannot pin down).
    """
    k = log_params.size
    h = 1e-4
    H = np.empty((k, k))
    if total_grad is not None:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h
            H[i] = (total_grad(log_params + e) - total_grad(log_params - e)) / (2 * h)
    else:
        f0 = total_ll(log_params)
        for i in range(k):
            for j in range(i, k):
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h, h
                if i == j:
                    H[i, i] = (total_ll(log_params + ei) - 2 * f0 + total_ll(log_params - ei)) / h**2
                else:
                    H[i, j] = H[j, i] = (total_ll(log_params + ei + ej) - total_ll(log_params + ei - ej)
                                         - total_ll(log_params - ei + ej) + total_ll(log_params - ei - ej)) / (4 * h * h)
    H = (H + H.T) / 2
    info = -H
    try:
        np.linalg.cholesky(info)
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    return np.exp(log_params) * np.sqrt(np.maximum(np.diag(cov), 0.0))


class Fitter:
    """sklearn-style base: settings in ``__init__``, ``fit()`` returns self, fitted values end in ``_``."""

    param_names: tuple[str, ...] = ()
    name = "model"

    def _require_fit(self) -> None:
        if not hasattr(self, "params_"):
            raise ValidationError(key="clv._fit.fitted_yet_call_fit", __name__=type(self).__name__)

    def __init__(self, start: tuple[float, ...] | None = None):
        self.start = start

    def _mle(self, total_ll: Callable[[np.ndarray], float], start, n: float,
             total_grad: Callable[[np.ndarray], np.ndarray] | None = None) -> "Fitter":
        """Maximise the total log-likelihood (a function of log-parameters), then set the fitted values."""
        def neg(lp):
            v = total_ll(lp)
            return -v / n if np.isfinite(v) else 1e300

        grad = None if total_grad is None else (lambda lp: -total_grad(lp) / n)
        lp, ok = fit_log_params(neg, np.log(np.asarray(self.start or start, dtype=np.float64)), grad)
        self._set_fit(lp, total_ll(lp), standard_errors(total_ll, lp, total_grad), ok, int(round(n)))
        return self

    def _set_fit(self, log_params: np.ndarray, ll: float, se: np.ndarray, converged: bool, n: int) -> None:
        values = np.exp(log_params)
        self.params_ = {k: float(v) for k, v in zip(self.param_names, values)}
        self.standard_errors_ = {k: (None if not np.isfinite(s) else float(s)) for k, s in zip(self.param_names, se)}
        self.estimates_ = {k: Estimate(self.params_[k], self.standard_errors_[k]) for k in self.param_names}
        self.log_likelihood_ = float(ll)
        self.converged_ = converged
        self.n_customers_ = int(n)

    def summary(self) -> dict:
        """Parameters as ``{name: {value, se}}`` plus the log-likelihood (the shape ``yunying clv`` prints)."""
        self._require_fit()
        return {"name": self.name, **{k: e.to_dict() for k, e in self.estimates_.items()},
                "log_likelihood": self.log_likelihood_, "customers": self.n_customers_,
                "converged": self.converged_}

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}()"
        inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({inner}, log_likelihood={self.log_likelihood_:.2f})"
