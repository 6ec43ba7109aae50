"""Synthetic control (Abadie, Diamond & Hainmueller 2010) with in-space placebo inference.

Weights ``w`` (one per donor, ``w >= 0``, ``sum(w) = 1``) minimise

* without covariates: the pre-period squared gap ``sum_pre (y1_t - Y0_t' w)**2``;
* with covariates (predictors ``X1``, ``X0``, each row scaled by its standard
  deviation across all units): ``(X1 - X0 w)' V (X1 - X0 w)`` where the
  diagonal ``V`` (``v >= 0``, ``sum(v) = 1``) is chosen, as in ADH, to minimise
  the pre-period outcome MSPE of the resulting ``w(V)`` (Nelder–Mead from
  equal weights and seeded random starts; the best found is kept).

Inference is by in-space placebos: every donor in turn is treated as if it
were the treated unit, with the other donors as its pool. The p-value is the
rank of the treated unit's post/pre RMSPE ratio among all ``J + 1`` ratios;
the interval for the average post-period effect is the effect minus the
``k``-th largest and ``k``-th smallest placebo effects, ``k = floor(alpha/2 *
(J + 1))`` — valid when the units are exchangeable — or, with too few donors
for that (``k < 1``), the normal prediction interval from the placebo effects'
mean and standard deviation (``ci_method`` says which). Definitions and the evidence rule: docs/campaigns.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import special as _sp  # t.ppf(q, k) = stdtrit(k, q), without importing scipy.stats

from ...errors import SpecError
from ..effects import finite_or_none
from .did import _AsDict

__all__ = ["SyntheticControlResult", "PlaceboRun", "synthetic_control", "simplex_least_squares", "sc_evidence"]


def simplex_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin ||a w - b||**2`` over ``w >= 0, sum(w) = 1`` (``a`` rows x donors)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    j = a.shape[1]
    if j == 1:
        return np.ones(1)
    from scipy import optimize as _opt  # loaded when a synthetic control is fitted

    lam = 1e3 * (np.linalg.norm(a) + np.linalg.norm(b) + 1.0) / np.sqrt(max(a.shape[0], 1))
    w, _ = _opt.nnls(np.vstack([a, np.full((1, j), lam)]), np.append(b, lam), maxiter=50 * j)
    if w.sum() <= 0:
        w = np.full(j, 1.0 / j)
    w = w / w.sum()
    # polish on the support: the equality-constrained least squares there is exact
    s = w > 1e-12
    a_s = a[:, s]
    kkt = np.block([[2 * a_s.T @ a_s, np.ones((s.sum(), 1))], [np.ones((1, s.sum())), np.zeros((1, 1))]])
    rhs = np.append(2 * a_s.T @ b, 1.0)
    try:
        sol = np.linalg.solve(kkt, rhs)[:-1]
    except np.linalg.LinAlgError:
        return w
    if np.all(sol >= 0):
        polished = np.zeros(j)
        polished[s] = sol
        if np.sum((a @ polished - b) ** 2) <= np.sum((a @ w - b) ** 2) + 1e-12:
            return polished
    return w


def _weights_for_v(v: np.ndarray, x1: np.ndarray, x0: np.ndarray) -> np.ndarray:
    sv = np.sqrt(v)[:, None]
    return simplex_least_squares(sv * x0, sv[:, 0] * x1)


def _v_from(theta: np.ndarray) -> np.ndarray:
    v = theta ** 2
    s = v.sum()
    return v / s if s > 0 else np.full(theta.size, 1.0 / theta.size)


def _fit(y1: np.ndarray, y0: np.ndarray, pre: np.ndarray, x1: np.ndarray | None, x0: np.ndarray | None,
         starts: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Donor weights (and V when predictors are given). ``y0`` is donors x periods; ``x0`` predictors x donors."""
    a_pre, b_pre = y0[:, pre].T, y1[pre]
    if x1 is None:
        return simplex_least_squares(a_pre, b_pre), None
    k = x1.size
    from scipy import optimize as _opt

    def loss(theta):
        w = _weights_for_v(_v_from(theta), x1, x0)
        return float(np.mean((a_pre @ w - b_pre) ** 2))

    rng = np.random.default_rng(seed)
    inits = [np.full(k, 1.0 / np.sqrt(k))] + [np.sqrt(rng.dirichlet(np.ones(k))) for _ in range(starts)]
    best = None
    for th0 in inits:
        res = _opt.minimize(loss, th0, method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 400 * k, "maxfev": 400 * k})
        if best is None or res.fun < best.fun:
            best = res
    v = _v_from(best.x)
    return _weights_for_v(v, x1, x0), v


@dataclass(frozen=True)
class PlaceboRun(_AsDict):
    """One in-space placebo: ``unit`` treated as if it were the treated unit."""

    unit: str
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    effect: float
    gap: tuple[float, ...]


