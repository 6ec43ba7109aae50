"""Numba kernels of the in-memory ``--events FILE.parquet`` store build (``adhoc_parquet.py``).

All release the GIL, so the row groups and the users are worked on by several threads at once.

* :func:`repeated` — the values occurring more than once in an array of 64-bit ``event_uuid`` hashes (0: a row
  without a uuid, never repeated), found in place: a two-level radix partition by the top 16 bits (each value
  moved once, 256 write heads), then per small partition a hash set that fits the CPU's first-level cache;
  :func:`partition_top` and :func:`repeated_parts` are its two halves, for several threads (runs of the array
  partitioned at once, then disjoint top bytes);
* :func:`scatter_users` — scan-order rows to their final user's slots (a counting sort: one write each;
  :func:`count_users` tells when the rows are grouped by user already, and nothing need move);
* :func:`order_users` — each user's rows ordered by (time, event code), with each code's first and last time.
* :func:`earliest_links` — of each anonymous id, the user id of its earliest row, ties by the smallest user id
  (its identity link);
* :func:`fill_rows` — a batch's times, event codes and id numbers into the file's arrays, link rows noted;
* :func:`resolve_links` — identity links resolved on id numbers (loops cut, chains followed);
* :func:`partition_top_into` — a row group's hashes into the file's array by top byte.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_SORT_ABOVE = 1 << 20  # a partition this large (a uuid repeated that often) is sorted instead of hashed


@njit(cache=True, nogil=True)
def _partition(h, a, e, shift, bounds):
    """Reorder ``h[a:e]`` in place by byte ``(h >> shift) & 255`` (American flag sort); ``bounds[b]:bounds[b+1]``
    is then the part holding byte ``b``."""
    sh = np.uint64(shift)
    bounds[:] = 0
    for i in range(a, e):
        bounds[np.intp((h[i] >> sh) & np.uint64(255)) + 1] += 1
    bounds[0] = a
    for b in range(256):
        bounds[b + 1] += bounds[b]
    heads = bounds[:256].copy()
    for b in range(256):
        end = bounds[b + 1]
        while heads[b] < end:
            x = h[heads[b]]
            d = np.intp((x >> sh) & np.uint64(255))
            while d != b:
                j = heads[d]
                heads[d] = j + 1
                y = h[j]
                h[j] = x
                x = y
                d = np.intp((x >> sh) & np.uint64(255))
            h[heads[b]] = x
            heads[b] += 1


@njit(cache=True, nogil=True)
def repeated(h):
    """The nonzero values occurring more than once in ``h``, each once, written to ``h[:m]``; returns ``m``.
    ``h`` is reordered (its contents are lost). One thread: :func:`partition_top` and :func:`repeated_parts`
    split the same work over several."""
    b1 = np.zeros((1, 257), np.int64)
    partition_top(h, 0, h.size, b1[0])
    out = repeated_parts(h, b1, 0, 256)
    h[:out.size] = out
    return out.size


@njit(cache=True, nogil=True)
def partition_top(h, a, e, bounds):
    """Reorder the run ``h[a:e]`` in place by top byte; ``bounds[x]:bounds[x + 1]`` holds top byte ``x``."""
    _partition(h, a, e, 56, bounds)


@njit(cache=True, nogil=True)
def partition_top_into(src, dst, o, bounds):
    """``src`` copied to ``dst[o:o + src.size]`` ordered by top byte (one counting pass, one scatter: several
    times faster than reordering in place); ``bounds`` as :func:`partition_top`'s."""
    bounds[:] = 0
    for i in range(src.size):
        bounds[np.intp(src[i] >> np.uint64(56)) + 1] += 1
    bounds[0] = o
    for b in range(256):
        bounds[b + 1] += bounds[b]
    heads = bounds[:256].copy()
    for i in range(src.size):
        v = src[i]
        b = np.intp(v >> np.uint64(56))
        dst[heads[b]] = v
        heads[b] += 1


@njit(cache=True, nogil=True)
def _push(out, m, v):
    if m == out.size:
        grown = np.empty(2 * out.size, np.uint64)
        grown[:m] = out
        out = grown
    out[m] = v
    return out


