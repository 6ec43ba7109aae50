"""Funnel kernels: the attempts of every user run (docs/definitions.md#funnels)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .common import I64_MAX, I64_MIN, lowest_bit, max_run, sort_ties
from .consts import ORDERED, STRICT, UNORDERED  # noqa: F401 - the modes (callers import them from consts)


@njit(cache=True, nogil=True)
def funnel_kernel(starts, ts, code, step_mask, excl_mask, n_steps, window, mode, repeat,
                  entry_lo, entry_hi, step_hi, excl_from, excl_to, step_count, multiplicity):
    """Evaluate funnel attempts for every user run.

    ``step_mask[c]`` / ``excl_mask[c]``: bit k set when event code ``c`` is step k /
    exclusion k. Rows with equal timestamps have no order: an attempt uses them in
    whichever order advances it furthest (docs/definitions.md, "Ties"), so the result
    does not depend on how the engine orders ties. Returns, per counted attempt: user
    index, level (steps reached) and the row of each step's event (-1 beyond the level).

    Modes: ordered (greedy earliest match per attempt, every step-1 event an
    attempt), strict (the next event of the user must be the next step),
    unordered (distinct steps inside the window from any step event).
    In user mode (``repeat`` False) one attempt per user is returned: the valid
    attempt with the furthest level, ties to the one completing that level first
    (in time), then to the latest start. In repeat mode every valid attempt is returned and
    an event serves one attempt at most.
    """
    n_users = starts.size - 1
    n_rows = ts.size
    n_excl = excl_from.size
    cap = n_users if not repeat else n_rows
    out_user = np.empty(cap, np.int64)
    out_level = np.empty(cap, np.int8)
    out_rows = np.full((cap, n_steps), -1, np.int64)
    n_out = 0
    maxlen = max_run(starts)
    order = np.empty(maxlen, np.int64)
    key = np.empty(maxlen, np.int64)
    nxt = np.empty((n_steps, maxlen + 1), np.int64)
    nxe = np.empty((max(n_excl, 1), maxlen + 1), np.int64)
    used = np.zeros(maxlen, np.bool_)
    taken = np.zeros(maxlen, np.int64)  # taken[p] == stamp: row p serves the current attempt
    stamp = 0
    gs = np.empty(maxlen, np.int64)
    ge = np.empty(maxlen, np.int64)
    cur = np.empty(n_steps, np.int64)
    att = np.empty(n_steps, np.int64)
    best = np.empty(n_steps, np.int64)
    n_names = multiplicity.size
    cnt = np.zeros(n_names, np.int64)
    for u in range(n_users):
        s = starts[u]
        n = starts[u + 1] - s
        if n == 0:
            continue
        # canonical order: by time, ties by the lowest step the event matches (others first)
        for i in range(n):
            order[i] = s + i
            c = code[s + i]
            key[i] = lowest_bit(step_mask[c]) if c >= 0 else 0
        sort_ties(ts, order, key, n)
        best_level = 0
        best_end = I64_MAX
        if mode != UNORDERED:
            # tie groups: rows gs[p]..ge[p]-1 share row p's timestamp
            g = 0
            for p in range(1, n + 1):
                if p == n or ts[order[p]] != ts[order[g]]:
                    for q in range(g, p):
                        gs[q] = g
                        ge[q] = p
                    g = p
            for k in range(n_steps):
                nxt[k, n] = n
            for p in range(n - 1, -1, -1):
                c = code[order[p]]
                m = step_mask[c] if c >= 0 else 0
                for k in range(n_steps):
                    nxt[k, p] = p if (m >> k) & 1 else nxt[k, p + 1]
            for e in range(n_excl):
                nxe[e, n] = n
            if n_excl > 0:
                for p in range(n - 1, -1, -1):
                    c = code[order[p]]
                    m = excl_mask[c] if c >= 0 else 0
                    for e in range(n_excl):
                        nxe[e, p] = p if (m >> e) & 1 else nxe[e, p + 1]
            if repeat:
                for p in range(n):
                    used[p] = False
            for p in range(n):
                r0 = order[p]
                c0 = code[r0]
                if c0 < 0 or (step_mask[c0] & 1) == 0:
                    continue
                t0 = ts[r0]
                if t0 < entry_lo or t0 >= entry_hi:
                    continue
                if repeat and used[p]:
                    continue
                deadline = t0 + window
                dl = deadline
                if step_hi - 1 < dl:
                    dl = step_hi - 1
                # Tied rows have no order: the attempt takes them in whichever order advances it
                # furthest. Ordered: it uses the rows of its current tie group for as many further
                # steps as they serve, then moves on. Strict: a later group must be used up before
                # the next one; how many steps the first group serves is tried from most to fewest.
                att_lvl = 0
                jl = n_steps
                first_pass = True
                while True:
                    stamp += 1
                    taken[p] = stamp
                    lvl = 1
                    cur[0] = p
                    ga = gs[p]
                    gb = ge[p]
                    n_taken = 1
                    extra0 = 0
                    first_group = True
                    for k in range(1, n_steps):
                        q = nxt[k, ga]
                        while q < n and (taken[q] == stamp or (repeat and used[q])):
                            q = nxt[k, q + 1]
                        if mode == STRICT and (q >= gb or (first_group and extra0 >= jl)):
                            if (not first_group and n_taken < gb - ga) or gb >= n:
                                break  # the next instant is not used up: it ends the attempt
                            ga = gb
                            gb = ge[ga]
                            q = nxt[k, ga]
                            while q < gb and repeat and used[q]:
                                q = nxt[k, q + 1]
                            if q >= gb:
                                break
                            n_taken = 0
                            first_group = False
                        if q >= n or ts[order[q]] > dl:
                            break
                        if q >= gb:
                            ga = gs[q]
                            gb = ge[q]
                            n_taken = 0
                            first_group = False
                        taken[q] = stamp
                        n_taken += 1
                        if first_group:
                            extra0 += 1
                        cur[k] = q
                        lvl += 1
                    if lvl > att_lvl:
                        att_lvl = lvl
                        for k in range(lvl):
                            att[k] = cur[k]
                    if mode != STRICT or att_lvl == n_steps:
                        break
                    jl = (extra0 if first_pass else jl) - 1
                    first_pass = False
                    if jl < 0:
                        break
                lvl = att_lvl
                for k in range(lvl):
                    cur[k] = att[k]
                valid = True
                for e in range(n_excl):
                    f = excl_from[e]
                    t = excl_to[e]
                    if lvl <= f:
                        continue
                    # the first exclusion after step f's instant (one at that instant is not after it)
                    epos = nxe[e, ge[cur[f]]]
                    if epos >= n:
                        continue
                    if lvl > t:
                        if ts[order[epos]] < ts[order[cur[t]]]:
                            valid = False
                            break
                    elif ts[order[epos]] <= deadline:
                        valid = False
                        break
                if not valid:
                    continue
                if repeat:
                    for k in range(lvl):
                        used[cur[k]] = True
                    out_user[n_out] = u
                    out_level[n_out] = lvl
                    for k in range(lvl):
                        out_rows[n_out, k] = order[cur[k]]
                    n_out += 1
                else:
                    end = ts[order[cur[lvl - 1]]]
                    if lvl > best_level or (lvl == best_level and end <= best_end):
                        best_level = lvl
                        best_end = end
                        for k in range(lvl):
                            best[k] = cur[k]
        else:
            # unordered: anchors at the first step event of each timestamp
            best_anchor = -1
            hi = 0
            lo = 0
            for d in range(n_names):
                cnt[d] = 0
            # excl counts inside the window
            exn = 0
            p = 0
            while p < n:
                r0 = order[p]
                t0 = ts[r0]
                # advance p to the first row of this tie group (it is, by construction)
                c0 = code[r0]
                is_step = c0 >= 0 and step_mask[c0] != 0
                g = p
                j = p + 1
                while j < n and ts[order[j]] == t0:
                    cj = code[order[j]]
                    if cj >= 0 and step_mask[cj] != 0:
                        is_step = True
                    j += 1
                if is_step and t0 >= entry_lo and t0 < entry_hi:
                    deadline = t0 + window
                    dl = deadline
                    if step_hi - 1 < dl:
                        dl = step_hi - 1
                    # drop rows before g
                    while lo < g:
                        if lo < hi:
                            c = code[order[lo]]
                            if c >= 0:
                                if step_count[c] >= 0 and ts[order[lo]] <= step_hi - 1:
                                    cnt[step_count[c]] -= 1
                                if excl_mask[c] != 0:
                                    exn -= 1
                        lo += 1
                    if hi < lo:
                        hi = lo
                    while hi < n and ts[order[hi]] <= deadline:
                        c = code[order[hi]]
                        if c >= 0:
                            if step_count[c] >= 0 and ts[order[hi]] <= step_hi - 1:
                                cnt[step_count[c]] += 1
                            if excl_mask[c] != 0:
                                exn += 1
                        hi += 1
                    if exn == 0:
                        lvl = 0
                        for d in range(n_names):
                            lvl += cnt[d] if cnt[d] < multiplicity[d] else multiplicity[d]
                        if lvl > best_level:
                            best_level = lvl
                            best_anchor = g
                p = j
            if best_level > 0:
                # steps of the best anchor: the row where each level is reached
                for d in range(n_names):
                    cnt[d] = 0
                t0 = ts[order[best_anchor]]
                dl = t0 + window
                if step_hi - 1 < dl:
                    dl = step_hi - 1
                lvl = 0
                q = best_anchor
                while q < n and ts[order[q]] <= dl and lvl < best_level:
                    c = code[order[q]]
                    if c >= 0 and step_count[c] >= 0:
                        d = step_count[c]
                        if cnt[d] < multiplicity[d]:
                            cnt[d] += 1
                            best[lvl] = q
                            lvl += 1
                    q += 1
        if not repeat and best_level > 0:
            out_user[n_out] = u
            out_level[n_out] = best_level
            for k in range(best_level):
                out_rows[n_out, k] = order[best[k]]
            n_out += 1
    return out_user[:n_out], out_level[:n_out], out_rows[:n_out]


@njit(cache=True, nogil=True)
def funnel_ordered_distinct(starts, ts, code, step_of, n_steps, window, entry_lo, entry_hi, step_hi):
    """:func:`funnel_kernel` in ``ordered`` mode for funnels whose steps are distinct events (the common case):
    ``step_of[code]`` is the event's only step (or -1). One pass per user; tie groups (equal
    timestamps) are taken in step order. Returns user, level, the row and the time of each step.
    """
    out = funnel_ordered_users(starts, ts, code, step_of, 0, starts.size - 1, I64_MIN, I64_MAX,
                               np.zeros(0, np.bool_), n_steps, window, entry_lo, entry_hi, step_hi)
    return out[0], out[1], out[2], out[3]


@njit(cache=True, nogil=True)
def funnel_ordered_users(starts, ts, code, step_of, u0, u1, lo, hi, keep, n_steps, window, entry_lo, entry_hi,
                         step_hi):
    """:func:`funnel_ordered_distinct` over users ``u0``..``u1`` of the runs ``starts`` (row numbers into
    ``ts``/``code``), reading only the rows with ``lo <= ts <= hi`` whose event is a step (``step_of[code] >= 0``;
    a negative ``code`` is no event) and, with a non-empty ``keep`` mask, only the users it keeps. So it runs
    on a sequence store's arrays in place (``step_of`` indexed by the store's codes), with the selection a
    scan would make, instead of on rows cut out of it first. Returns user ``u``, level, the row and the
    time of each step per user counted, and how many users had a row read.
    """
    n_users = u1 - u0
    out_user = np.empty(n_users, np.int64)
    out_level = np.empty(n_users, np.int8)
    # not filled up front: only the rows of the users counted are written (fresh memory is slow to touch)
    out_rows = np.empty((n_users, n_steps), np.int64)
    out_ts = np.empty((n_users, n_steps), np.int64)
    n_out, n_read = funnel_ordered_into(starts, ts, code, step_of, u0, u1, lo, hi, keep, n_steps, window, entry_lo,
                                        entry_hi, step_hi, out_user, out_level, out_rows, out_ts)
    return out_user[:n_out], out_level[:n_out], out_rows[:n_out], out_ts[:n_out], n_read


@njit(cache=True, nogil=True)
def funnel_ordered_into(starts, ts, code, step_of, u0, u1, lo, hi, keep, n_steps, window, entry_lo, entry_hi,
                        step_hi, out_user, out_level, out_rows, out_ts):
    """:func:`funnel_ordered_users` writing into arrays the caller gives (at least ``u1 - u0`` rows each: the
    ``i``-th user counted goes to row ``i``); ``out_rows`` with no rows: the step rows are not written (a caller
    that needs only the times touches half the memory). Returns (users counted, users with a row read)."""
    with_rows = out_rows.shape[0] > 0
    chain = np.empty((n_steps, n_steps), np.int64)
    t0 = np.empty(n_steps, np.int64)
    alive = np.zeros(n_steps, np.bool_)
    # a step's index, else n_steps (for a branch-free test: the row is a step below the user's reach)
    kk = np.full(step_of.size, n_steps, np.int64)
    for c in range(step_of.size):
        if step_of[c] >= 0:
            kk[c] = step_of[c]
    rows = np.empty(64, np.int64)  # the user's step rows that can advance an attempt
    key = np.empty(64, np.int64)  # their steps
    bounded = lo > I64_MIN or hi < I64_MAX
    masked = keep.size > 0
    n_out = 0
    n_read = 0
    cap = step_hi - 1
    for u in range(u0, u1):
        if masked and not keep[u]:
            continue
        s = starts[u]
        e = starts[u + 1]
        # one pass: the user's rows of a step (within the bounds) are gathered while the steps present are noted;
        # an attempt reaches at most the first step missing, so the rows of later steps are then dropped
        if e - s > rows.size:
            rows = np.empty(e - s, np.int64)
            key = np.empty(e - s, np.int64)
        m = 0  # gathered branch-free: which rows are steps is unpredictable
        if bounded:
            for r in range(s, e):
                c = code[r]
                k = kk[c] if c >= 0 else n_steps
                rows[m] = r
                key[m] = k
                m += (k < n_steps) & (ts[r] >= lo) & (ts[r] <= hi)
        else:
            for r in range(s, e):
                c = code[r]
                k = kk[c] if c >= 0 else n_steps
                rows[m] = r
                key[m] = k
                m += k < n_steps
        if m == 0:
            continue
        n_read += 1
        present = 0
        for x in range(m):
            present |= np.int64(1) << key[x]
        reach = 0
        while (present >> reach) & 1:
            reach += 1
        if reach == 0:
            continue  # no step 1: no attempt
        if reach < n_steps:
            mm = 0
            for x in range(m):
                k = key[x]
                rows[mm] = rows[x]
                key[mm] = k
                mm += k < reach
            m = mm
        sort_ties(ts, rows, key, m)  # rows at the same time in step order
        for k in range(n_steps):
            alive[k] = False
        best = 0
        for x in range(m):
            if best == n_steps:  # a complete attempt is final: nothing later replaces it
                break
            r = rows[x]
            k = key[x]
            t = ts[r]
            if k == 0:
                if t >= entry_lo and t < entry_hi:
                    alive[0] = True
                    chain[0, 0] = r
                    t0[0] = t
                    if best == 0:
                        best = 1
                        if with_rows:
                            out_rows[n_out, 0] = r
                        out_ts[n_out, 0] = t
            elif alive[k - 1] and not (alive[k] and chain[k, 0] == chain[k - 1, 0]):
                lim = t0[k - 1] + window
                if cap < lim:
                    lim = cap
                if t <= lim:
                    alive[k] = True
                    for q in range(k):
                        chain[k, q] = chain[k - 1, q]
                    chain[k, k] = r
                    t0[k] = t0[k - 1]
                    if k + 1 > best:
                        best = k + 1
                        for q in range(k + 1):
                            if with_rows:
                                out_rows[n_out, q] = chain[k, q]
                            out_ts[n_out, q] = ts[chain[k, q]]
        if best > 0:
            out_user[n_out] = u
            out_level[n_out] = best
            for q in range(best, n_steps):
                if with_rows:
                    out_rows[n_out, q] = -1
                out_ts[n_out, q] = I64_MIN
            n_out += 1
    return n_out, n_read


@njit(cache=True, nogil=True)
def _exact_mean_seconds(us, m):
    """Mean of ``us[:m]`` (integer µs) in seconds, independent of the order of the values (the totals are
    summed as whole seconds and leftover µs in integers), so every engine's chunking gives the same bits."""
    secs = np.int64(0)
    rem = np.int64(0)
    for i in range(m):
        s = us[i] // 1_000_000
        secs += s
        rem += us[i] - s * 1_000_000
    carry = rem // 1_000_000
    secs += carry
    rem -= carry * 1_000_000
    return (secs + rem / 1e6) / m


