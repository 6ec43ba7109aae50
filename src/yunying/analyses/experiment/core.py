"""Per-variant sufficient statistics → an experiment result (SRM, effects, corrections, verdicts)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ...errors import SpecError
from ...stats import (EffectResult, QuantileStats, RegressionAdjustedStats, adjust_p_values, compare,
                      cuped_theta, cuped_variance_reduction, messages as M, srm_test)
from ...stats.multiple import interval_alpha
from .result import ExperimentResult, MetricResult, VariantResult
from .spec import ExperimentSpec, MetricSpec

CUPED_NOT_APPLIED = "cuped_not_applied"

def _verdict(effect: EffectResult, p_adj: float | None, alpha: float, higher_is_better: bool) -> str:
    if effect.chance_to_win is not None:
        if effect.chance_to_win >= 1 - alpha:
            return "win"
        if effect.chance_to_win <= alpha:
            return "loss"
        return "inconclusive"
    p = p_adj if p_adj is not None else effect.p_value
    if p is None or effect.effect_abs is None:
        return "not_computed"
    if p < alpha:
        good = effect.effect_abs > 0 if higher_is_better else effect.effect_abs < 0
        return "win" if good else "loss"
    return "inconclusive"


def _infer_type(values_by_variant: dict[str, np.ndarray]) -> str:
    allv = [v[np.isfinite(v)] for v in values_by_variant.values()]
    allv = np.concatenate(allv) if allv else np.array([])
    if allv.size and np.all((allv == 0) | (allv == 1)):
        return "proportion"
    return "mean"


def analyze_stats(
    spec: ExperimentSpec,
    variant_order: Sequence[str],
    counts: dict[str, int],
    metric_stats: dict[str, dict[str, Any]],
    metric_types: dict[str, str],
    *,
    messages: list[dict[str, Any]] | None = None,
    excluded: dict[str, int] | None = None,
    source: dict[str, Any] | None = None,
    cuped_covariates: dict[str, str] | None = None,
) -> ExperimentResult:
    """Turn per-variant sufficient statistics into an :class:`ExperimentResult`.

    ``metric_stats[name][variant]`` is a statistics object from
    :mod:`yunying.stats` (all of one class per metric); ``counts`` the exposure
    counts per variant for the SRM check.
    """
    messages = list(messages or [])
    control = spec.control
    order = list(variant_order)
    weights = spec.split
    if weights is not None and len(weights) != len(order):
        raise SpecError(key="experiment.core.split_has_shares_but", n_weights=len(weights), n_order=len(order), order=', '.join(order))
    srm = srm_test([counts.get(v, 0) for v in order], weights, threshold=spec.srm_threshold,
                   caution_threshold=spec.srm_caution_threshold, labels=order)
    if srm.warning:
        messages.insert(0, {"code": M.SRM_MISMATCH if srm.status == "mismatch" else M.SRM_CAUTION,
                            "message": srm.message})
    for v in order:
        if counts.get(v, 0) == 0:
            messages.append({"code": M.EMPTY_ARM, "variant": v,
                             "message": f"variant {v!r} has no units" + (
                                 " (it is the control)" if v == control else "")})

    built, adj_map, levels, adjusted_by = _built_and_adjusted(spec, order, metric_stats, metric_types,
                                                              cuped_covariates or {})
    metric_results = []
    for i, (mspec, role, rows, cuped, notes) in enumerate(built):
        final_rows = []
        for j, r in enumerate(rows):
            if r.effect is None:
                final_rows.append(r)
                continue
            p_adj = adj_map.get((i, j)) if role == "goal" else None
            verdict = _verdict(r.effect, p_adj if role == "goal" else r.effect.p_value, spec.alpha,
                               mspec.higher_is_better)
            final_rows.append(VariantResult(r.variant, r.n, r.mean, False, r.stddev, r.mean_adjusted, r.effect,
                                            p_adj, verdict, r.effect.message))
            for code in r.effect.messages:
                messages.append({"code": code, "metric": mspec.name, "variant": r.variant,
                                 "message": M.describe(code)})
        gstatus = _guardrail_status(mspec, final_rows) if role == "guardrail" else None
        if gstatus == "failed":
            messages.insert(1 if srm.warning else 0, {
                "code": "guardrail_failed", "metric": mspec.name,
                "message": f"guardrail {mspec.name!r} got significantly worse"})
        metric_results.append(MetricResult(
            mspec.name, metric_types[mspec.name], role, mspec.higher_is_better, final_rows, cuped, gstatus,
            mspec.quantile if metric_types[mspec.name] == "quantile" else None, notes, levels[role],
            adjusted_by if role == "goal" else None))
    return ExperimentResult(spec, control, order, dict(counts), srm, metric_results, messages,
                            dict(excluded or {}), dict(source or {}))


def _built_and_adjusted(spec: ExperimentSpec, order: list[str], metric_stats: dict[str, dict[str, Any]],
                        metric_types: dict[str, str], covs: dict[str, str]):
    """Every metric's rows, the adjusted p-values of the goal family (goal metrics × treatment arms), each role's
    interval level and the correction the goal level is adjusted for (None with one comparison)."""
    def rows_of(mspec, level_alpha=None):
        return _metric_rows(spec, mspec, metric_stats[mspec.name], metric_types[mspec.name], order,
                            covs.get(mspec.name), level_alpha)

    all_specs = [(m, "goal") for m in spec.metrics] + [(m, "guardrail") for m in spec.guardrails]
    built = [(mspec, role, *rows_of(mspec)) for mspec, role in all_specs]
    family = [(i, j) for i, (_, role, rows, _, _) in enumerate(built) if role == "goal"
              for j, r in enumerate(rows) if r.effect is not None]
    pvals = [built[i][2][j].effect.p_value for i, j in family]  # type: ignore[union-attr]
    adjusted = adjust_p_values(pvals, spec.correction) if spec.method != "bayesian" else [None] * len(pvals)
    # the goal metrics' intervals at the level the correction used, so each excludes 0 exactly when its adjusted
    # verdict is called (stats/multiple.py interval_alpha); the p-values do not change
    goal_alpha = spec.alpha if spec.method == "bayesian" else interval_alpha(adjusted, spec.alpha, spec.correction)
    if goal_alpha != spec.alpha:
        built = [(mspec, role, *rows_of(mspec, goal_alpha)) if role == "goal" else (mspec, role, *rest)
                 for mspec, role, *rest in built]
    levels = {"goal": _level(spec, goal_alpha), "guardrail": _level(spec, spec.alpha)}
    adjusted_by = spec.correction if spec.method != "bayesian" and spec.correction != "none" and len(family) > 1 \
        else None
    return built, dict(zip(family, adjusted)), levels, adjusted_by


def _level(spec: ExperimentSpec, alpha: float) -> float:
    """The level of the intervals shown: ``1 − α'`` (frequentist, sequential), ``1 − 2α`` (Bayesian: the central
    interval of the chance-to-win threshold ``1 − α``, stats/bayesian.py)."""
    return 1.0 - 2.0 * spec.alpha if spec.method == "bayesian" else 1.0 - alpha


def _metric_rows(spec: ExperimentSpec, mspec: MetricSpec, stats: dict[str, Any], mtype: str, order: list[str],
                 covariate: str | None, interval_alpha: float | None = None
                 ) -> tuple[list[VariantResult], dict | None, list[str]]:
    """One metric: a row per variant (the control's without an effect), its CUPED summary and notes; intervals at
    ``1 − interval_alpha`` (default ``1 − alpha``)."""
    control = spec.control
    settings = spec.settings(mspec.higher_is_better)
    notes: list[str] = []
    theta = center = None
    cuped = None
    if mtype in ("proportion", "mean") and stats and isinstance(next(iter(stats.values())), RegressionAdjustedStats):
        arms = [stats[v] for v in order if v in stats]
        theta = cuped_theta(arms)
        n_all = sum(a.n for a in arms)
        center = sum(a.pre_sum for a in arms) / n_all if n_all else 0.0
        cuped = {"covariate": covariate, "theta": theta, "variance_reduction": cuped_variance_reduction(arms, theta)}
        if theta is None:
            notes.append(M.COVARIATE_CONSTANT)
    ctrl_stats = stats.get(control) if control is not None else None
    rows: list[VariantResult] = []
    for v in order:
        st = stats.get(v)
        if st is None:
            continue
        if isinstance(st, RegressionAdjustedStats):
            mean, sd = st.post.mean, st.post.stddev
            adj = st.estimate(theta or 0.0, center).mean if st.n else None
        else:
            mean, sd, adj = st.mean, getattr(st, "stddev", None), None
        if isinstance(st, QuantileStats):
            sd = None
        n = st.n
        if v == control or ctrl_stats is None:
            msg = M.EMPTY_ARM if n == 0 else None
            rows.append(VariantResult(v, n, mean if n else None, v == control, sd if n else None,
                                      adj, None, message=msg))
            continue
        eff = compare(ctrl_stats, st, settings, higher_is_better=mspec.higher_is_better,
                      theta=theta if theta is not None else (0.0 if isinstance(st, RegressionAdjustedStats) else None),
                      pre_center=center, interval_alpha=interval_alpha)
        if theta is None and isinstance(st, RegressionAdjustedStats):
            eff = _with_message(eff, M.COVARIATE_CONSTANT)
        rows.append(VariantResult(v, n, mean if n else None, False, sd if n else None, adj, eff))
    return rows, cuped, notes


def _guardrail_status(mspec: MetricSpec, rows: list[VariantResult]) -> str:
    """failed (a significant loss), warning (an effect in the harmful direction) or ok."""
    verdicts = [r.verdict for r in rows if not r.is_control]
    harmful = []
    for r in rows:
        if r.is_control or r.effect is None or r.effect.effect_abs is None:
            continue
        harmful.append(r.effect.effect_abs < 0 if mspec.higher_is_better else r.effect.effect_abs > 0)
    return "failed" if "loss" in verdicts else ("warning" if any(harmful) else "ok")


def _with_message(eff: EffectResult, code: str) -> EffectResult:
    if code in eff.messages:
        return eff
    return replace(eff, messages=(*eff.messages, code))


def _variant_order(spec: ExperimentSpec, seen: Sequence[str]) -> tuple[str | None, list[str]]:
    seen = [str(s) for s in seen]
    if spec.variants is not None:
        order = list(spec.variants)
        control = spec.control or order[0]
        return control, order
    if not seen:
        raise SpecError(key="experiment.core.no_units_with_variant")
    control = spec.control
    if control is None:
        if "control" in seen:
            control = "control"
        else:
            raise SpecError(key="experiment.core.no_control_given", seen=", ".join(sorted(seen)))
    if control not in seen:
        # Usually a typo; a planned arm that truly got no units can be named with --variants.
        raise SpecError(key="experiment.core.control_one_variants_data", control=control, seen=', '.join(sorted(set(seen))))
    others = sorted(s for s in set(seen) if s != control)
    return control, [control, *others]
