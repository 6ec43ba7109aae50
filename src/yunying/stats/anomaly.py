"""Anomalies in a daily KPI against a robust seasonal baseline (docs/alerts.md#anomalies).

The method, for each day ``t`` of a daily series:

* **history**: the values of the same weekday in the weeks before ``t`` (``t-7``, ``t-14`` …), skipping days
  that are excluded (holidays, promotions: the caller's ``exclude`` mask) or missing, until ``weeks`` of them
  are found (looking back at most ``2 * weeks`` weeks). Fewer than ``min_history`` → no verdict
  (``insufficient_history``).
* **expected value**: the median of that history (weekly seasonality: Mondays are compared with Mondays).
* **scale**: the noise level σ estimated from the week-on-week differences of the same history, pooled over
  all seven weekdays (``1.4826 · MAD / √2`` of the differences, centred on their median so a steady trend
  does not inflate it). Pooling seven weekdays gives ~50 differences instead of 8 values, so σ is stable;
  differences make it insensitive to the level and to a linear trend.
* **score**: ``z = (x - expected) / (σ · √(1 + π / (2n)))`` — the second factor is the uncertainty of a
  median of ``n`` values. ``|z| > threshold`` in the watched direction is an anomaly.

False alarms: on simulated series of independent normal noise around a weekly pattern, the share of
days flagged (two-sided) is about 0.27 % at threshold 3.5 (the default) and 0.11 % at 4 (Poisson counts:
0.28 % and 0.10 %); heavier-tailed noise raises it (Student t with 5 d.f.: 1.1 % and 0.6 %). ``simulate_false_alarms``
measures it; tests/alerts/test_anomaly.py checks it.

Pure numpy: no yunying import but errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

MAD_TO_SIGMA = 1.482602218505602  # 1 / Φ⁻¹(3/4): MAD of a normal sample → its standard deviation
SEASON = 7

OK, ANOMALY, EXCLUDED, INSUFFICIENT, MISSING = "ok", "anomaly", "excluded", "insufficient_history", "missing"


@dataclass(frozen=True)
class AnomalyResult:
    """Per day: ``expected`` (NaN without a verdict), ``lower``/``upper`` (expected ± threshold · scale),
    ``score`` (z), ``direction`` (+1 above, −1 below, 0 not anomalous) and ``status``
    (ok | anomaly | excluded | insufficient_history | missing)."""

    values: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    direction: np.ndarray
    status: list[str]
    threshold: float

    @property
    def anomalies(self) -> np.ndarray:
        """Indices of the anomalous days."""
        return np.flatnonzero(self.direction != 0)


def _history(values: np.ndarray, usable: np.ndarray, t: int, weeks: int) -> np.ndarray:
    idx = np.arange(t - SEASON, max(-1, t - SEASON * 2 * weeks - 1), -SEASON)
    idx = idx[idx >= 0]
    idx = idx[usable[idx]][:weeks]
    return values[idx[::-1]]  # oldest first


def pooled_sigma(values: np.ndarray, usable: np.ndarray, t: int, weeks: int) -> float:
    """σ from the week-on-week differences of the ``weeks`` usable same-weekday values before ``t``, pooled
    over the seven weekdays ending the day before ``t``."""
    diffs = []
    for lag in range(SEASON):  # t's weekday: the weeks before t; the others: up to and including their last day
        h = _history(values, usable, t if lag == 0 else t - lag + SEASON, weeks)
        if h.size >= 2:
            diffs.append(np.diff(h))
    if not diffs:
        return float("nan")
    d = np.concatenate(diffs)
    return float(MAD_TO_SIGMA * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def detect(values, *, exclude=None, weeks: int = 8, min_history: int = 4, threshold: float = 3.5,
           direction: str = "both", min_relative_scale: float = 0.005) -> AnomalyResult:
    """Flag the anomalous days of a daily series (one value a day, consecutive days).

    ``exclude``: a boolean mask of days left out of every baseline and given no verdict (holidays, known
    promotions). ``direction``: both | up | down. ``min_relative_scale``: σ is at least this share of the
    expected value (a perfectly flat history would otherwise make any change infinitely anomalous).

    >>> import numpy as np
    >>> week = np.array([100., 110, 105, 100, 120, 150, 140])
    >>> x = np.tile(week, 10) + np.tile([0., 1, -1, 2, -2, 1, 0], 10)[np.random.default_rng(1).permutation(70)]
    >>> x[-1] = 70.0
    >>> r = detect(x)
    >>> r.status[-1], int(r.direction[-1]), float(r.expected[-1])
    ('anomaly', -1, 140.0)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise SpecError(key="anomaly.anomaly_detection_expected_one")
    if direction not in ("both", "up", "down"):
        raise SpecError(key="anomaly.anomaly_direction_expected_both", direction=direction)
    if weeks < 2 or min_history < 2 or min_history > weeks:
        raise SpecError(key="anomaly.anomaly_baseline_need_2")
    if not threshold > 0:
        raise SpecError(key="anomaly.anomaly_threshold_expected_positive")
    n = x.size
    excl = np.zeros(n, bool) if exclude is None else np.asarray(exclude, bool)
    if excl.shape != x.shape:
        raise SpecError(key="anomaly.anomaly_detection_exclude_mask")
    usable = np.isfinite(x) & ~excl
    expected, score = np.full(n, np.nan), np.full(n, np.nan)
    lower, upper = np.full(n, np.nan), np.full(n, np.nan)
    flag = np.zeros(n, int)
    status: list[str] = []
    for t in range(n):
        if excl[t]:
            status.append(EXCLUDED)
            continue
        if not np.isfinite(x[t]):
            status.append(MISSING)
            continue
        h = _history(x, usable, t, weeks)
        sigma = pooled_sigma(x, usable, t, weeks) if h.size >= min_history else float("nan")
        if h.size < min_history or not np.isfinite(sigma):
            status.append(INSUFFICIENT)
            continue
        med = float(np.median(h))
        scale = max(sigma, min_relative_scale * abs(med), 1e-12) * np.sqrt(1.0 + np.pi / (2.0 * h.size))
        z = (x[t] - med) / scale
        expected[t], score[t] = med, z
        lower[t], upper[t] = med - threshold * scale, med + threshold * scale
        hit = (z > threshold and direction != "down") or (z < -threshold and direction != "up")
        flag[t] = int(np.sign(z)) if hit else 0
        status.append(ANOMALY if hit else OK)
    return AnomalyResult(x, expected, lower, upper, score, flag, status, float(threshold))


def simulate_false_alarms(*, days: int = 120, series: int = 200, noise: str = "normal", threshold: float = 3.5,
                          weeks: int = 8, seed: int = 0) -> float:
    """The share of days flagged on simulated normal series: a weekly pattern (weekend +30 %) around a level
    of 1000 plus independent noise — ``normal`` (σ = 5 % of the level), ``poisson`` counts, or ``t5`` (Student t,
    5 d.f., heavier tails). Only days with a verdict count."""
    rng = np.random.default_rng(seed)
    pattern = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3])
    mean = 1000.0 * np.tile(pattern, days // SEASON + 1)[:days]
    flagged = judged = 0
    for _ in range(series):
        if noise == "normal":
            x = mean + rng.normal(0.0, 50.0, days)
        elif noise == "poisson":
            x = rng.poisson(mean / 10.0).astype(float)
        elif noise == "t5":
            x = mean + 50.0 * rng.standard_t(5, days)
        else:
            raise SpecError(key="anomaly.noise_expected_normal_poisson", noise=noise)
        r = detect(x, threshold=threshold, weeks=weeks)
        judged += sum(s in (OK, ANOMALY) for s in r.status)
        flagged += int((r.direction != 0).sum())
    return flagged / judged if judged else float("nan")
