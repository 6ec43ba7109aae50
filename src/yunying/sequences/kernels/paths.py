"""Paths kernel: the events after (or before) an anchor event (docs/definitions.md#paths)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .common import max_run, sort_ties


@njit(cache=True, nogil=True)
def paths_kernel(starts, ts, code, anchor, backward, depth, max_gap, collapse, entry_lo, entry_hi, all_occurrences):
    """Event paths after (or before) an anchor event.

    Rows with equal timestamps are ordered by event code (codes follow event names, so the
    order does not depend on the engine). For each user's first anchor event in
    [entry_lo, entry_hi) (or every one), the next ``depth`` events (``collapse``: repeats of
    the previous event skipped; ``max_gap`` > 0: the path ends at a longer pause). Returns
    ``(user, seq)`` with ``seq[p, k]`` the code of the k+1-th event away from the anchor, -1 past the end.
    """
    n_users = starts.size - 1
    cap = ts.size if all_occurrences else n_users
    out_u = np.empty(cap, np.int64)
    seq = np.full((cap, depth), -1, np.int32)
    n_out = 0
    maxlen = max_run(starts)
    order = np.empty(maxlen, np.int64)
    key = np.empty(maxlen, np.int64)
    for u in range(n_users):
        s = starts[u]
        n = starts[u + 1] - s
        for i in range(n):
            order[i] = s + i
            key[i] = code[s + i]
        sort_ties(ts, order, key, n)  # ties by event code (codes follow event names)
        rng_start = n - 1 if backward else 0
        step = -1 if backward else 1
        p = rng_start
        while 0 <= p < n:
            r = order[p]
            if code[r] == anchor and ts[r] >= entry_lo and ts[r] < entry_hi:
                prev_code = code[r]
                prev_t = ts[r]
                k = 0
                q = p + step
                while 0 <= q < n and k < depth:
                    rq = order[q]
                    if max_gap > 0:
                        gap = ts[rq] - prev_t if not backward else prev_t - ts[rq]
                        if gap > max_gap:
                            break
                    prev_t = ts[rq]
                    if collapse and code[rq] == prev_code:
                        q += step
                        continue
                    seq[n_out, k] = code[rq]
                    prev_code = code[rq]
                    k += 1
                    q += step
                out_u[n_out] = u
                n_out += 1
                if not all_occurrences:
                    break
            p += step
    return out_u[:n_out], seq[:n_out]
