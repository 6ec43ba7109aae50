"""The verdict and the intervals shown agree (issue 13, docs/experiments.md#verdicts-and-intervals): an effect is
called exactly when p < α, and each interval shown excludes 0 exactly then — on the absolute and the relative
scale, for proportions (pooled test), means (Welch), and the always-valid sequential test."""
from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats import proportion as sm_prop

from yunying.analyses.experiment import ExperimentSpec, analyze_stats
from yunying.stats import (FrequentistSettings, ProportionStats, SampleMeanStats, SequentialSettings, compare)


def _excludes_zero(ci) -> bool:
    lo, hi = ci
    return (lo is not None and lo > 0) or (hi is not None and hi < 0)


def test_the_demo_case_worked_example():
    """The demo's new_checkout on the screens' demo: control 51 of 607 buyers, treatment 77 of 617 (8.40 % →
    12.48 %). Before: Wald interval (+0.66 pp, +7.49 pp), delta-method relative interval (−1.3 %, +98.4 %) across 0
    while the verdict said win. Now the score intervals of the pooled test, statsmodels as the oracle."""
    r = compare(ProportionStats(607, 51), ProportionStats(617, 77))
    z, p = sm_prop.proportions_ztest([77, 51], [617, 607])
    assert r.p_value == pytest.approx(p, rel=1e-10) and p < 0.05
    d = sm_prop.confint_proportions_2indep(77, 617, 51, 607, method="score", compare="diff", correction=False)
    q = sm_prop.confint_proportions_2indep(77, 617, 51, 607, method="score", compare="ratio", correction=False)
    assert r.ci_abs == pytest.approx(d, rel=1e-8) and r.ci_rel == pytest.approx((q[0] - 1, q[1] - 1), rel=1e-8)
    assert round(r.ci_abs[0] * 100, 2) == 0.66 and round(r.ci_abs[1] * 100, 2) == 7.52  # pp, as the docs show
    assert round(r.ci_rel[0] * 100, 1) == 6.4 and round(r.ci_rel[1] * 100, 1) == 107.6  # %, as the docs show
    spec = ExperimentSpec.model_validate({"control": "control",
                                          "metrics": [{"name": "buy", "kind": "conversion", "event": "buy"}]})
    res = analyze_stats(spec, ["control", "treatment"], {"control": 607, "treatment": 617},
                        {"buy": {"control": ProportionStats(607, 51), "treatment": ProportionStats(617, 77)}},
                        {"buy": "proportion"})
    v = res.metrics[0].variants[1]
    assert v.verdict == "win" and _excludes_zero(v.effect.ci_abs) and _excludes_zero(v.effect.ci_rel)


def _cases(rng, n=300):
    for _ in range(n):
        na, nb = rng.integers(40, 3000, 2)
        pa = rng.uniform(0.03, 0.5)
        pb = pa * rng.uniform(0.7, 1.6)
        yield ProportionStats(int(na), int(rng.binomial(na, pa))), ProportionStats(int(nb), int(rng.binomial(nb, min(pb, 0.95))))


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_proportions_called_iff_both_intervals_exclude_zero(alternative):
    rng = np.random.default_rng(13)
    near = 0
    for a, b in _cases(rng):
        if a.sum == 0:
            continue
        r = compare(a, b, FrequentistSettings(alternative=alternative))
        called = r.p_value < 0.05
        near += abs(r.p_value - 0.05) < 0.02
        assert _excludes_zero(r.ci_abs) == called, (a, b, r.p_value, r.ci_abs)
        assert _excludes_zero(r.ci_rel) == called, (a, b, r.p_value, r.ci_rel)
    assert near >= 5  # the property was checked near the boundary, where the delta method disagreed


@pytest.mark.parametrize("settings", [FrequentistSettings(), FrequentistSettings(alternative="greater"),
                                      SequentialSettings(), SequentialSettings(alternative="less")],
                         ids=["welch", "welch-greater", "sequential", "sequential-less"])
def test_means_called_iff_both_intervals_exclude_zero(settings):
    rng = np.random.default_rng(7)
    disagreed_before = 0
    for _ in range(300):
        n = rng.integers(30, 800, 2)
        x = [rng.lognormal(mean=m, sigma=1.0, size=k) for m, k in zip((1.0, 1.0 + rng.normal(0, 0.15)), n)]
        a, b = (SampleMeanStats(len(v), float(v.sum()), float((v * v).sum())) for v in x)
        r = compare(a, b, settings)
        called = r.p_value < settings.alpha
        assert _excludes_zero(r.ci_abs) == called and _excludes_zero(r.ci_rel) == called, (r.p_value, r.ci_rel)
        # the delta-method relative interval Δr ± c·SE(Δr) with the absolute interval's c, as shown before
        side = 0 if r.ci_abs[0] is not None and math.isfinite(r.ci_abs[0]) else 1
        c = abs(r.ci_abs[side] - r.effect_abs) / r.se_abs
        delta = [r.effect_rel - c * r.se_rel, r.effect_rel + c * r.se_rel]
        delta[1 - side] = None
        disagreed_before += _excludes_zero(delta) != called
    assert disagreed_before >= 1  # cases where the delta-method relative interval would have disagreed