@njit(cache=True, nogil=True)
def step_time_stats(levels, step_ts, k0, k1, out):
    """Per step k of ``k0 <= k < k1`` (k >= 1), over attempts that reached it: count, mean and median seconds
    from the previous step and from step 1, into row k of ``out`` (an (n_steps, 5) array; rows of steps no
    attempt reached are left as they are: NaN where the caller filled it so). Two callers may fill different
    rows of one array at the same time. Means are exact sums divided once, so they do not depend on the order
    of the attempts. Returns ``out``."""
    n, n_steps = step_ts.shape
    k0 = max(k0, 1)
    k1 = min(k1, n_steps)
    cap = 0
    for i in range(n):
        cap += levels[i] > k0
    buf_prev = np.empty(cap + 1, np.int64)
    buf_start = np.empty(cap + 1, np.int64)
    for k in range(k0, k1):
        m = 0
        for i in range(n):  # gathered branch-free: which attempts reached k is unpredictable
            buf_prev[m] = step_ts[i, k] - step_ts[i, k - 1]
            buf_start[m] = step_ts[i, k] - step_ts[i, 0]
            m += levels[i] > k
        out[k, 0] = m
        if m:
            out[k, 1] = _exact_mean_seconds(buf_prev, m)
            out[k, 2] = np.median(buf_prev[:m]) / 1e6
            out[k, 3] = _exact_mean_seconds(buf_start, m)
            out[k, 4] = np.median(buf_start[:m]) / 1e6
    return out