@dataclass(frozen=True)
class SyntheticControlResult(_AsDict):
    """Synthetic-control fit, effect and placebo inference (see the module doc)."""

    donor_names: tuple[str, ...]
    weights: tuple[float, ...]
    v_weights: tuple[float, ...] | None
    predictors_treated: tuple[float, ...] | None
    predictors_synthetic: tuple[float, ...] | None
    treated: tuple[float, ...]
    synthetic: tuple[float, ...]
    gap: tuple[float, ...]
    pre: tuple[bool, ...]
    effect: float
    effect_rel: float | None
    ci: tuple[float | None, float | None]
    ci_method: str | None
    alpha: float
    p_value: float | None
    rank: int | None
    n_placebos: int
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    placebos: tuple[PlaceboRun, ...]
    evidence: str
    evidence_reasons: tuple[str, ...]

    def top_weights(self, min_weight: float = 0.001) -> list[tuple[str, float]]:
        """Donors with weight at least ``min_weight``, largest first."""
        pairs = [(n, w) for n, w in zip(self.donor_names, self.weights) if w >= min_weight]
        return sorted(pairs, key=lambda p: -p[1])

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["ci"] = [finite_or_none(self.ci[0]), finite_or_none(self.ci[1])]
        return out


def _placebo_interval(effect: float, placebo_effects: np.ndarray, alpha: float
                      ) -> tuple[tuple[float | None, float | None], str | None]:
    """Interval for the average post-period effect from the placebo effects (their errors under no effect).

    ``placebo_rank`` when ``J + 1 >= 2 / alpha``: effect minus the k-th largest / k-th smallest placebo effect,
    ``k = floor(alpha/2 (J+1))`` (coverage >= 1 - alpha under exchangeability). Otherwise ``placebo_normal``:
    the normal prediction interval ``effect - mean(e) -/+ t_{J-1} sd(e) sqrt(1 + 1/J)``.
    """
    j = placebo_effects.size
    k = int(np.floor(alpha / 2 * (j + 1) + 1e-9))
    if k >= 1:
        e = np.sort(placebo_effects)
        return (effect - float(e[j - k]), effect - float(e[k - 1])), "placebo_rank"
    if j < 2:
        return (None, None), None
    half = float(_sp.stdtrit(j - 1, 1 - alpha / 2)) * float(placebo_effects.std(ddof=1)) * np.sqrt(1 + 1 / j)
    center = effect - float(placebo_effects.mean())
    return (center - half, center + half), "placebo_normal"


def _rmspe(gap: np.ndarray, pre: np.ndarray) -> tuple[float, float]:
    return float(np.sqrt(np.mean(gap[pre] ** 2))), float(np.sqrt(np.mean(gap[~pre] ** 2)))


# Evidence rule (docs/campaigns.md, "How strong is the evidence"):
SC_STRONG_MIN_PRE = 10
SC_STRONG_MIN_DONORS = 19          # so that a permutation p-value can reach 1/20 = 0.05
SC_STRONG_MAX_REL_RMSPE = 0.05     # pre-period RMSPE at most 5 % of the treated unit's pre-period mean level
SC_WEAK_MIN_PRE = 5
SC_WEAK_MIN_DONORS = 5
SC_WEAK_FIT_SHARE = 0.9            # treated fits worse than 90 % of the placebos: outside the donors' hull


def sc_evidence(n_pre: int, n_donors: int, rel_rmspe: float | None, fit_share: float | None
                ) -> tuple[str, tuple[str, ...]]:
    """``(label, reasons)`` for a synthetic control. ``fit_share``: share of placebos whose pre-period
    RMSPE is below the treated unit's (``None`` without placebos)."""
    reasons: list[str] = []
    if n_pre < SC_WEAK_MIN_PRE:
        reasons.append("few_pre_periods")
    if n_donors < SC_WEAK_MIN_DONORS:
        reasons.append("few_donors")
    if fit_share is not None and fit_share > SC_WEAK_FIT_SHARE:
        reasons.append("poor_pre_fit")
    if reasons:
        return "weak", tuple(reasons)
    if n_pre < SC_STRONG_MIN_PRE:
        reasons.append("short_pre_period")
    if n_donors < SC_STRONG_MIN_DONORS:
        reasons.append("small_donor_pool")
    if rel_rmspe is None or rel_rmspe > SC_STRONG_MAX_REL_RMSPE:
        reasons.append("loose_pre_fit")
    if fit_share is None:
        reasons.append("no_placebos")
    elif fit_share > 0.5:
        reasons.append("pre_fit_worse_than_most_placebos")
    return ("moderate" if reasons else "strong"), tuple(reasons)


