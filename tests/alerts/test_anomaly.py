"""stats/anomaly.py: the hand-worked example of docs/alerts.md, the stated false-alarm rates on simulated
normal series, and planted breaks found on the day they happen."""
from __future__ import annotations

import math

import numpy as np
import pytest

from yunying.errors import SpecError
from yunying.stats import anomaly as A

# docs/alerts.md#worked-example-anomaly: four weeks, Monday first, then a Monday of 95
WEEKS = [
    [100, 101, 100, 102],  # Mondays: week-on-week differences 1, -1, 2
    [110, 113, 111, 111],  # Tuesdays: 3, -2, 0
    [120, 119, 120, 121],  # -1, 1, 1
    [130, 132, 129, 130],  # 2, -3, 1
    [140, 140, 142, 140],  # 0, 2, -2
    [150, 154, 150, 151],  # 4, -4, 1
    [160, 158, 161, 161],  # -2, 3, 0
]


def worked_series(last: float = 95.0) -> np.ndarray:
    x = [WEEKS[day][week] for week in range(4) for day in range(7)]
    return np.array(x + [last], dtype=float)


def test_worked_example_by_hand():
    r = A.detect(worked_series(), weeks=4, min_history=4)
    # expected: the median of the Mondays 100, 101, 100, 102 = 100.5
    assert r.expected[-1] == 100.5
    # 21 differences, median 1; their absolute deviations from 1 have median 1 → σ = 1.4826 · 1 / √2
    sigma = 1.482602218505602 / math.sqrt(2)
    scale = sigma * math.sqrt(1 + math.pi / 8)
    assert scale == pytest.approx(1.23720, abs=1e-5)
    assert r.score[-1] == pytest.approx((95 - 100.5) / scale)
    assert r.score[-1] == pytest.approx(-4.446, abs=1e-3)
    assert (r.status[-1], r.direction[-1]) == ("anomaly", -1)
    assert r.lower[-1] == pytest.approx(100.5 - 3.5 * scale)
    # 98 is within the band (z = -2.02)
    assert A.detect(worked_series(98.0), weeks=4, min_history=4).status[-1] == "ok"
    # the first four weeks have too little history for a verdict
    assert set(r.status[:28]) == {"insufficient_history"}


def test_direction_and_exclusions():
    x = worked_series(95.0)
    assert A.detect(x, weeks=4, min_history=4, direction="up").status[-1] == "ok"
    exclude = np.zeros(x.size, bool)
    exclude[-1] = True
    assert A.detect(x, weeks=4, min_history=4, exclude=exclude).status[-1] == "excluded"
    x[-1] = np.nan
    assert A.detect(x, weeks=4, min_history=4).status[-1] == "missing"


def test_bad_settings_are_errors():
    with pytest.raises(SpecError, match="direction"):
        A.detect(worked_series(), direction="sideways")
    with pytest.raises(SpecError, match="min_history"):
        A.detect(worked_series(), weeks=4, min_history=5)
    with pytest.raises(SpecError, match="mask"):
        A.detect(worked_series(), exclude=[True])


@pytest.mark.parametrize("noise, low, high", [("normal", 0.0012, 0.0045), ("poisson", 0.0012, 0.0045)])
def test_false_alarm_rate_as_stated(noise, low, high):
    # docs/alerts.md: about 0.27 % of days at threshold 3.5 (normal noise), 0.28 % (Poisson counts);
    # 200 series × 64 judged days ≈ 12,800 days: the count's sampling sd is ≈ 0.05 points
    rate = A.simulate_false_alarms(series=200, noise=noise, seed=7)
    assert low < rate < high


def test_higher_threshold_fewer_false_alarms():
    assert A.simulate_false_alarms(series=60, threshold=4.0, seed=3) < A.simulate_false_alarms(series=60, seed=3)


def _normal_series(rng, days=84):
    pattern = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3])
    return 1000.0 * np.tile(pattern, days // 7 + 1)[:days] + rng.normal(0, 50, days)


def test_planted_level_shift_found_on_its_day():
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(50):
        x = _normal_series(rng)
        x[70:] *= 0.7  # a 30 % drop from day 70 on (6 σ at this noise level)
        r = A.detect(x)
        before = r.direction[56:70]
        found += r.direction[70] == -1
        assert (before != 0).sum() <= 1  # the clean days before the break stay (almost always) quiet
    assert found >= 48


def test_planted_spike_and_holiday_not_in_baseline():
    rng = np.random.default_rng(5)
    x = _normal_series(rng, 70)
    x[60] *= 3.0  # a festival: three times the usual
    r = A.detect(x)
    assert r.direction[60] == 1
    exclude = np.zeros(x.size, bool)
    exclude[60] = True
    r2 = A.detect(x, exclude=exclude)
    assert r2.status[60] == "excluded"
    # a week later the same weekday is compared with a baseline that left the festival out
    assert r2.expected[67] == np.median(x[[4, 11, 18, 25, 32, 39, 46, 53]])
    assert r.expected[67] == np.median(x[[11, 18, 25, 32, 39, 46, 53, 60]])
