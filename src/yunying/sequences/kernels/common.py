"""What every sequence kernel shares: the longest user run, and one canonical order for tied rows.

Every kernel runs over *runs*: the events of one user, contiguous and ordered by time, delimited by
``starts`` (``starts[u]`` .. ``starts[u + 1]``). Rows carry an integer event ``code`` (``-1`` for events
the analysis does not name) and a timestamp in microseconds since the epoch (UTC). Kernels never see
strings.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .consts import I64_MAX, I64_MIN  # noqa: F401 - the kernels' (and their callers') bounds


@njit(cache=True, nogil=True)
def max_run(starts):
    """The most rows any user has (the size of a kernel's per-user scratch arrays)."""
    m = 0
    for u in range(starts.size - 1):
        ln = starts[u + 1] - starts[u]
        if ln > m:
            m = ln
    return m


@njit(cache=True, inline="always")
def sort_ties(ts, order, key, n):
    """Order ``order[:n]`` (row numbers, already by time) so that rows with equal timestamps are by
    ``key`` (stable: equal keys keep the engine's order). ``key[:n]`` is permuted along."""
    i = 0
    while i < n:
        j = i + 1
        while j < n and ts[order[j]] == ts[order[i]]:
            j += 1
        if j - i > 1:  # insertion sort of the tie group by key (stable; groups are small)
            for a in range(i + 1, j):
                ka = key[a]
                ra = order[a]
                b = a - 1
                while b >= i and key[b] > ka:
                    key[b + 1] = key[b]
                    order[b + 1] = order[b]
                    b -= 1
                key[b + 1] = ka
                order[b + 1] = ra
        i = j


@njit(cache=True, inline="always")
def lowest_bit(m):
    """1 + the index of the lowest set bit of ``m`` (0 when ``m`` is 0)."""
    if m == 0:
        return 0
    k = 1
    while (m & 1) == 0:
        m >>= 1
        k += 1
    return k