@njit(cache=True, nogil=True)
def repeated_parts(h, b1, x0, x1):
    """The nonzero values occurring more than once in ``h`` whose top byte is ``x0 .. x1 - 1``, each once, when
    ``h`` is runs each partitioned by :func:`partition_top` (``b1[s]``: run ``s``'s bounds). Reorders those
    parts only, so threads given disjoint top bytes work on ``h`` at once. Per top byte, each run's part is
    partitioned by the next byte; then per (top byte, next byte) a hash set that fits the CPU's first-level
    cache sees that part of every run (or, when larger than ``_SORT_ABOVE``, a sorted copy)."""
    runs = b1.shape[0]
    b2 = np.zeros((runs, 257), np.int64)
    cap = 64
    keys = np.zeros(cap, np.uint64)
    seen = np.zeros(cap, np.uint8)
    out = np.empty(1024, np.uint64)
    m = 0
    for x in range(x0, x1):
        for s in range(runs):
            _partition(h, b1[s, x], b1[s, x + 1], 48, b2[s])
        for y in range(256):
            total = 0
            for s in range(runs):
                total += b2[s, y + 1] - b2[s, y]
            if total < 2:
                continue
            if total > _SORT_ABOVE:  # few distinct values repeated many times: sort, no table of that size
                part = np.empty(total, np.uint64)
                j = 0
                for s in range(runs):
                    for i in range(b2[s, y], b2[s, y + 1]):
                        part[j] = h[i]
                        j += 1
                part.sort()
                i = 0
                while i < total:
                    j = i + 1
                    while j < total and part[j] == part[i]:
                        j += 1
                    if j - i > 1 and part[i] != 0:
                        out = _push(out, m, part[i])
                        m += 1
                    i = j
                continue
            size = 16
            while size < 2 * total:
                size *= 2
            if size > cap:
                cap = size
                keys = np.zeros(cap, np.uint64)
                seen = np.zeros(cap, np.uint8)
            mask = np.uint64(size - 1)
            for s in range(runs):
                for i in range(b2[s, y], b2[s, y + 1]):
                    v = h[i]
                    if v == 0:
                        continue
                    k = np.intp(v & mask)
                    while keys[k] != 0 and keys[k] != v:
                        k = np.intp((np.uint64(k) + np.uint64(1)) & mask)
                    if keys[k] == 0:
                        keys[k] = v
                    elif seen[k] == 0:
                        seen[k] = 1
                        out = _push(out, m, v)
                        m += 1
            keys[:size] = 0
            seen[:size] = 0
    return out[:m].copy()


@njit(cache=True, nogil=True)
def count_users(k, n_of, n_users, edge):
    """Rows per final user (``n_of[k[i]]``; rows with ``k < 0`` — dropped — not counted). ``edge``: the first
    and last user met and 1 when every row's user is at least the previous row's (the rows come grouped by user,
    in user order), else 0."""
    counts = np.zeros(n_users, np.int64)
    first, last, grouped = -1, -1, 1
    for i in range(k.size):
        if k[i] >= 0:
            x = n_of[k[i]]
            counts[x] += 1
            if x < last:
                grouped = 0
            if first < 0:
                first = x
            last = x
    edge[0], edge[1], edge[2] = first, last, grouped
    return counts


@njit(cache=True, nogil=True)
def remap_codes(c, remap):
    """``c[i] = remap[c[i]]`` in place."""
    for i in range(c.size):
        c[i] = remap[c[i]]


@njit(cache=True, nogil=True)
def scatter_users(k, n_of, t, c, remap, pos, out_t, out_c):
    """Row ``i`` (of final user ``n_of[k[i]]``; ``k[i] < 0``: dropped) to ``out_t/out_c[pos[user]]``, its code
    through ``remap``; ``pos`` advances (it starts at each user's first slot)."""
    for i in range(k.size):
        if k[i] >= 0:
            x = n_of[k[i]]
            j = pos[x]
            out_t[j] = t[i]
            out_c[j] = remap[c[i]]
            pos[x] = j + 1


@njit(cache=True, nogil=True)
def _in_order(ts, code, a, b):
    for i in range(a + 1, b):
        if ts[i] < ts[i - 1] or (ts[i] == ts[i - 1] and code[i] < code[i - 1]):
            return False
    return True


@njit(cache=True, nogil=True)
def order_users(starts, ts, code, u0, u1, lo, hi):
    """Rows ``starts[u]:starts[u+1]`` of users ``u0 .. u1 - 1`` ordered by (time, code) in place (insertion sort
    for short runs — rows mostly come in time order — two stable merge sorts for long ones); ``lo``/``hi``:
    each code's first and last time seen."""
    for u in range(u0, u1):
        a, b = starts[u], starts[u + 1]
        if b - a <= 48:
            for i in range(a + 1, b):
                t, c = ts[i], code[i]
                j = i - 1
                while j >= a and (ts[j] > t or (ts[j] == t and code[j] > c)):
                    ts[j + 1] = ts[j]
                    code[j + 1] = code[j]
                    j -= 1
                ts[j + 1] = t
                code[j + 1] = c
        elif not _in_order(ts, code, a, b):
            by_code = np.argsort(code[a:b], kind="mergesort")
            order = by_code[np.argsort(ts[a:b][by_code], kind="mergesort")]
            ts[a:b] = ts[a:b][order]
            code[a:b] = code[a:b][order]
        for i in range(a, b):
            e = code[i]
            if ts[i] < lo[e]:
                lo[e] = ts[i]
            if ts[i] > hi[e]:
                hi[e] = ts[i]


