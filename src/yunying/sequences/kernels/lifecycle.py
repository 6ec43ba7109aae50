"""Lifecycle kernel: new, returning, resurrecting and dormant users per period (docs/definitions.md#lifecycle)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .localtime import local_day, period_ordinal
from .common import max_run


@njit(cache=True, nogil=True)
def lifecycle_kernel(starts, ts, code, mask, any_event, points, offsets, unit, lo, hi):
    """Per period ordinal in [lo, hi]: new, returning, resurrecting and dormant users.

    A user is active in a period when they did a matching event in it. new: the period is
    their first active period ever; returning: also active in the previous period;
    resurrecting: active, not in the previous period, active before; dormant: active in the
    previous period but not in this one.
    """
    n_users = starts.size - 1
    n = hi - lo + 1
    out = np.zeros((4, max(n, 0)), np.int64)
    single = points.size == 1
    maxlen = max_run(starts)
    ords = np.empty(maxlen + 1, np.int64)
    for u in range(n_users):
        s = starts[u]
        m = 0
        for i in range(s, starts[u + 1]):
            c = code[i]
            if not (any_event or (c >= 0 and mask[c])):
                continue
            ords[m] = period_ordinal(local_day(ts[i], points, offsets, single), unit)
            m += 1
        if m == 0:
            continue
        a = np.unique(ords[:m])  # sorted distinct active periods
        for j in range(a.size):
            p = a[j]
            if p >= lo and p <= hi:
                if j == 0:
                    out[0, p - lo] += 1
                elif a[j - 1] == p - 1:
                    out[1, p - lo] += 1
                else:
                    out[2, p - lo] += 1
            q = p + 1
            if (j + 1 >= a.size or a[j + 1] != q) and q >= lo and q <= hi:
                out[3, q - lo] += 1
    return out
