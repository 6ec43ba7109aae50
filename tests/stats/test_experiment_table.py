"""analyze_table: reading files, validation, exclusions, metric types, CUPED, corrections,
guardrails and the result object's outputs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from yunying.analyses.experiment import ExperimentSpec, analyze_table
from yunying.errors import InputFileError, SpecError, ValidationError, YunyingError

import statsmodels.stats.multitest as sm_mt


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(42)
    n = 6000
    v = rng.choice(["ctl", "b", "c"], n)
    pre = rng.gamma(2.0, 5.0, n)
    lift = np.select([v == "b", v == "c"], [1.0, 0.0], 0.0)
    spend = np.maximum(0, 0.8 * pre + lift + rng.normal(0, 3, n))
    conv = rng.random(n) < np.where(v == "b", 0.13, 0.10)
    sessions = rng.poisson(3, n) + 1
    return pd.DataFrame({"user": [f"u{i}" for i in range(n)], "arm": v, "pre_spend": pre, "spend": spend,
                         "converted": conv, "sessions": sessions, "label": "x"})


def spec(**kw):
    base = {"unit": "user", "variant": "arm", "control": "ctl"}
    return {**base, **kw}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_reads_files_and_bools(tmp_path, frame, suffix):
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)  # booleans written as True/False
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    res = analyze_table(path, spec(metrics=["converted"]))
    m = res.to_dict()["metrics"][0]
    assert m["type"] == "proportion"
    ctl = m["variants"][0]
    assert ctl["variant"] == "ctl" and ctl["n"] == int((frame.arm == "ctl").sum())
    assert ctl["mean"] == pytest.approx(frame.loc[frame.arm == "ctl", "converted"].mean())
    assert [v["variant"] for v in m["variants"]] == ["ctl", "b", "c"]  # control first, others sorted


def test_clear_errors_name_file_and_column(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputFileError) as e:
        analyze_table(path, spec(metrics=["nope"]))
    assert str(path) in e.value.message and "'nope'" in e.value.message
    with pytest.raises(InputFileError) as e:
        analyze_table(path, spec(metrics=["label"]))
    assert "not numeric" in e.value.message and "'label'" in e.value.message and str(path) in e.value.message
    with pytest.raises(InputFileError, match="variant column 'grp'"):
        analyze_table(path, spec(metrics=["spend"], variant="grp"))
    with pytest.raises(InputFileError, match="file not found"):
        analyze_table(tmp_path / "missing.csv", spec(metrics=["spend"]))
    with pytest.raises(SpecError):
        analyze_table(path, spec(metrics=["spend"], correction="bonferroni"))
    with pytest.raises(SpecError, match="no control"):
        analyze_table(path, {"variant": "arm", "metrics": ["spend"]})
    assert issubclass(InputFileError, YunyingError)


def test_units_in_two_variants_are_excluded_and_duplicates_rejected():
    df = pd.DataFrame({"u": [1, 1, 2, 3, 4, 5], "v": ["a", "b", "a", "b", "a", "b"],
                       "y": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0]})
    res = analyze_table(df, {"unit": "u", "variant": "v", "control": "a", "metrics": ["y"]})
    d = res.to_dict()
    assert d["excluded"] == {"multiple_variants": 1}
    assert d["srm"]["observed"] == {"a": 2, "b": 2}
    assert any(m["code"] == "multiple_variants" for m in d["messages"])
    dup = pd.DataFrame({"u": [1, 1, 2], "v": ["a", "a", "b"], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValidationError, match="one row per unit"):
        analyze_table(dup, {"unit": "u", "variant": "v", "control": "a", "metrics": ["y"]})


def test_mean_metric_matches_scipy_and_correction_matches_statsmodels(frame):
    res = analyze_table(frame, spec(metrics=["spend", "converted"], correction="bh"))
    d = res.to_dict()
    pvals, ours = [], []
    for m in d["metrics"]:
        ctl = frame.loc[frame.arm == "ctl", m["metric"]].astype(float)
        for v in m["variants"][1:]:
            x = frame.loc[frame.arm == v["variant"], m["metric"]].astype(float)
            if m["metric"] == "spend":
                ref = st.ttest_ind(x, ctl, equal_var=False)
                assert v["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
            pvals.append(v["p_value"])
            ours.append(v["p_value_adjusted"])
    np.testing.assert_allclose(ours, sm_mt.multipletests(pvals, method="fdr_bh")[1], rtol=1e-12)
    assert d["correction"] == "bh"


def test_cuped_on_table_reduces_variance_and_reports_it(frame):
    plain = analyze_table(frame, spec(metrics=["spend"])).to_dict()["metrics"][0]["variants"][1]
    res = analyze_table(frame, spec(metrics=["spend"], covariate="pre_spend")).to_dict()
    m = res["metrics"][0]
    b = m["variants"][1]
    assert m["cuped"]["covariate"] == "pre_spend"
    assert 0.3 < m["cuped"]["variance_reduction"] < 0.9
    assert b["se_abs"] < plain["se_abs"] * 0.85
    assert b["variance_reduction"] == pytest.approx(1 - b["se_abs"] ** 2 / plain["se_abs"] ** 2, rel=0.02)
    assert b["ci_abs"][0] < 1.0 < b["ci_abs"][1]  # true lift of b is 1.0
    assert b["mean"] == pytest.approx(plain["mean"])  # `mean` stays the raw mean
    assert "mean_adjusted" in b


def test_ratio_quantile_guardrail_lower_is_better_and_one_sided(frame):
    res = analyze_table(frame, spec(
        metrics=["spend/sessions", {"name": "p90_spend", "column": "spend", "quantile": 0.9}],
        guardrails=[{"name": "spend_down", "column": "spend", "higher_is_better": False}],
        one_sided=True, variants=["ctl", "b"]))
    d = res.to_dict()
    by = {m["metric"]: m for m in d["metrics"]}
    r = by["spend/sessions"]
    ctl = frame[frame.arm == "ctl"]
    assert r["type"] == "ratio" and r["variants"][0]["mean"] == pytest.approx(ctl.spend.sum() / ctl.sessions.sum())
    q = by["p90_spend"]
    assert q["type"] == "quantile" and q["quantile"] == 0.9
    assert q["variants"][0]["mean"] == pytest.approx(np.quantile(ctl.spend, 0.9))
    g = by["spend_down"]
    assert g["role"] == "guardrail" and g["higher_is_better"] is False
    # spend went up in b, which is bad for this guardrail: one-sided test in the good direction
    assert g["variants"][1]["p_value"] > 0.5
    assert g["guardrail_status"] in ("warning", "failed")
    assert g["variants"][1]["ci_abs"][0] is None  # one-sided 'less' interval is (-inf, high]
    assert d["excluded"] == {"unknown_variant": int((frame.arm == "c").sum())}
    # guardrails are outside the correction family: adjusted p-values only on goal metrics
    assert g["variants"][1]["p_value_adjusted"] is None
    assert by["spend/sessions"]["variants"][1]["p_value_adjusted"] is not None


def test_outputs_pandas_json_html_chart(frame):
    res = analyze_table(frame, spec(metrics=["spend", "converted"], split="40/30/30"))
    d = json.loads(res.to_json())
    assert d["srm"]["expected_share"] == {"ctl": 0.4, "b": 0.3, "c": 0.3}
    assert d["srm"]["warning"] is True  # the data were drawn 1/3 each
    df = res.to_pandas()
    assert len(df) == 6 and set(df.columns) >= {"metric", "variant", "effect_abs", "ci_abs_low", "p_value"}
    fig = res.chart()
    assert len(fig.data[0].y) == 4  # 2 metrics × 2 treatment arms
    from yunying.analyses.base import Result
    from yunying.reports.experiment import experiment_html

    assert isinstance(res, Result) and res.kind == "experiment" and len(res.frame) == 6
    assert res.meta["control"] == "ctl" and "metrics" not in res.meta
    html = experiment_html(res)
    assert html.startswith("<section") and "plotly" in html.lower() and "<script src" not in html
    assert "SAMPLE RATIO MISMATCH" in html or "sample ratio mismatch" in html.lower()
    assert res.to_csv().splitlines()[0].startswith("metric,")
    assert ExperimentSpec.parse(json.dumps(d["spec"])) == res.spec  # spec round-trips through JSON
    assert ExperimentSpec.parse(res.spec.to_json()) == res.spec


def test_bayesian_and_sequential_keys(frame):
    b = analyze_table(frame, spec(metrics=["converted"], method="bayesian")).to_dict()["metrics"][0]["variants"][1]
    assert {"chance_to_win", "risk", "ci_abs", "ci_rel", "effect_rel"} <= set(b) and "p_value" not in b
    assert 0 <= b["chance_to_win"] <= 1 and b["risk"] >= 0
    s = analyze_table(frame, spec(metrics=["converted"], method="sequential")).to_dict()["metrics"][0]["variants"][1]
    f = analyze_table(frame, spec(metrics=["converted"])).to_dict()["metrics"][0]["variants"][1]
    assert s["p_value"] >= f["p_value"]
    assert s["ci_abs"][1] - s["ci_abs"][0] > f["ci_abs"][1] - f["ci_abs"][0]