@njit(cache=True, nogil=True)
def earliest_links(gd, gu, lt, n_ids, off, data):
    """Of each anonymous id ``gd[i]`` (numbers below ``n_ids``), the user id ``gu[i]`` of its earliest row
    (``lt``; equal times: the smallest user id by string, ``off``/``data`` as :class:`adhoc_parquet.Interner`'s):
    the one link per id that the import's ``checked_scan.LINK_USER`` keeps. Returns (anonymous ids, their user
    ids, those rows' times), by anonymous id."""
    best_t = np.full(n_ids, np.iinfo(np.int64).max, np.int64)
    best_u = np.full(n_ids, -1, np.int64)
    for i in range(gd.size):
        d = gd[i]
        if best_u[d] < 0 or lt[i] < best_t[d] or (lt[i] == best_t[d] and _greater(off, data, best_u[d], gu[i])):
            best_t[d] = lt[i]
            best_u[d] = gu[i]
    d = np.flatnonzero(best_u >= 0)
    return d, best_u[d], best_t[d]


@njit(cache=True, nogil=True)
def fill_rows(raw_t, unit, raw_end, ei, lut, ui, di, no_u, no_d, gu, gd, t, c, k, used_u, used_d, links):
    """One batch's rows into the file's arrays: time ``t`` (µs: ``raw_t`` times ``unit``, or divided by
    ``-unit`` when negative), event code ``c = lut[ei]``, id number ``k``: the user id's (``gu[ui]``, -1 when its
    typed value is NULL) if any, else the anonymous id's (``gd[di]``); a missing id column (``no_u``/``no_d``)
    reads entry 0 (-1). ``used_u``/``used_d`` mark the entries some row's user is; ``links`` gets the rows
    carrying both ids with different values. Indices -1 (NULL) read the last entry (-1). Returns how many
    links, or -1 when a row has neither id, a NULL name or a time before 1970 or from 2100 on (``raw_end``: the
    first raw value that is, so no product overflows)."""
    m = 0
    for i in range(t.size):
        v = raw_t[i]
        if v < 0 or v >= raw_end:
            return -1
        t[i] = v * unit if unit > 0 else v // -unit
        e = lut[ei[i]]
        if e < 0:
            return -1
        c[i] = e
        x = 0 if no_u else ui[i]
        y = 0 if no_d else di[i]
        a = gu[x]
        b = gd[y]
        if a >= 0:
            k[i] = a
            used_u[x] = True
            if b >= 0 and b != a:
                links[m] = i
                m += 1
        elif b >= 0:
            k[i] = b
            used_d[y] = True
        else:
            return -1
    return m


@njit(cache=True, nogil=True, inline="always")
def _greater(off, data, a, b):
    """Whether string ``a`` sorts after string ``b`` (bytes ``data[off[x]:off[x + 1]]``; UTF-8 byte order is
    Python's code point order)."""
    pa_, ea, pb, eb = off[a], off[a + 1], off[b], off[b + 1]
    while pa_ < ea and pb < eb:
        if data[pa_] != data[pb]:
            return data[pa_] > data[pb]
        pa_ += 1
        pb += 1
    return ea - pa_ > eb - pb


@njit(cache=True, nogil=True)
def resolve_links(nxt, off, data):
    """Each id's final id under the links ``nxt`` (``nxt[d]``: the id ``d`` was linked to, -1: none; at most one
    link an id), as ``identities.resolve`` leaves them after one insert: of each loop the link of its greatest id
    (by string: ``off``/``data`` as :class:`adhoc_parquet.Interner`'s) is dropped (``identities.loop_breakers``:
    the newest link, ties by the greatest ``distinct_id``), then chains are followed to their end. ``nxt`` is
    changed (loops cut)."""
    n = nxt.size
    state = np.full(n, -1, np.int64)  # the walk that visited each id
    for s in range(n):
        x = s
        while nxt[x] >= 0 and state[x] < 0:
            state[x] = s
            x = nxt[x]
        if nxt[x] >= 0 and state[x] == s:  # back into this walk: a loop from x on
            best = x
            y = nxt[x]
            while y != x:
                if _greater(off, data, y, best):
                    best = y
                y = nxt[y]
            nxt[best] = -1
    final = np.arange(n)
    done = np.zeros(n, np.bool_)
    for s in range(n):
        x = s
        while nxt[x] >= 0 and not done[x]:
            x = nxt[x]
        end = final[x]
        x = s
        while nxt[x] >= 0 and not done[x]:
            final[x] = end
            done[x] = True
            x = nxt[x]
    return final
