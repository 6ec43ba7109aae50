"""Degenerate data never crashes and never yields NaN/Infinity: numbers that cannot be
computed are None and a named message says why."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from yunying.analyses.experiment import analyze_table
from yunying.stats import (
    BayesianSettings,
    FrequentistSettings,
    ProportionStats,
    QuantileStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    SequentialSettings,
    compare,
    srm_test,
)

SETTINGS = [FrequentistSettings(), BayesianSettings(), BayesianSettings(proper_prior=True), SequentialSettings(),
            FrequentistSettings(alternative="less")]


def _all_finite_or_none(d: dict) -> bool:
    text = json.dumps(d, allow_nan=False)  # raises on NaN / Infinity
    return "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: type(s).__name__)
def test_empty_arm(s):
    r = compare(ProportionStats(0, 0), ProportionStats(100, 10), s)
    assert r.message == "empty_arm"
    assert r.effect_abs is None and r.p_value is None and r.ci_abs is None and r.chance_to_win is None
    assert _all_finite_or_none(r.to_dict())


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: type(s).__name__)
def test_zero_variance_gives_exact_difference_but_no_interval(s):
    r = compare(SampleMeanStats(50, 100.0, 200.0), SampleMeanStats(60, 180.0, 540.0), s)  # all 2s vs all 3s
    assert r.message == "zero_variance"
    assert r.effect_abs == pytest.approx(1.0) and r.effect_rel == pytest.approx(0.5)
    assert r.ci_abs is None and r.p_value is None
    assert _all_finite_or_none(r.to_dict())
    r = compare(ProportionStats(100, 0), ProportionStats(100, 0), s)
    assert set(r.messages) == {"zero_variance", "zero_baseline"} and r.effect_rel is None


def test_zero_baseline_keeps_absolute_effect():
    r = compare(SampleMeanStats(100, 0.0, 0.0), SampleMeanStats(100, 10.0, 30.0))
    assert "zero_baseline" in r.messages
    assert r.effect_rel is None and r.ci_rel is None
    assert r.effect_abs == pytest.approx(0.1) and r.p_value is not None


def test_single_unit_and_zero_denominator_and_unstable_quantile():
    r = compare(SampleMeanStats(1, 5.0, 25.0), SampleMeanStats(10, 50.0, 300.0))
    assert r.message == "too_few_units" and r.effect_abs == pytest.approx(0.0) and r.p_value is None
    r = compare(RatioStats(10, 5.0, 5.0, 0.0, 0.0, 0.0), RatioStats(10, 5.0, 5.0, 10.0, 10.0, 5.0))
    assert r.message == "zero_denominator" and r.effect_abs is None
    r = compare(QuantileStats.from_values([1.0, 2.0, 3.0], 0.99), QuantileStats.from_values([1.0, 2.0], 0.99))
    assert r.message == "quantile_unstable" and r.ci_abs is None
    assert compare(QuantileStats.from_values([], 0.5), QuantileStats.from_values([1.0], 0.5)).message == "empty_arm"


def test_constant_covariate_falls_back_to_unadjusted():
    rng = np.random.default_rng(0)
    y1, y2 = rng.normal(0, 1, 200), rng.normal(0.2, 1, 200)
    a = RegressionAdjustedStats.from_values(y1, np.ones(200))
    b = RegressionAdjustedStats.from_values(y2, np.ones(200))
    r = compare(a, b)
    plain = compare(SampleMeanStats.from_values(y1), SampleMeanStats.from_values(y2),
                    FrequentistSettings(use_t=False))
    assert "covariate_constant" in r.messages
    assert r.effect_abs == pytest.approx(plain.effect_abs) and r.se_abs == pytest.approx(plain.se_abs)


def test_srm_degenerate():
    assert srm_test([0, 0]).status == "not_testable"
    assert srm_test([10]).status == "not_testable"
    r = srm_test([100, 5], [1, 0])
    assert r.status == "mismatch" and r.chi2 is None and r.p_value == 0.0
    assert _all_finite_or_none(r.to_dict())
    with pytest.raises(ValueError):
        srm_test([1, 2], [1, 2, 3])


counts = hs.integers(min_value=0, max_value=50)


@settings(max_examples=150, deadline=None)
@given(na=counts, nb=counts, fa=hs.floats(0, 1), fb=hs.floats(0, 1), scale=hs.floats(-1e6, 1e6),
       which=hs.integers(0, len(SETTINGS) - 1))
def test_fuzz_no_nan_no_crash(na, nb, fa, fb, scale, which):
    s = SETTINGS[which]
    ka, kb = round(na * fa), round(nb * fb)
    for a, b in (
        (ProportionStats(na, ka), ProportionStats(nb, kb)),
        (SampleMeanStats(na, ka * scale, ka * scale**2), SampleMeanStats(nb, kb * scale, kb * scale**2)),
        (RatioStats(na, ka * scale, ka * scale**2, float(ka), float(ka), ka * scale),
         RatioStats(nb, kb * scale, kb * scale**2, float(nb), float(nb), kb * scale)),
        (RegressionAdjustedStats(na, float(ka), float(ka), float(na - ka), float(na - ka), 0.0),
         RegressionAdjustedStats(nb, float(kb), float(kb), float(kb), float(kb), float(kb))),
    ):
        r = compare(a, b, s)
        d = r.to_dict()
        assert _all_finite_or_none(d)
        assert (d["effect_abs"] is None) == ("empty_arm" in r.messages or "zero_denominator" in r.messages)
        two_sided = getattr(s, "alternative", "two-sided") == "two-sided"
        if r.ci_abs is not None and two_sided:
            assert r.ci_abs[0] <= r.effect_abs <= r.ci_abs[1]


def test_table_analysis_degenerate_outputs_valid_json(tmp_path):
    df = pd.DataFrame({"u": range(8), "v": ["a"] * 4 + ["b"] * 4, "const": [1] * 8, "zeros": [0] * 8,
                       "y": [1.0, 2.0, np.nan, 4.0, 1.0, 1.0, 1.0, 1.0]})
    res = analyze_table(df, {"unit": "u", "variant": "v", "control": "a", "metrics": ["const", "zeros", "y"],
                             "variants": ["a", "b", "c"], "method": "bayesian"})
    d = json.loads(res.to_json())
    by = {m["metric"]: m for m in d["metrics"]}
    assert by["const"]["variants"][1]["message"] == "zero_variance"
    assert by["zeros"]["variants"][1]["message"] == "zero_variance"
    assert by["y"]["variants"][0]["n"] == 3  # the missing value is left out ...
    assert any(m["code"] == "missing_values" and m["metric"] == "y" for m in d["messages"])  # ... and reported
    c = by["y"]["variants"][2]
    assert c["variant"] == "c" and c["n"] == 0 and c["message"] == "empty_arm" and c["mean"] is None
    assert any(m["code"] == "empty_arm" and m.get("variant") == "c" for m in d["messages"])
    # the planned arm c got nobody: SRM flags it
    assert d["srm"]["observed"] == {"a": 4, "b": 4, "c": 0}
    from yunying.reports.experiment import experiment_html

    html = experiment_html(res)
    assert "<section" in html and "yunying-srm" in html
