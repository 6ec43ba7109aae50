"""Interval kernel: time from an event to the next other event (docs/definitions.md#intervals)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .common import max_run, sort_ties


@njit(cache=True, nogil=True)
def interval_kernel(starts, ts, code, first_mask, then_mask, window, entry_lo, entry_hi, first_only):
    """Seconds from each ``first`` event (entry in [entry_lo, entry_hi)) to the user's next ``then`` event.

    Ties: at equal timestamps a ``then`` event comes after a ``first`` event (interval 0);
    when both are the same event, the next occurrence. Returns (user, seconds) per pair found
    within ``window`` (microseconds; <= 0: unbounded).
    """
    n_users = starts.size - 1
    out_u = np.empty(ts.size, np.int64)
    out_s = np.empty(ts.size, np.float64)
    n_out = 0
    maxlen = max_run(starts)
    order = np.empty(maxlen, np.int64)
    key = np.empty(maxlen, np.int64)
    for u in range(n_users):
        s = starts[u]
        n = starts[u + 1] - s
        for i in range(n):
            order[i] = s + i
            c = code[s + i]
            f = c >= 0 and first_mask[c]
            t = c >= 0 and then_mask[c]
            key[i] = 0 if (f and not t) else (1 if (f and t) else 2)
        # ties: first-only events, then events that are both, then then-only events
        sort_ties(ts, order, key, n)
        # backward scan: time of the nearest later `then`
        nxt = np.int64(-1)
        has_next = False
        first_seen = -1
        if first_only:
            for p in range(n):
                r = order[p]
                c = code[r]
                if c >= 0 and first_mask[c] and ts[r] >= entry_lo and ts[r] < entry_hi:
                    first_seen = p
                    break
            if first_seen < 0:
                continue
        for p in range(n - 1, -1, -1):
            r = order[p]
            c = code[r]
            if c < 0:
                continue
            if first_mask[c] and has_next and ts[r] >= entry_lo and ts[r] < entry_hi:
                if not first_only or p == first_seen:
                    d = nxt - ts[r]
                    if window <= 0 or d <= window:
                        out_u[n_out] = u
                        out_s[n_out] = d / 1e6
                        n_out += 1
            if then_mask[c]:
                nxt = ts[r]
                has_next = True
    return out_u[:n_out], out_s[:n_out]
