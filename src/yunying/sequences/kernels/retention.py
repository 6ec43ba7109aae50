"""Retention kernel: cohort counts and value sums per user run (docs/definitions.md#retention)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .localtime import local_day, period_ordinal
from .common import max_run


@njit(cache=True, nogil=True)
def retention_kernel(starts, ts, code, start_mask, return_mask, start_any, return_any, points, offsets, unit,
                     first_time, coh_lo, coh_hi, ord_hi, col_lo, col_hi, bcode, n_b, value, has_value):
    """Cohort retention counts (and property sums) for every user run.

    A row is a start event when ``start_any`` or ``start_mask[code]``; a return likewise.
    Cohorts: the period of the user's first start event (``first_time``) or every period
    with a start event (recurring), kept when its ordinal is in [coh_lo, coh_hi]. Column
    j counts cohort members with a return in periods [c + col_lo[j], c + col_hi[j]]
    (column 0 is the cohort itself: everyone). Values: the sum of ``value`` over return
    events in those periods (in period 0 only at or after the instant of the cohort's entry event).
    """
    n_users = starts.size - 1
    n_coh = coh_hi - coh_lo + 1
    n_cols = col_lo.size
    counts = np.zeros((max(n_coh, 0), n_b, n_cols), np.int64)
    sums = np.zeros((max(n_coh, 0), n_b, n_cols), np.float64)
    span = ord_hi - coh_lo + 2
    if span < 1:
        span = 1
    ret = np.zeros(span, np.bool_)
    maxlen = max_run(starts)
    ords = np.empty(maxlen, np.int64)
    entries = np.empty(maxlen, np.int64)   # row offsets (within the user) of cohort entry events
    prefix = np.zeros(span + 1, np.int64)
    single = points.size == 1
    for u in range(n_users):
        s = starts[u]
        n = starts[u + 1] - s
        n_entries = 0
        any_ret = False
        for i in range(n):
            t = ts[s + i]
            o = period_ordinal(local_day(t, points, offsets, single), unit)
            ords[i] = o
            c = code[s + i]
            is_start = start_any or (c >= 0 and start_mask[c])
            is_ret = return_any or (c >= 0 and return_mask[c])
            if is_ret:
                if o >= coh_lo and o <= ord_hi:
                    ret[o - coh_lo] = True
                    any_ret = True
            if is_start:
                if first_time:
                    if n_entries == 0:
                        entries[0] = i
                        n_entries = 1
                else:
                    # recurring: the first start event of each period (periods are non-decreasing
                    # except across a DST fall-back at midnight, hence the scan)
                    dup = False
                    for e in range(n_entries):
                        if ords[entries[e]] == o:
                            dup = True
                            break
                    if not dup:
                        entries[n_entries] = i
                        n_entries += 1
        if n_entries and any_ret:
            acc = 0
            for j in range(span):
                prefix[j] = acc
                if ret[j]:
                    acc += 1
            prefix[span] = acc
        for e in range(n_entries):
            ei = entries[e]
            c = ords[ei]
            if c < coh_lo or c > coh_hi:
                continue
            b = bcode[s + ei] if n_b > 1 else 0
            ci = c - coh_lo
            counts[ci, b, 0] += 1
            for j in range(1, n_cols):
                a = c + col_lo[j] - coh_lo
                z = c + col_hi[j] - coh_lo
                if z > span - 1:
                    z = span - 1
                if a < 0:
                    a = 0
                if any_ret and a <= z and prefix[z + 1] - prefix[a] > 0:
                    counts[ci, b, j] += 1
            if has_value:
                for i in range(n):
                    c2 = code[s + i]
                    if not (return_any or (c2 >= 0 and return_mask[c2])):
                        continue
                    v = value[s + i]
                    if v != v:
                        continue
                    off = ords[i] - c
                    for j in range(n_cols):
                        if off >= col_lo[j] and off <= col_hi[j]:
                            if off == 0 and ts[s + i] < ts[s + ei]:
                                continue  # before the entry event (one at its instant counts)
                            sums[ci, b, j] += v
        if any_ret:
            for i in range(n):
                o = ords[i]
                if o >= coh_lo and o <= ord_hi:
                    ret[o - coh_lo] = False
    return counts, sums
