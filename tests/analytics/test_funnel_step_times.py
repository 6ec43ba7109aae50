"""The funnel's step-time statistics (analyses/funnel.py ``_step_times``): computed in two runs of steps on two
threads from ``PARALLEL_STATS_FROM`` attempts on, they are the bits of one run, and NumPy's medians and means."""
from __future__ import annotations

import numpy as np
import pytest

from yunying.analyses import funnel as F


@pytest.mark.parametrize("n_steps", [2, 3, 4, 6])
def test_two_threads_give_the_bits_of_one_and_numpys_statistics(monkeypatch, n_steps):
    rng = np.random.default_rng(n_steps)
    n = 5000
    levels = rng.integers(1, n_steps + 1, n).astype(np.int64)
    gaps = rng.integers(0, 10**10, (n, n_steps))
    gaps[:, 0] = 1_700_000_000_000_000 + rng.integers(0, 10**12, n)
    step_ts = np.ascontiguousarray(np.cumsum(gaps, axis=1), np.int64)
    counts = [int((levels > k).sum()) for k in range(n_steps)]
    monkeypatch.setattr(F, "PARALLEL_STATS_FROM", 10**9)
    one = F._step_times(levels, step_ts, counts)
    monkeypatch.setattr(F, "PARALLEL_STATS_FROM", 0)
    two = F._step_times(levels, step_ts, counts)
    assert one.tobytes() == two.tobytes()
    assert np.isnan(one[0]).all()
    for k in range(1, n_steps):
        r = levels > k
        prev, first = step_ts[r, k] - step_ts[r, k - 1], step_ts[r, k] - step_ts[r, 0]
        assert one[k, 0] == r.sum() == counts[k]
        assert one[k, 2] == np.median(prev) / 1e6 and one[k, 4] == np.median(first) / 1e6
        assert np.isclose(one[k, 1], prev.mean() / 1e6) and np.isclose(one[k, 3], first.mean() / 1e6)


def test_no_attempt_no_statistics():
    out = F._step_times(np.zeros(0, np.int64), np.zeros((0, 3), np.int64), [0, 0, 0])
    assert out.shape == (3, 5) and np.isnan(out).all()
