"""Difference-in-differences on a balanced panel, with an event-study pre-trend check.

Model (two-way fixed effects, one treatment date)::

    y_it = a_i + g_t + beta * D_i * P_t + e_it

``D_i`` marks treated units, ``P_t`` post periods. On a balanced panel the
OLS ``beta`` equals the difference of the per-unit changes::

    d_i  = mean(y_i, post periods) - mean(y_i, pre periods)
    beta = mean(d_i, treated) - mean(d_i, control)

Inference is cluster-robust by unit. The cluster-robust (CR0) sandwich
variance of ``beta`` reduces to ``SS_T / n_T**2 + SS_C / n_C**2`` (``SS_g`` =
sum of squared deviations of ``d_i`` from its group mean); we use its
bias-corrected form ``s_T**2 / n_T + s_C**2 / n_C`` (``s**2`` with ``n - 1``;
the CR2 / Bell–McCaffrey correction for this design) and Welch–Satterthwaite
degrees of freedom — exactly Welch's t-test on the per-unit changes, which
keeps the stated coverage with few units.

Event study: ``y_it = a_i + g_t + sum_{k != r} delta_k D_i 1[t = k] + e_it``
with the last pre period ``r`` as reference. ``delta_k`` is the gap between
treated and control means in period ``k`` minus that gap in period ``r``,
with covariance ``S_T / n_T + S_C / n_C`` (``S_g``: sample covariance of the
unit contrasts ``y_ik - y_ir``). The leads (``k`` before ``r``) should be zero
under parallel trends; their joint test is Hotelling's ``T**2 = b' V^-1 b``
referred to ``F(q, m - q + 1)`` after scaling by ``(m - q + 1) / (q m)``,
``m = n - 2``. With more leads than the units support (``q > m / 2``) the pre
periods before ``r`` are averaged into ``floor(m / 2)`` consecutive bins
first. See docs/campaigns.md.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
from scipy import special as _sp  # the t, normal and F tails without importing scipy.stats (identical values)

from ...errors import SpecError
from ..effects import absolute_difference, finite_or_none, welch_dof

__all__ = ["DidResult", "PreTrend", "did_panel", "did_means", "DidMeansResult", "did_evidence"]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple) and value and hasattr(value[0], "to_dict"):
        return [v.to_dict() for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return finite_or_none(value)


class _AsDict:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class PreTrend(_AsDict):
    """Parallel-trends evidence from the event study.

    ``periods``: index of every period; ``gap``: treated mean minus control
    mean per period (the series to plot); ``event_coef``/``event_se``: the
    event-study coefficients (``gap_t - gap_ref``) and their cluster-robust
    SEs (0 and 0 at the reference period); ``lead_periods``: the pre periods
    other than the reference; ``wald_f``/``p_value``: joint test that all
    leads are zero (``None`` with fewer than two pre periods).
    """

    reference_period: int
    periods: tuple[int, ...]
    gap: tuple[float, ...]
    event_coef: tuple[float, ...]
    event_se: tuple[float, ...]
    lead_periods: tuple[int, ...]
    wald_f: float | None
    df_num: int
    df_den: int
    p_value: float | None


@dataclass(frozen=True)
class DidResult(_AsDict):
    """Two-way fixed-effects DiD with cluster-robust (by unit) inference."""

    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    t_stat: float
    dof: float
    alpha: float
    n_units: int
    n_treated: int
    n_control: int
    n_periods: int
    n_pre: int
    n_post: int
    treated_pre_mean: float
    treated_post_mean: float
    control_pre_mean: float
    control_post_mean: float
    relative_effect: float | None
    pre_trend: PreTrend
    evidence: str
    evidence_reasons: tuple[str, ...]


def _as_panel(values, treated, post, zero_units=(0, 0)) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    y = np.asarray(values, dtype=float)
    if y.ndim != 2:
        raise SpecError(key="causal.did.values_must_2_d", shape=y.shape)
    d = np.asarray(treated, dtype=bool).ravel()
    p = np.asarray(post, dtype=bool).ravel()
    if d.size != y.shape[0]:
        raise SpecError(key="causal.did.treated_has_entries_but", size=d.size, y=y.shape[0])
    if p.size != y.shape[1]:
        raise SpecError(key="causal.did.post_has_entries_but", size=p.size, y=y.shape[1])
    if not np.isfinite(y).all():
        bad = np.argwhere(~np.isfinite(y))[:3]
        raise SpecError(key="causal.did.incomplete_panel", cells=", ".join(f"({i}, {t})" for i, t in bad))
    zero = (int(zero_units[0]), int(zero_units[1]))
    if min(zero) < 0:
        raise SpecError(key="causal.did.need_treated_control_units", d=zero[0], d2=zero[1])
    if d.sum() + zero[0] < 1 or (~d).sum() + zero[1] < 1:
        raise SpecError(key="causal.did.need_treated_control_units", d=int(d.sum()) + zero[0],
                        d2=int((~d).sum()) + zero[1])
    if p.sum() < 1 or (~p).sum() < 1:
        raise SpecError(key="causal.did.need_pre_post_periods", p=int((~p).sum()), p2=int(p.sum()))
    first_post = int(np.argmax(p))
    if not p[first_post:].all():
        raise SpecError(key="causal.did.post_periods_must_come")
    return y, d, p, zero


def _groups(d: np.ndarray, zero: tuple[int, int]):
    """(mask, units) of the treated, then the control group: the rows of each and its number of units, the rows
    plus its units left out of the panel as all zeros."""
    return (d, int(d.sum()) + zero[0]), (~d, int((~d).sum()) + zero[1])


def _mean(z: np.ndarray, g: np.ndarray, n: int):
    """The mean over a group's ``n`` units of ``z`` (rows ``g``; the units not in ``z`` are zeros)."""
    return z[g].sum(axis=0) / n


