"""Intervals that agree with multiple-comparison-adjusted verdicts (issue 13, docs/experiments.md#several-variants-
and-metrics): the goal metrics' intervals are computed at the level the correction used — Holm 1 − α/(m − R),
Benjamini–Hochberg 1 − R·α/m (Benjamini & Yekutieli's FCR intervals) — so each excludes 0 exactly when its adjusted
verdict is called. statsmodels' multipletests is the oracle of the verdicts, its score interval of the intervals."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats import proportion as sm_prop
from statsmodels.stats.multitest import multipletests

from yunying.analyses.experiment import ExperimentSpec, analyze_stats
from yunying.stats import ProportionStats, SampleMeanStats
from yunying.stats.multiple import adjust_p_values, interval_alpha

SM = {"holm": "holm", "bh": "fdr_bh"}


def _excludes_zero(ci) -> bool:
    lo, hi = ci
    return (lo is not None and lo > 0) or (hi is not None and hi < 0)


def _expected_alpha(method: str, alpha: float, m: int, r: int) -> float:
    """The rule of the docs, written out once more: Holm α/(m − R) (α when all are rejected), BH R·α/m (α/m)."""
    if method == "holm":
        return alpha if r == m else alpha / (m - r)
    return r * alpha / m if r else alpha / m


def _experiment(rng, method, kind, n_arms, n_metrics, settings):
    arms = ["a"] + [f"t{i}" for i in range(n_arms)]
    stats, types = {}, {}
    for j in range(n_metrics):
        name = f"m{j}"
        per = {}
        for arm in arms:
            n = int(rng.integers(300, 3000))
            lift = 1.0 if arm == "a" else rng.uniform(0.85, 1.25)
            if kind == "proportion":
                per[arm] = ProportionStats(n, int(rng.binomial(n, min(0.15 * lift, 0.9))))
            else:
                x = rng.lognormal(1.0 + np.log(lift), 1.0, n)
                per[arm] = SampleMeanStats(n, float(x.sum()), float((x * x).sum()))
        stats[name], types[name] = per, kind
    spec = ExperimentSpec.model_validate({"control": "a", "correction": method, **settings,
                                          "metrics": [{"name": f"m{j}", "column": f"m{j}"} for j in range(n_metrics)]})
    counts = {arm: stats["m0"][arm].n for arm in arms}
    return spec, analyze_stats(spec, arms, counts, stats, types)


@pytest.mark.parametrize("method", ["holm", "bh"])
@pytest.mark.parametrize("kind,settings", [("proportion", {}), ("mean", {}), ("mean", {"method": "sequential"}),
                                           ("proportion", {"one_sided": True, "alpha": 0.1})],
                         ids=["score", "welch", "sequential", "score-one-sided"])
def test_interval_excludes_zero_iff_adjusted_verdict(method, kind, settings):
    rng = np.random.default_rng(zlib.crc32(f"{method}{kind}{settings}".encode()))
    saved = 0  # comparisons whose per-comparison interval excluded 0 while the adjusted verdict did not call them
    for _ in range(40):
        spec, res = _experiment(rng, method, kind, int(rng.integers(1, 4)), int(rng.integers(1, 3)), settings)
        rows = [v for m in res.metrics for v in m.variants if not v.is_control]
        raw = np.array([v.effect.p_value for v in rows])
        reject, adjusted, _, _ = multipletests(raw, alpha=spec.alpha, method=SM[method])
        assert [v.p_value_adjusted for v in rows] == pytest.approx(list(adjusted), rel=1e-12)
        a = _expected_alpha(method, spec.alpha, len(rows), int(reject.sum()))
        for m in res.metrics:
            assert m.ci_level == pytest.approx(1 - a, rel=1e-12)
            assert m.ci_correction == (method if len(rows) > 1 else None)  # one comparison: nothing to adjust
        for v, rej, p in zip(rows, reject, raw):
            called = v.verdict in ("win", "loss")
            assert called == bool(rej)
            assert _excludes_zero(v.effect.ci_abs) == called, (p, a, v.effect.ci_abs)
            assert _excludes_zero(v.effect.ci_rel) == called, (p, a, v.effect.ci_rel)
            assert v.effect.ci_level == pytest.approx(1 - a, rel=1e-12)
            saved += (p < spec.alpha) and not called
    assert saved >= 1


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_score_intervals_at_the_adjusted_level_match_statsmodels(method):
    rng = np.random.default_rng(3)
    spec, res = _experiment(rng, method, "proportion", 3, 2, {})
    level = res.metrics[0].ci_level
    assert level > 0.95
    for m in res.metrics:
        ctrl = next(v for v in m.variants if v.is_control)
        for v in m.variants[1:]:
            x_a, x_b = round(ctrl.mean * ctrl.n), round(v.mean * v.n)
            d = sm_prop.confint_proportions_2indep(x_b, v.n, x_a, ctrl.n, method="score", compare="diff",
                                                   alpha=1 - level, correction=False)
            q = sm_prop.confint_proportions_2indep(x_b, v.n, x_a, ctrl.n, method="score", compare="ratio",
                                                   alpha=1 - level, correction=False)
            assert v.effect.ci_abs == pytest.approx(d, rel=1e-7)
            assert v.effect.ci_rel == pytest.approx((q[0] - 1, q[1] - 1), rel=1e-7)


def test_guardrails_and_no_correction_keep_the_plain_level():
    arms = {"a": ProportionStats(2000, 200), "b": ProportionStats(2000, 260), "c": ProportionStats(2000, 215)}
    spec = ExperimentSpec.model_validate({"control": "a", "metrics": ["x", "y"], "guardrails": ["g"]})
    stats = {k: arms for k in ("x", "y", "g")}
    res = analyze_stats(spec, list(arms), {k: s.n for k, s in arms.items()}, stats, dict.fromkeys(stats, "proportion"))
    by = {m.metric: m for m in res.metrics}
    # 4 goal comparisons; b wins on x and y (p = 0.0029 each, Holm-adjusted 0.012), c does not (p = 0.44): R = 2
    assert by["x"].ci_level == pytest.approx(1 - 0.05 / 2) and by["g"].ci_level == pytest.approx(0.95)
    assert by["g"].ci_correction is None and res.to_dict()["ci_level"] == pytest.approx(0.975)
    none = ExperimentSpec.model_validate({"control": "a", "metrics": ["x", "y"], "correction": "none"})
    res = analyze_stats(none, list(arms), {k: s.n for k, s in arms.items()}, stats, dict.fromkeys(stats, "proportion"))
    assert res.metrics[0].ci_level == pytest.approx(0.95) and res.metrics[0].ci_correction is None


def test_rule_by_hand():
    """docs/experiments.md's worked example: raw p 0.004, 0.03, 0.5 at α = 0.05 (statsmodels adjusts them too)."""
    raw = [0.004, 0.03, 0.5]
    holm, bh = adjust_p_values(raw, "holm"), adjust_p_values(raw, "bh")
    assert holm == pytest.approx([0.012, 0.06, 0.5]) == list(multipletests(raw, method="holm")[1])
    assert bh == pytest.approx([0.012, 0.045, 0.5]) == list(multipletests(raw, method="fdr_bh")[1])
    assert interval_alpha(holm, 0.05, "holm") == pytest.approx(0.025)        # R = 1 of 3: α/(3 − 1)
    assert interval_alpha(bh, 0.05, "bh") == pytest.approx(2 * 0.05 / 3)     # R = 2: 2α/3
    docs = (Path(__file__).resolve().parents[2] / "docs" / "experiments.md").read_text(encoding="utf-8")
    assert "**97.5 %**" in docs and "**96.67 %**" in docs and "α' = 2 × 0.05/3 = 0.0333" in docs
    assert interval_alpha([0.06, 0.06, 0.5], 0.05, "bh") == pytest.approx(0.05 / 3)
    assert interval_alpha([0.2, 0.3], 0.05, "holm") == pytest.approx(0.025)   # nothing rejected: Bonferroni's α/m
    assert interval_alpha([0.01, 0.02], 0.05, "holm") == pytest.approx(0.05)  # all rejected: α
    assert interval_alpha([None, 0.01], 0.05, "none") == 0.05
