"""Planning: sample size / MDE / duration against statsmodels and by simulation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from yunying.stats import (
    ProportionStats,
    compare,
    duration_days,
    mde_mean,
    mde_proportion,
    plan_experiment,
    power_proportion,
    sample_size_mean,
    sample_size_proportion,
)

import statsmodels.stats.proportion as sm_prop
import statsmodels.stats.power as sm_power


@pytest.mark.parametrize("base,rel", [(0.19, 0.05), (0.02, 0.10), (0.5, 0.02)])
def test_proportion_sample_size_matches_statsmodels(base, rel):
    n_c, n_t = sample_size_proportion(base, rel, relative=True, alpha=0.05, power=0.8)
    assert n_c == n_t
    delta = base * rel
    # statsmodels: power of the pooled z-test at our n (prop1 = treatment, prop2 = control)
    pw = sm_prop.power_proportions_2indep(delta, base, n_c, ratio=1, alpha=0.05).power
    pw_less = sm_prop.power_proportions_2indep(delta, base, n_c - 1, ratio=1, alpha=0.05).power
    assert pw >= 0.8 - 1e-9 and pw_less < 0.8 + 1e-4
    ss = sm_prop.samplesize_proportions_2indep_onetail(delta, base, 0.8, ratio=1, alpha=0.05)
    assert n_c == pytest.approx(ss, rel=0.002)


def test_unequal_split_and_mean_sample_size_match_statsmodels():
    n_c, n_t = sample_size_mean(10.0, 1.0, alpha=0.05, power=0.9, ratio=2.0)
    ref = sm_power.NormalIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.9, ratio=2.0)
    assert n_c == math.ceil(ref) or n_c == pytest.approx(ref, abs=1.5)
    assert n_t == pytest.approx(2 * ref, abs=2)
    m = mde_mean(10.0, n_c, alpha=0.05, power=0.9, ratio=2.0)
    assert m == pytest.approx(1.0, rel=1e-3)
    one = sample_size_mean(10.0, 1.0, alternative="one-sided")[0]
    two = sample_size_mean(10.0, 1.0)[0]
    assert one < two


def test_mde_inverts_sample_size():
    n_c, _ = sample_size_proportion(0.1, 0.01, relative=False)
    d = mde_proportion(0.1, n_c)
    assert d == pytest.approx(0.01, rel=2e-3) and d <= 0.01
    assert power_proportion(0.1, d, n_c) == pytest.approx(0.8, abs=1e-6)
    assert mde_proportion(0.5, 2) is None  # nothing detectable with 2 units


def test_planned_sample_gives_planned_power_by_simulation():
    base, rel = 0.2, 0.1
    n, _ = sample_size_proportion(base, rel)
    rng = np.random.default_rng(11)
    reps = 1500
    ka = rng.binomial(n, base, reps)
    kb = rng.binomial(n, base * (1 + rel), reps)
    power = np.mean([compare(ProportionStats(n, a), ProportionStats(n, b)).p_value < 0.05 for a, b in zip(ka, kb)])
    assert abs(power - 0.8) < 3.3 * math.sqrt(0.8 * 0.2 / reps)


def test_plan_duration_and_variants():
    p = plan_experiment(baseline_rate=0.19, mde=0.05, daily_traffic=5000)
    n_c, _ = sample_size_proportion(0.19, 0.05)
    assert p.n_per_variant == (n_c, n_c) and p.n_total == 2 * n_c
    assert p.days == math.ceil(2 * n_c / 5000) == duration_days(2 * n_c, 5000)
    assert p.mde_rel == pytest.approx(0.05)
    # three arms: Bonferroni alpha/2 per comparison needs more units per arm
    p3 = plan_experiment(baseline_rate=0.19, mde=0.05, variants=3, daily_traffic=5000, traffic_fraction=0.5)
    assert p3.alpha_per_comparison == pytest.approx(0.025)
    assert p3.n_per_variant[0] > n_c and p3.n_total == sum(p3.n_per_variant)
    assert p3.days == math.ceil(p3.n_total / 2500)
    # MDE from a duration, and back
    m = plan_experiment(baseline_rate=0.19, days=14, daily_traffic=5000)
    assert m.n_total == 70000
    back = plan_experiment(baseline_rate=0.19, mde=m.mde_abs, relative=False)
    assert back.n_total == pytest.approx(70000, rel=0.001)
    d = m.to_dict()
    assert d["mde_abs"] == pytest.approx(m.mde_abs) and d["split"] == [0.5, 0.5]
    with pytest.raises(ValueError):
        plan_experiment(baseline_rate=0.19)
    with pytest.raises(ValueError):
        plan_experiment(baseline_rate=1.5, mde=0.1)