def _group_cov(z: np.ndarray, d: np.ndarray, zero: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Covariance of mean(z | treated) - mean(z | control), each group's sample covariance over its size;
    ``z`` is units x q (plus each group's ``zero`` units of zeros, left out of ``z``)."""
    out = np.zeros((z.shape[1], z.shape[1]))
    for (g, n), n0 in zip(_groups(d, zero), zero):
        mu = _mean(z, g, n)
        zg = z[g] - mu
        out += (zg.T @ zg + n0 * np.outer(mu, mu)) / (n * (n - 1))
    return out


def _group_var(z: np.ndarray, d: np.ndarray, zero: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The diagonal of :func:`_group_cov` (the variances alone: a pass over ``z`` instead of a q x q product)."""
    out = np.zeros(z.shape[1])
    for (g, n), n0 in zip(_groups(d, zero), zero):
        mu = _mean(z, g, n)
        zg = z[g]
        zg -= mu                              # z[g] is a copy: centred in place
        out += (np.einsum("ij,ij->j", zg, zg) + n0 * mu * mu) / (n * (n - 1))
    return out


def _bins(leads: np.ndarray, max_q: int) -> list[np.ndarray]:
    """The lead periods, or consecutive groups of them when there are more than ``max_q``."""
    if leads.size <= max_q:
        return [leads[i:i + 1] for i in range(leads.size)]
    return [b for b in np.array_split(leads, max_q) if b.size]


def _wald(z: np.ndarray, d: np.ndarray, leads: np.ndarray,
          zero: tuple[int, int] = (0, 0)) -> tuple[float | None, int, int, float | None]:
    """Hotelling-type joint test that the (binned) leads are zero: (F, df1, df2, p)."""
    (gt, nt), (gc, nc) = _groups(d, zero)
    n = nt + nc
    m = n - 2
    max_q = max(1, m // 2)
    if leads.size == 0 or m < 2:
        return None, 0, 0, None
    bins = _bins(leads, max_q)
    zb = np.column_stack([z[:, b].mean(axis=1) for b in bins])
    b = _mean(zb, gt, nt) - _mean(zb, gc, nc)
    v = _group_cov(zb, d, zero)
    q = int(np.linalg.matrix_rank(v))
    if q < 1 or m - q + 1 < 1:
        return None, q, 0, None
    t2 = float(b @ np.linalg.pinv(v) @ b)
    f = t2 * (m - q + 1) / (q * m)
    return f, q, m - q + 1, float(_sp.fdtrc(q, m - q + 1, f))


def _pre_trend(y: np.ndarray, d: np.ndarray, p: np.ndarray, zero: tuple[int, int] = (0, 0)) -> PreTrend:
    t = y.shape[1]
    pre_idx = np.flatnonzero(~p)
    ref = int(pre_idx[-1])
    (gt, nt), (gc, nc) = _groups(d, zero)
    gap = _mean(y, gt, nt) - _mean(y, gc, nc)
    z = y - y[:, [ref]]                      # unit contrasts against the reference period (0 for zero units)
    coef = gap - gap[ref]
    se = np.sqrt(np.clip(_group_var(z, d, zero), 0, None))
    leads = pre_idx[:-1]
    f, q, df2, pval = _wald(z, d, leads, zero)
    return PreTrend(ref, tuple(range(t)), tuple(gap.tolist()), tuple(coef.tolist()), tuple(se.tolist()),
                    tuple(int(i) for i in leads), f, int(q), int(df2), pval)


# Evidence rule (docs/campaigns.md, "How strong is the evidence"):
STRONG_MIN_PRE = 3          # at least two leads to test
STRONG_MIN_UNITS = 20       # per group: cluster-robust SEs need many clusters
STRONG_PRETREND_P = 0.10
WEAK_PRETREND_P = 0.05


def _welch(diff: np.ndarray, d: np.ndarray, zero: tuple[int, int] = (0, 0)) -> tuple[tuple[float, float], tuple[float, float]]:
    """((difference, SE), (control variance, treated variance)) of the per-unit changes (each group's ``zero``
    units, left out of ``diff``, changed by 0)."""
    (gt, nt), (gc, nc) = _groups(d, zero)
    if nt < 2 or nc < 2:
        raise SpecError(key="causal.did.need_at_least_two", d=nt, d2=nc)
    (mc, va), (mt, vb) = (_mean_var(diff, g, n, n0) for (g, n), n0 in (((gc, nc), zero[1]), ((gt, nt), zero[0])))
    est, se = absolute_difference(mc, va, nc, mt, vb, nt)
    return (float(est), float(se)), (va, vb)


def _mean_var(x: np.ndarray, g: np.ndarray, n: int, n0: int) -> tuple[float, float]:
    """Mean and sample variance (n - 1) of a group's ``n`` values: ``x[g]`` and ``n0`` zeros (numpy's mean and
    ``var(ddof=1)`` when ``n0`` is 0)."""
    mu = _mean(x, g, n)
    dev = x[g] - mu
    return float(mu), float(((dev * dev).sum() + n0 * mu * mu) / (n - 1))


def did_evidence(n_pre: int, n_treated: int, n_control: int, pretrend_p: float | None) -> tuple[str, tuple[str, ...]]:
    """``(label, reasons)``: "strong", "moderate" or "weak" (rule in docs/campaigns.md)."""
    reasons: list[str] = []
    weak = False
    if pretrend_p is None:
        reasons.append("no_pretrend_test")   # one pre period: parallel trends cannot be checked
        weak = True
    elif pretrend_p < WEAK_PRETREND_P:
        reasons.append("pretrend_rejected")
        weak = True
    if min(n_treated, n_control) < 2:
        reasons.append("single_unit_group")
        weak = True
    if weak:
        return "weak", tuple(reasons)
    if n_pre < STRONG_MIN_PRE:
        reasons.append("few_pre_periods")
    if min(n_treated, n_control) < STRONG_MIN_UNITS:
        reasons.append("few_units")
    if pretrend_p is not None and pretrend_p < STRONG_PRETREND_P:
        reasons.append("pretrend_borderline")
    return ("moderate" if reasons else "strong"), tuple(reasons)


def did_panel(values, treated: Sequence[bool], post: Sequence[bool], *, alpha: float = 0.05,
              zero_units: tuple[int, int] = (0, 0)) -> DidResult:
    """Two-way fixed-effects DiD of a balanced panel ``values`` (units x periods).

    ``treated``: one bool per unit (row); ``post``: one bool per period
    (column), all post periods after all pre periods. ``zero_units``: (treated,
    control) units left out of ``values`` because every value of theirs is 0 —
    a sparse panel (users without any purchase): the same answer as with their
    rows of zeros, from only the rows with a value. Returns the estimate, its
    cluster-robust SE, ``1 - alpha`` interval, p-value, the event-study
    pre-trend check and an evidence label.
    """
    if not 0 < alpha < 1:
        raise SpecError(key="causal.did.alpha_must_between_0", alpha=alpha)
    y, d, p, zero = _as_panel(values, treated, post, zero_units)
    (gt, nt), (gc, nc) = _groups(d, zero)
    t = y.shape[1]
    diff = y[:, p].mean(axis=1) - y[:, ~p].mean(axis=1)
    (_, se), (va, vb) = _welch(diff, d, zero)
    est = float(_mean(diff, gt, nt) - _mean(diff, gc, nc))
    dof = float(welch_dof(va, nc, vb, nt))
    tstat = est / se if se > 0 else (0.0 if est == 0 else float("inf") * np.sign(est))
    pval = float(2 * _sp.stdtr(dof, -abs(tstat))) if se > 0 else float("nan")
    crit = float(_sp.stdtrit(dof, 1 - alpha / 2))
    pt = _pre_trend(y, d, p, zero)
    n_pre, n_post = int((~p).sum()), int(p.sum())
    label, reasons = did_evidence(n_pre, nt, nc, pt.p_value)
    tp, tq = (float(y[gt][:, w].sum() / (nt * int(w.sum()))) for w in (~p, p))
    cp, cq = (float(y[gc][:, w].sum() / (nc * int(w.sum()))) for w in (~p, p))
    counterfactual = tp + (cq - cp)
    return DidResult(
        estimate=est, se=se, ci=(est - crit * se, est + crit * se), p_value=pval, t_stat=float(tstat), dof=dof,
        alpha=alpha, n_units=nt + nc, n_treated=nt, n_control=nc, n_periods=t,
        n_pre=n_pre, n_post=n_post, treated_pre_mean=tp, treated_post_mean=tq,
        control_pre_mean=cp, control_post_mean=cq,
        relative_effect=est / counterfactual if counterfactual != 0 else None,
        pre_trend=pt, evidence=label, evidence_reasons=reasons)


@dataclass(frozen=True)
class DidMeansResult(_AsDict):
    """2x2 DiD of four cell means (repeated cross-sections or an unbalanced panel)."""

    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    alpha: float
    means: dict[str, float]
    ses: dict[str, float]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("means", "ses", "counts"):
            out[key] = {k: finite_or_none(v) for k, v in getattr(self, key).items()}
        return out


def did_means(y, treated, post, *, alpha: float = 0.05) -> DidMeansResult:
    """DiD of cell means: ``(mean_T,post - mean_T,pre) - (mean_C,post - mean_C,pre)``.

    One observation per element of ``y`` (missing values dropped), with its
    group and period flags. The four cells are independent samples:
    ``SE = sqrt(sum of s_cell**2 / n_cell)``; normal reference. This is Card &
    Krueger's (1994) table 3 arithmetic.
    """
    yy = np.asarray(y, dtype=float).ravel()
    d = np.asarray(treated, dtype=bool).ravel()
    p = np.asarray(post, dtype=bool).ravel()
    if not (yy.size == d.size == p.size):
        raise SpecError(key="causal.did.y_treated_post_must")
    keep = np.isfinite(yy)
    means, ses, counts = {}, {}, {}
    for name, mask in (("treated_pre", d & ~p), ("treated_post", d & p),
                       ("control_pre", ~d & ~p), ("control_post", ~d & p)):
        v = yy[mask & keep]
        if v.size < 2:
            raise SpecError(key="causal.did.cell_has_observations_each", name=name, size=v.size)
        means[name], ses[name], counts[name] = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)), int(v.size)
    est = (means["treated_post"] - means["treated_pre"]) - (means["control_post"] - means["control_pre"])
    se = float(np.sqrt(sum(s ** 2 for s in ses.values())))
    z = float(_sp.ndtri(1 - alpha / 2))
    pval = float(2 * _sp.ndtr(-abs(est / se))) if se > 0 else float("nan")
    return DidMeansResult(est, se, (est - z * se, est + z * se), pval, alpha, means, ses, counts)
