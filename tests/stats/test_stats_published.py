"""Published Cookie Cats figures (Arshanapally-Akshith/cookie-cats-ab-testing-analysis, see
../shared/datasets/README.md), reproduced by the stats layer and by the table analysis.

Published: arms gate_30 n=44,700 / gate_40 n=45,489; SRM chi-square 6.9024, p=0.0086 (50/50);
day-1 44.82% vs 44.23%, z=1.7841, p=0.0744, CI [-1.24pp, +0.06pp];
day-7 19.02% vs 18.20%, z=3.1644, p=0.0016, CI [-1.33pp, -0.31pp];
retained day 1 20,034 / 20,119; day 7 8,502 / 8,279.
"""
from __future__ import annotations

import pytest

from yunying.analyses.experiment import analyze_table
from yunying.stats import FrequentistSettings, ProportionStats, compare, srm_test

PUBLISHED = {
    "retention_1": {"rates": (0.4482, 0.4423), "z": 1.7841, "p": 0.0744, "ci_pp": (-1.24, 0.06),
                    "retained": (20034, 20119)},
    "retention_7": {"rates": (0.1902, 0.1820), "z": 3.1644, "p": 0.0016, "ci_pp": (-1.33, -0.31),
                    "retained": (8502, 8279)},
}


def _arms(df, col):
    a = df.loc[df.version == "gate_30", col].astype(int)
    b = df.loc[df.version == "gate_40", col].astype(int)
    return ProportionStats.from_values(a), ProportionStats.from_values(b)


@pytest.mark.parametrize("metric", sorted(PUBLISHED))
def test_two_proportion_z_test_matches_published(cookie_cats, metric):
    pub = PUBLISHED[metric]
    a, b = _arms(cookie_cats, metric)
    assert (a.n, b.n) == (44700, 45489)
    assert (a.sum, b.sum) == pub["retained"]
    assert round(a.mean, 4) == pub["rates"][0] and round(b.mean, 4) == pub["rates"][1]
    r = compare(a, b, FrequentistSettings())
    # published z is control minus treatment; ours is treatment minus control
    assert round(-r.statistic, 4) == pub["z"]
    assert round(r.p_value, 4) == pub["p"]
    # Wald interval agrees with the published (Newcombe) interval to the published 2 decimals in pp
    lo, hi = r.ci_abs
    assert (round(100 * lo, 2), round(100 * hi, 2)) == pub["ci_pp"]


def test_srm_matches_published():
    r = srm_test([44700, 45489], [50, 50])
    assert round(r.chi2, 4) == 6.9024
    assert round(r.p_value, 4) == 0.0086
    assert r.warning and r.status == "caution"  # 0.001 <= p < 0.01


def test_table_analysis_reproduces_published(cookie_cats_path):
    res = analyze_table(cookie_cats_path, {"unit": "userid", "variant": "version", "control": "gate_30",
                                           "metrics": ["retention_1", "retention_7"], "split": "50/50"})
    d = res.to_dict()
    assert list(d)[0] == "srm"  # shown first
    assert round(d["srm"]["chi2"], 4) == 6.9024 and round(d["srm"]["p_value"], 4) == 0.0086
    by = {m["metric"]: m for m in d["metrics"]}
    for metric, pub in PUBLISHED.items():
        ctrl, trt = by[metric]["variants"]
        assert (ctrl["variant"], trt["variant"]) == ("gate_30", "gate_40")
        assert (ctrl["n"], trt["n"]) == (44700, 45489)
        assert (round(ctrl["mean"], 4), round(trt["mean"], 4)) == pub["rates"]
        assert round(trt["p_value"], 4) == pub["p"]
        assert round(abs(trt["statistic"]), 4) == pub["z"]
        assert trt["effect_abs"] == pytest.approx(trt["mean"] - ctrl["mean"])
    assert by["retention_7"]["variants"][1]["verdict"] == "loss"
    assert by["retention_1"]["variants"][1]["verdict"] == "inconclusive"