def _check(treated, donors, pre, donor_names, covariates):
    y1 = np.asarray(treated, dtype=float).ravel()
    y0 = np.asarray(donors, dtype=float)
    if y0.ndim != 2:
        raise SpecError(key="causal.synth.donors_must_2_d", shape=y0.shape)
    pre_mask = np.asarray(pre, dtype=bool).ravel()
    if not (y1.size == y0.shape[1] == pre_mask.size):
        raise SpecError(key="causal.synth.treated_has_periods_donors", size=y1.size, y0=y0.shape[1], size2=pre_mask.size)
    if not (np.isfinite(y1).all() and np.isfinite(y0).all()):
        raise SpecError(key="causal.synth.treated_donors_must_complete")
    if pre_mask.sum() < 1 or (~pre_mask).sum() < 1:
        raise SpecError(key="causal.synth.need_at_least_one")
    if y0.shape[0] < 1:
        raise SpecError(key="causal.synth.need_at_least_one_2")
    names = tuple(str(n) for n in donor_names) if donor_names is not None else tuple(
        f"donor_{i}" for i in range(y0.shape[0]))
    if len(names) != y0.shape[0]:
        raise SpecError(key="causal.synth.donor_names_has_names", n_names=len(names), y0=y0.shape[0])
    x1 = x0 = scale = None
    if covariates is not None:
        x1 = np.asarray(covariates[0], dtype=float).ravel()
        x0 = np.asarray(covariates[1], dtype=float)
        if x0.shape != (y0.shape[0], x1.size):
            raise SpecError(key="causal.synth.covariates_donor_predictors_must", value=(y0.shape[0], x1.size), shape=x0.shape)
        if not (np.isfinite(x1).all() and np.isfinite(x0).all()):
            raise SpecError(key="causal.synth.covariates_must_have_missing")
        scale = np.vstack([x1[None, :], x0]).std(axis=0, ddof=1)
        scale[~(scale > 0)] = 1.0
        x1, x0 = x1 / scale, (x0 / scale).T          # predictors x donors
    return y1, y0, pre_mask, names, x1, x0, scale


def synthetic_control(treated: Sequence[float], donors, pre: Sequence[bool], *,
                      donor_names: Sequence[str] | None = None, covariates: tuple[Any, Any] | None = None,
                      alpha: float = 0.05, placebo: bool = True, starts: int = 4, seed: int = 0
                      ) -> SyntheticControlResult:
    """Synthetic control for one treated unit.

    ``treated``: its outcome per period; ``donors``: donors x periods;
    ``pre``: one bool per period (True before treatment). ``covariates``:
    ``(treated_predictors, donor_predictors)`` — a vector of K predictors and
    a donors x K array (e.g. pre-period means of covariates and chosen
    pre-period outcomes, as ADH). ``placebo=False`` skips the placebo runs
    (no p-value, no interval).
    """
    if not 0 < alpha < 1:
        raise SpecError(key="causal.did.alpha_must_between_0", alpha=alpha)
    y1, y0, pre_m, names, x1, x0, scale = _check(treated, donors, pre, donor_names, covariates)
    w, v = _fit(y1, y0, pre_m, x1, x0, starts, seed)
    synth = y0.T @ w
    gap = y1 - synth
    pre_r, post_r = _rmspe(gap, pre_m)
    ratio = post_r / pre_r if pre_r > 0 else float("inf")
    effect = float(gap[~pre_m].mean())
    synth_post = float(synth[~pre_m].mean())
    runs: list[PlaceboRun] = []
    if placebo and y0.shape[0] >= 2:
        for j in range(y0.shape[0]):
            others = np.delete(np.arange(y0.shape[0]), j)
            px1 = None if x0 is None else x0[:, j]
            px0 = None if x0 is None else x0[:, others]
            wj, _ = _fit(y0[j], y0[others], pre_m, px1, px0, starts, seed)
            gj = y0[j] - y0[others].T @ wj
            a, b = _rmspe(gj, pre_m)
            runs.append(PlaceboRun(names[j], a, b, b / a if a > 0 else float("inf"), float(gj[~pre_m].mean()),
                                   tuple(gj.tolist())))
    p_value = rank = ci_method = None
    ci: tuple[float | None, float | None] = (None, None)
    fit_share = None
    if runs:
        ratios = np.array([r.rmspe_ratio for r in runs])
        rank = int(1 + np.sum(ratios > ratio))
        p_value = float((1 + np.sum(ratios >= ratio)) / (len(runs) + 1))
        ci, ci_method = _placebo_interval(effect, np.array([r.effect for r in runs]), alpha)
        fit_share = float(np.mean([r.pre_rmspe < pre_r for r in runs]))
    level = float(np.mean(np.abs(y1[pre_m])))
    label, reasons = sc_evidence(int(pre_m.sum()), y0.shape[0], pre_r / level if level > 0 else None, fit_share)
    return SyntheticControlResult(
        donor_names=names, weights=tuple(w.tolist()), v_weights=None if v is None else tuple(v.tolist()),
        predictors_treated=None if x1 is None else tuple((x1 * scale).tolist()),
        predictors_synthetic=None if x0 is None else tuple((x0 @ w * scale).tolist()),
        treated=tuple(y1.tolist()), synthetic=tuple(synth.tolist()), gap=tuple(gap.tolist()),
        pre=tuple(bool(b) for b in pre_m), effect=effect, effect_rel=effect / synth_post if synth_post else None,
        ci=ci, ci_method=ci_method, alpha=alpha, p_value=p_value, rank=rank, n_placebos=len(runs),
        pre_rmspe=pre_r, post_rmspe=post_r,
        rmspe_ratio=ratio, placebos=tuple(runs), evidence=label, evidence_reasons=reasons)
