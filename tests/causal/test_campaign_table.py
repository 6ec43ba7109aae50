"""campaign review --table: hand-worked example, scipy/statsmodels cross-checks, the JSON contract, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from yunying.analyses.campaigns import review_table
from yunying.errors import InputFileError, SpecError, ValidationError

ROOT = Path(__file__).resolve().parents[2]

# docs/campaigns.md, "Per-unit table mode": the hand-worked example
HAND = pd.DataFrame({
    "user": [f"u{i}" for i in range(1, 11)],
    "group": ["holdout"] * 4 + ["email"] * 6,
    "purchased": [0, 1, 0, 0, 1, 1, 0, 1, 1, 0],
    "revenue": [0, 10, 0, 0, 12, 8, 0, 20, 10, 0],
})


def _g(out, name):
    return next(g for g in out["groups"] if g["group"] == name)


def test_hand_worked_example():
    out = review_table(HAND, unit="user", group="group", control="holdout", metrics=["purchased"],
                       revenue="revenue", cost_per_contact=0.5, margin=0.4)
    c, e = _g(out, "holdout"), _g(out, "email")
    assert [g["group"] for g in out["groups"]] == ["holdout", "email"]
    assert (c["n"], e["n"]) == (4, 6)
    assert c["metrics"][0]["mean"] == pytest.approx(0.25)
    m = e["metrics"][0]
    assert m["mean"] == pytest.approx(4 / 6)
    assert m["lift_abs"] == pytest.approx(4 / 6 - 1 / 4)                 # 0.4167
    assert m["lift_rel"] == pytest.approx((4 / 6) / 0.25 - 1)             # +166.7 %
    assert m["incremental_total"] == pytest.approx((4 / 6 - 1 / 4) * 6)  # 2.5 purchases
    # money: cost 6 × 0.5 = 3; revenue lift 50/6 − 10/4 = 5.8333; × 6 × 0.4 = 14; ROI (14 − 3)/3
    assert e["cost"] == pytest.approx(3.0)
    assert e["incremental_revenue"] == pytest.approx(14.0)
    assert e["roi"]["value"] == pytest.approx(11 / 3)
    # revenue interval: Welch, s² = 25 (control) and 291.33/5 (email), df ≈ 7.99
    se = np.sqrt(25 / 4 + (291 + 1 / 3) / 5 / 6)
    dof = (25 / 4 + (291 + 1 / 3) / 30) ** 2 / ((25 / 4) ** 2 / 3 + ((291 + 1 / 3) / 30) ** 2 / 5)
    half = st.t.ppf(0.975, dof) * se
    lo, hi = (5 + 5 / 6 - half) * 2.4, (5 + 5 / 6 + half) * 2.4
    assert e["incremental_revenue_ci"] == pytest.approx([lo, hi])
    assert e["roi"]["ci"] == pytest.approx([(lo - 3) / 3, (hi - 3) / 3])
    assert "cost" not in c and "roi" not in c


def test_lift_statistics_match_scipy_and_statsmodels():
    rng = np.random.default_rng(7)
    n = 3000
    grp = rng.choice(["holdout", "sms", "push"], size=n, p=[0.2, 0.4, 0.4])
    conv = (rng.random(n) < np.select([grp == "sms", grp == "push"], [0.14, 0.12], 0.10)).astype(int)
    spend = conv * rng.gamma(2.0, 40.0, n)
    df = pd.DataFrame({"id": np.arange(n), "grp": grp, "conv": conv, "spend": spend})
    out = review_table(df, unit="id", group="grp", control="holdout", metrics=["conv", "spend"])
    ctrl = df[df.grp == "holdout"]
    for name in ("sms", "push"):
        t = df[df.grp == name]
        g = _g(out, name)
        conv_m, spend_m = g["metrics"]
        # proportion: pooled z p-value and the score interval that inverts it (statsmodels; docs/experiments.md
        # "Verdicts and intervals"), at the level of the Holm-adjusted verdicts over the 2 metrics × 2 groups
        level = conv_m["ci_level"]
        assert level == out["ci_level"] and out["ci_correction"] == "holm"
        lo, hi = confint_proportions_2indep(t.conv.sum(), len(t), ctrl.conv.sum(), len(ctrl), method="score",
                                           correction=False, alpha=1 - level)
        assert conv_m["ci_abs"] == pytest.approx([lo, hi], rel=1e-9)
        _, p = proportions_ztest([t.conv.sum(), ctrl.conv.sum()], [len(t), len(ctrl)])
        assert conv_m["p_value"] == pytest.approx(p, rel=1e-9)
        # mean: Welch t-test (scipy) and its interval
        w = st.ttest_ind(t.spend, ctrl.spend, equal_var=False)
        assert spend_m["p_value"] == pytest.approx(w.pvalue, rel=1e-9)
        ci = w.confidence_interval(level)
        assert spend_m["ci_abs"] == pytest.approx([ci.low, ci.high], rel=1e-9)
        assert spend_m["incremental_total"] == pytest.approx((t.spend.mean() - ctrl.spend.mean()) * len(t))
        assert spend_m["ci_total"] == pytest.approx([ci.low * len(t), ci.high * len(t)], rel=1e-9)
        assert g["cost"] is None and g["roi"]["value"] is None       # no --cost-per-contact, no --revenue


def _cli(*args):
    """The installed command in a subprocess (exit code, stderr without a traceback)."""
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, env=env)


def _run(capsys, *args):
    """The CLI in-process (faster): stdout."""
    from yunying.cli import app

    app(list(args), standalone_mode=False)
    return capsys.readouterr().out


def test_cli_json_contract(tmp_path, capsys):
    path = tmp_path / "sent.csv"
    HAND.to_csv(path, index=False)
    base = ["campaign", "review", "--table", str(path), "--unit", "user", "--group", "group", "--control", "holdout"]
    out = json.loads(_run(capsys, *base, "--metric", "purchased,revenue", "--revenue", "revenue",
                          "--cost-per-contact", "0.5", "--margin", "0.4", "--format", "json"))
    assert {g["group"] for g in out["groups"]} == {"holdout", "email"}
    for g in out["groups"]:
        assert {"group", "n", "metrics"} <= set(g)
        assert [m["metric"] for m in g["metrics"]] == ["purchased", "revenue"]
        for m in g["metrics"]:
            assert {"metric", "mean"} <= set(m)
            if g["group"] != "holdout":
                assert {"lift_abs", "ci_abs", "lift_rel", "p_value", "incremental_total"} <= set(m)
                assert m["incremental_total"] == pytest.approx(m["lift_abs"] * g["n"])
        if g["group"] != "holdout":
            assert {"cost", "incremental_revenue", "roi"} <= set(g) and set(g["roi"]) >= {"value", "ci"}
            assert g["roi"]["value"] == pytest.approx(11 / 3)
    csv_out = _run(capsys, *base, "--metric", "purchased", "--format", "csv")
    assert csv_out.splitlines()[0].startswith("group,n,is_control,metric")
    assert len(csv_out.splitlines()) == 3
    table = _run(capsys, *base, "--metric", "purchased", "--revenue", "revenue", "--cost-per-contact", "0.5",
                 "--lang", "zh-Hans")
    assert "增量合计" in table and "投资回报率" in table and "+41.7 pp" in table and "1066.7%" in table   # ROI (35 − 3)/3 without margin


@pytest.mark.parametrize("mutate, kwargs, error, pattern", [
    (lambda d: d, {"metrics": ["bought"]}, InputFileError, r"column 'bought' \(--metric\) not found"),
    (lambda d: d.assign(user=["u1"] * 2 + [f"u{i}" for i in range(3, 11)]), {}, ValidationError,
     r"'u1' on rows 1, 2 \(lines 2, 3\)"),
    (lambda d: d.assign(purchased=["0", "1", "x", "0", "1", "1", "0", "1", "1", "0"]), {}, ValidationError,
     r"'purchased' is not numeric on rows 3 \(lines 4\)"),
    (lambda d: d.assign(purchased=[0, 1, None, 0, 1, 1, 0, 1, 1, 0]), {}, ValidationError,
     r"'purchased' is empty on rows 3"),
    (lambda d: d, {"control": "held"}, ValidationError, r"control value 'held' does not occur in the group column"),
    (lambda d: d.assign(group=["holdout"] * 10), {}, ValidationError, "only the control group"),
])
def test_bad_input_names_file_column_row(tmp_path, mutate, kwargs, error, pattern):
    path = tmp_path / "export.csv"
    mutate(HAND.copy()).to_csv(path, index=False)
    args = {"unit": "user", "group": "group", "control": "holdout", "metrics": ["purchased"], **kwargs}
    with pytest.raises(error, match=pattern) as exc:
        review_table(path, **args)
    assert str(path) in str(exc.value)


def test_option_errors_and_cli_messages(tmp_path, capsys):
    with pytest.raises(SpecError, match="--margin applies to --revenue"):
        review_table(HAND, unit="user", group="group", control="holdout", metrics=["purchased"], margin=0.3)
    with pytest.raises(SpecError, match="between 0 and 1"):
        review_table(HAND, unit="user", group="group", control="holdout", metrics=["purchased"], revenue="revenue",
                     margin=30)
    with pytest.raises(SpecError, match="--group, --control, --metric"):
        _run(capsys, "campaign", "review", "--table", "x.csv", "--unit", "u")
    with pytest.raises(InputFileError, match="missing.csv: file not found"):
        _run(capsys, "campaign", "review", "--table", str(tmp_path / "missing.csv"), "--unit", "u", "--group", "g",
             "--control", "c", "--metric", "m")
    r = _cli("campaign", "review")
    assert r.returncode == 1 and "give --table FILE or a campaign NAME" in r.stderr and "Traceback" not in r.stderr


def test_split_adds_the_sample_ratio_check():
    rng = np.random.default_rng(3)
    grp = np.where(rng.random(500) < 0.1, "holdout", "sent")
    df = pd.DataFrame({"id": range(500), "g": grp, "bought": (rng.random(500) < 0.2).astype(int)})
    plain = review_table(df, unit="id", group="g", control="holdout", metrics=["bought"])
    assert "srm" not in plain and not plain["messages"]       # no planned split: no (equal-split) check
    out = review_table(df, unit="id", group="g", control="holdout", metrics=["bought"], split="10/90")
    counts = [int((grp == "holdout").sum()), int((grp == "sent").sum())]
    chi = st.chisquare(counts, [500 * 0.1, 500 * 0.9])
    assert out["srm"]["p_value"] == pytest.approx(chi.pvalue, rel=1e-9)
    assert out["srm"]["observed"] == {"holdout": counts[0], "sent": counts[1]}
    bad = review_table(df, unit="id", group="g", control="holdout", metrics=["bought"], split="50/50")
    assert bad["srm"]["status"] == "mismatch" and bad["messages"][0]["code"] == "srm_mismatch"
    with pytest.raises(SpecError, match="--split has 3 shares"):
        review_table(df, unit="id", group="g", control="holdout", metrics=["bought"], split="10/45/45")
