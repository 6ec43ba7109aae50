"""Rows of a block of users read from the sequence store (Numba): the kernel behind ``SequenceStore.scan``.

:mod:`yunying.storage.sequence_store` takes it from :mod:`.loader` when it first cuts a block (the
ahead-of-time build, or this module on the JIT), so that opening the store (to list its events, or to check it
is fresh) loads no kernel.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def select_rows(starts, ts, code, lut, keep_all, lo, hi, u0, u1, out_ts, out_code, out_starts, out_users,
                keep_users):
    """Copy the rows of users ``u0..u1`` with ``lo <= ts <= hi`` and a named event (any event with
    ``keep_all``), their codes mapped through ``lut``; with a non-empty ``keep_users`` mask, only the rows
    of the users it keeps. Returns (rows, users) written."""
    j = 0
    nu = 0
    masked = keep_users.size > 0
    for u in range(u0, u1):
        j0 = j
        if masked and not keep_users[u]:
            continue
        for i in range(starts[u], starts[u + 1]):
            # branch-free: write every row, advance only past the kept ones (which rows are kept is
            # unpredictable, and a mispredicted branch costs more than the store)
            t = ts[i]
            c = lut[code[i]]
            out_ts[j] = t
            out_code[j] = c
            j += (t >= lo) & (t <= hi) & ((c >= 0) | keep_all)
        if j > j0:
            out_starts[nu] = j0
            out_users[nu] = u
            nu += 1
    out_starts[nu] = j
    return j, nu
