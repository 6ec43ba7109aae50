"""Activity kernel: daily active users and days active per period, for stickiness (docs/definitions.md#stickiness)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .localtime import local_day, period_ordinal
from .common import max_run


@njit(cache=True, nogil=True)
def activity_kernel(starts, ts, code, mask, any_event, points, offsets, unit, day_lo, day_hi, p_lo, p_hi, max_days):
    """Daily active users over days [day_lo, day_hi], and for each period ordinal in [p_lo, p_hi]
    its active users and the histogram of their number of active days in it."""
    n_users = starts.size - 1
    dau = np.zeros(max(day_hi - day_lo + 1, 0), np.int64)
    n_p = max(p_hi - p_lo + 1, 0)
    period_users = np.zeros(n_p, np.int64)
    hist = np.zeros((n_p, max_days + 1), np.int64)
    single = points.size == 1
    maxlen = max_run(starts)
    days = np.empty(maxlen + 1, np.int64)
    for u in range(n_users):
        m = 0
        for i in range(starts[u], starts[u + 1]):
            c = code[i]
            if not (any_event or (c >= 0 and mask[c])):
                continue
            d = local_day(ts[i], points, offsets, single)
            if d >= day_lo and d <= day_hi:
                days[m] = d
                m += 1
        if m == 0:
            continue
        a = np.unique(days[:m])
        for j in range(a.size):
            dau[a[j] - day_lo] += 1
        j = 0
        while j < a.size:
            p = period_ordinal(a[j], unit)
            k = j
            while k < a.size and period_ordinal(a[k], unit) == p:
                k += 1
            if p >= p_lo and p <= p_hi:
                period_users[p - p_lo] += 1
                cnt = k - j
                if cnt > max_days:
                    cnt = max_days
                hist[p - p_lo, cnt] += 1
            j = k
    return dau, period_users, hist
