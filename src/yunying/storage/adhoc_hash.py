"""The 64-bit hash of a byte range that ``--events FILE`` reading gives ids and ``event_uuid`` s (Numba, inlined
into the kernels of ``adhoc_parquet.py`` and ``adhoc_pages.py``, so both hash a value alike)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def hash_one(data, a, e):
    """A 64-bit hash of ``data[a:e]`` (8 bytes a step, murmur's finaliser)."""
    k = np.uint64(0x9E3779B97F4A7C15)
    h = np.uint64(e - a) * k
    p = a
    while p + 8 <= e:
        w = (np.uint64(data[p]) | np.uint64(data[p + 1]) << np.uint64(8) | np.uint64(data[p + 2]) << np.uint64(16)
             | np.uint64(data[p + 3]) << np.uint64(24) | np.uint64(data[p + 4]) << np.uint64(32)
             | np.uint64(data[p + 5]) << np.uint64(40) | np.uint64(data[p + 6]) << np.uint64(48)
             | np.uint64(data[p + 7]) << np.uint64(56))
        h = (h ^ w) * k
        h ^= h >> np.uint64(31)
        p += 8
    if p < e:
        w = np.uint64(0)
        for j in range(e - p):
            w |= np.uint64(data[p + j]) << np.uint64(8 * j)
        h = (h ^ w) * k
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h
