"""Runs of equal adjacent user ids (Numba): where each user's rows start in an ordered batch.

Called by :func:`yunying.sequences.chunks.runs` through :mod:`.loader` when it first cuts a batch, so that
engines (and commands that never run a kernel) load without Numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def string_run_starts(offsets, data, base):
    """Start indices of runs of equal adjacent strings in an Arrow string array (offsets relative to ``base``)."""
    n = offsets.size - 1
    out = np.empty(n + 1, np.int64)
    k = 0
    if n == 0:
        out[0] = 0
        return out[:1]
    out[k] = 0
    k += 1
    for i in range(1, n):
        a0 = offsets[i - 1] - base
        a1 = offsets[i] - base
        b1 = offsets[i + 1] - base
        la = a1 - a0
        lb = b1 - a1
        same = la == lb
        if same:
            for j in range(la):
                if data[a0 + j] != data[a1 + j]:
                    same = False
                    break
        if not same:
            out[k] = i
            k += 1
    out[k] = n
    return out[: k + 1]


@njit(cache=True, nogil=True)
def key_runs(keys):
    """Run starts of equal adjacent integer keys (e.g. 64-bit hashes of the user ids), plus the end."""
    n = keys.size
    out = np.empty(n + 1, np.int64)
    out[0] = 0
    k = 1
    for i in range(1, n):
        if keys[i] != keys[i - 1]:
            out[k] = i
            k += 1
    if n > 0:
        out[k] = n
        k += 1
    return out[:k]


@njit(cache=True, nogil=True)
def fixed_width_runs(offsets, words, width_words):
    """Run starts of equal adjacent ids when every id has the same byte length (a multiple of 8):
    compares 8 bytes at a time. Returns an empty array when the lengths are not all equal."""
    n = offsets.size - 1
    out = np.empty(n + 1, np.int64)
    width = width_words * 8
    if n == 0:
        out[0] = 0
        return out[:1]
    if offsets[1] - offsets[0] != width:
        return out[:0]
    out[0] = 0
    k = 1
    for i in range(1, n):
        if offsets[i + 1] - offsets[i] != width:
            return out[:0]
        b = i * width_words
        for j in range(width_words):
            if words[b - width_words + j] != words[b + j]:
                out[k] = i
                k += 1
                break
    out[k] = n
    return out[: k + 1]
