"""did_panel / did_means: a hand-worked 2x2 example and statsmodels as a second implementation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as st

from yunying.errors import SpecError
from yunying.stats.causal import did_evidence, did_means, did_panel


def test_hand_worked_two_by_two():
    # treated u1 10→14, u2 12→18; control u3 8→9, u4 6→9 (docs/campaigns.md, "Difference-in-differences")
    y = [[10, 14], [12, 18], [8, 9], [6, 9]]
    r = did_panel(y, [True, True, False, False], [False, True])
    assert r.estimate == pytest.approx(3.0)                      # (5) − (2)
    # changes 4, 6 and 1, 3: variances 2 and 2, SE = √(2/2 + 2/2) = √2, Welch df = (1 + 1)² / (1/1 + 1/1) = 2
    assert r.se == pytest.approx(np.sqrt(2))
    assert r.dof == pytest.approx(2)
    assert r.p_value == pytest.approx(2 * st.t.sf(3 / np.sqrt(2), 2))
    assert r.ci[0] == pytest.approx(3 - st.t.ppf(0.975, 2) * np.sqrt(2))
    assert r.treated_pre_mean == 11 and r.treated_post_mean == 16 and r.control_pre_mean == 7
    assert r.relative_effect == pytest.approx(3 / (11 + (9 - 7)))   # effect / (treated pre + control change)
    assert r.pre_trend.p_value is None and r.evidence == "weak" and "no_pretrend_test" in r.evidence_reasons
    json.dumps(r.to_dict(), allow_nan=False)


def _panel(seed=3, n=120, t=10, t0=6, effect=1.0, n_treated=50, trend=0.0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, t)) + rng.normal(scale=2, size=(n, 1)) + 0.3 * np.arange(t)
    d = np.arange(n) < n_treated
    p = np.arange(t) >= t0
    y[np.ix_(d, p)] += effect
    y[d] += trend * np.arange(t)
    return y, d, p


def _long(y, d, p):
    n, t = y.shape
    return pd.DataFrame({"u": np.repeat(np.arange(n), t), "t": np.tile(np.arange(t), n), "y": y.ravel(),
                         "x": (np.repeat(d, t) & np.tile(p, n)).astype(float)})


def _within(df, cols):
    X = df[cols] - df.groupby("u")[cols].transform("mean")
    return sm.add_constant(X, has_constant="add")


def test_matches_statsmodels_twfe_and_cluster_se():
    y, d, p = _panel(n=120, n_treated=60)
    r = did_panel(y, d, p)
    df = _long(y, d, p)
    lsdv = sm.OLS.from_formula("y ~ C(u) + C(t) + x", df).fit()
    assert r.estimate == pytest.approx(lsdv.params["x"], rel=1e-9)
    # statsmodels' cluster-robust sandwich (CR0) of the within regression; ours is its bias-corrected form,
    # each group's part × n_g/(n_g − 1) (CR2 for this design): with equal groups one factor 60/59
    dums = pd.get_dummies(df.t, prefix="t", drop_first=True, dtype=float)
    df = pd.concat([df, dums], axis=1)
    yd = df.y - df.groupby("u").y.transform("mean")
    m = sm.OLS(yd, _within(df, [*dums.columns, "x"])).fit(
        cov_type="cluster", cov_kwds={"groups": df.u, "use_correction": False})
    assert r.se == pytest.approx(m.bse["x"] * np.sqrt(60 / 59), rel=1e-9)


def test_is_welch_on_per_unit_changes_with_unequal_groups():
    y, d, p = _panel(n=90, n_treated=25)
    r = did_panel(y, d, p)
    change = y[:, p].mean(axis=1) - y[:, ~p].mean(axis=1)
    w = st.ttest_ind(change[d], change[~d], equal_var=False)
    assert r.p_value == pytest.approx(w.pvalue, rel=1e-9)
    assert r.dof == pytest.approx(w.df, rel=1e-9)
    ci = w.confidence_interval(0.95)
    assert r.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_event_study_leads_and_wald_match_statsmodels():
    y, d, p = _panel(seed=5, n=120, n_treated=60, trend=0.3)
    r = did_panel(y, d, p)
    df = _long(y, d, p)
    ref = r.pre_trend.reference_period
    assert ref == 5
    dums = pd.get_dummies(df.t, prefix="t", drop_first=True, dtype=float)
    ev = pd.DataFrame({f"e{k}": ((df.t == k) & d[df.u]).astype(float) for k in range(y.shape[1]) if k != ref})
    df = pd.concat([df, dums, ev], axis=1)
    yd = df.y - df.groupby("u").y.transform("mean")
    m = sm.OLS(yd, _within(df, [*dums.columns, *ev.columns])).fit(
        cov_type="cluster", cov_kwds={"groups": df.u, "use_correction": False})
    c = 60 / 59
    for k in range(y.shape[1]):
        if k == ref:
            continue
        assert r.pre_trend.event_coef[k] == pytest.approx(m.params[f"e{k}"], abs=1e-9)
        assert r.pre_trend.event_se[k] == pytest.approx(m.bse[f"e{k}"] * np.sqrt(c), rel=1e-8)
    # Hotelling: T² = b' V⁻¹ b (V = statsmodels CR0 × c), F = T² (m − q + 1) / (q m), m = n − 2
    w = m.wald_test(", ".join(f"e{k} = 0" for k in r.pre_trend.lead_periods), use_f=False, scalar=True)
    q, mm = len(r.pre_trend.lead_periods), 118
    assert r.pre_trend.df_num == q and r.pre_trend.df_den == mm - q + 1
    assert r.pre_trend.wald_f == pytest.approx(float(w.statistic) / c * (mm - q + 1) / (q * mm), rel=1e-7)
    assert r.pre_trend.p_value == pytest.approx(st.f.sf(r.pre_trend.wald_f, q, mm - q + 1), rel=1e-9)
    # a diverging trend is caught: the pre-trend test rejects and the evidence is weak
    assert r.pre_trend.p_value < 0.05 and r.evidence == "weak" and "pretrend_rejected" in r.evidence_reasons
    # the gap series is treated mean minus control mean per period
    gap = y[d].mean(axis=0) - y[~d].mean(axis=0)
    assert np.allclose(r.pre_trend.gap, gap)


def test_many_leads_few_units_are_binned():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(8, 40)) + rng.normal(size=(8, 1))
    r = did_panel(y, np.arange(8) < 4, np.arange(40) >= 30)
    assert len(r.pre_trend.lead_periods) == 29
    assert r.pre_trend.df_num == 3 and r.pre_trend.df_den == 6 - 3 + 1     # m = 6: 29 leads in 3 bins
    assert 0 <= r.pre_trend.p_value <= 1


def test_parallel_panel_is_strong_evidence_and_recovers_effect():
    y, d, p = _panel(seed=11, n=200, effect=2.0, n_treated=80)
    r = did_panel(y, d, p)
    assert r.ci[0] < 2.0 < r.ci[1]
    assert r.pre_trend.p_value > 0.10
    assert r.evidence == "strong" and r.evidence_reasons == ()


def test_evidence_rule():
    assert did_evidence(6, 50, 50, 0.5) == ("strong", ())
    assert did_evidence(2, 50, 50, 0.5) == ("moderate", ("few_pre_periods",))
    assert did_evidence(6, 5, 50, 0.5) == ("moderate", ("few_units",))
    assert did_evidence(6, 50, 50, 0.07) == ("moderate", ("pretrend_borderline",))
    assert did_evidence(6, 50, 50, 0.01)[0] == "weak"
    assert did_evidence(6, 1, 50, 0.5) == ("weak", ("single_unit_group",))


def test_did_means_hand_worked():
    # cells: T pre [1, 3], T post [4, 6], C pre [2, 2, 5], C post [3, 3, 6]
    y = [1, 3, 4, 6, 2, 2, 5, 3, 3, 6]
    tr = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    po = [0, 0, 1, 1, 0, 0, 0, 1, 1, 1]
    r = did_means(y, tr, po)
    assert r.estimate == pytest.approx((5 - 2) - (4 - 3))
    se = np.sqrt(2 / 2 + 2 / 2 + 3 / 3 + 3 / 3)      # s² / n per cell
    assert r.se == pytest.approx(se)
    assert r.ci[0] == pytest.approx(2 - st.norm.ppf(0.975) * se)


def test_bad_input_is_an_error():
    with pytest.raises(SpecError, match="complete panel"):
        did_panel([[1, np.nan], [1, 2]], [True, False], [False, True])
    with pytest.raises(SpecError, match="treated and control"):
        did_panel([[1, 2], [1, 2]], [True, True], [False, True])
    with pytest.raises(SpecError, match="one treated unit use synthetic_control"):
        did_panel([[1, 2], [1, 2], [2, 3]], [True, False, False], [False, True])
    with pytest.raises(SpecError, match="after all pre periods"):
        did_panel([[1, 2, 3], [1, 2, 3]], [True, False], [True, False, True])
    with pytest.raises(SpecError, match="2 entries"):
        did_panel([[1, 2, 3], [1, 2, 3]], [True, False], [False, True])


def test_pre_trend_ses_are_the_diagonal_of_the_full_group_covariance():
    # the event-study SEs come from the per-period variances alone; the q x q covariance (the former route)
    # is the oracle, on unequal groups and scales
    from yunying.stats.causal.did import _group_cov, _group_var

    rng = np.random.default_rng(5)
    z = rng.poisson(0.4, (301, 17)).astype(float) * rng.uniform(0.5, 3, 17)
    d = rng.random(301) < 0.4
    before = z.copy()
    assert np.allclose(_group_var(z, d), np.diag(_group_cov(z, d)), rtol=1e-12, atol=1e-15)
    assert np.array_equal(z, before)                     # the caller's panel is left as it was
