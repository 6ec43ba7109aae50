"""Numba kernels for sequence analyses (funnels, retention, paths, intervals).

Every kernel runs over *runs*: the events of one user, contiguous and ordered by
time, delimited by ``starts`` (``starts[u]`` .. ``starts[u + 1]``). Rows carry an
integer event ``code`` (``-1`` for events the analysis does not name) and a
timestamp in microseconds since the epoch (UTC). Kernels never see strings.

Time zones: calendar periods (day / ISO week / month) are computed from the
*local* wall-clock time, ``ts + offset(ts)``; :func:`tz_offsets` gives the
offset as a step function of UTC time (exact for any IANA zone, DST included).
"""
from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import numpy as np
from numba import njit

DAY_US = 86_400_000_000
I64_MIN = np.iinfo(np.int64).min
I64_MAX = np.iinfo(np.int64).max
EPOCH = _dt.date(1970, 1, 1)

ORDERED, STRICT, UNORDERED = 0, 1, 2


# ----------------------------------------------------------------------------- time zones

def tz_offsets(tz: str, lo_us: int, hi_us: int) -> tuple[np.ndarray, np.ndarray]:
    """UTC offset of ``tz`` as a step function over [lo_us, hi_us].

    Returns ``(points, offsets)``: for ``points[i] <= t < points[i + 1]`` the local
    time is ``t + offsets[i]`` (all in microseconds). ``points[0]`` is -inf.
    """
    if tz == "UTC":
        return np.array([I64_MIN], np.int64), np.array([0], np.int64)
    zone = ZoneInfo(tz)

    def off(us: int) -> int:
        d = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(microseconds=int(us))
        return int(d.astimezone(zone).utcoffset() / _dt.timedelta(microseconds=1))

    step = 3600 * 1_000_000  # transitions are at least hours apart; refine inside the hour
    lo = (lo_us // step) * step - step
    hi = (hi_us // step) * step + 2 * step
    points, offsets = [I64_MIN], [off(lo)]
    t = lo
    while t < hi:
        nxt = t + step
        o = off(nxt)
        if o != offsets[-1]:
            a, b = t, nxt  # off(a) == offsets[-1] != off(b): first microsecond with the new offset
            while b - a > 1:
                m = (a + b) // 2
                if off(m) == offsets[-1]:
                    a = m
                else:
                    b = m
            points.append(b)
            offsets.append(o)
        t = nxt
    return np.array(points, np.int64), np.array(offsets, np.int64)


def utc_bound(day: _dt.date, tz: str) -> int:
    """Microseconds (UTC) of local midnight starting ``day`` in ``tz``."""
    local = _dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return int((local - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) / _dt.timedelta(microseconds=1))


@njit(cache=True, nogil=True)
def to_local(ts, points, offsets):
    out = np.empty(ts.size, np.int64)
    if points.size == 1:
        o = offsets[0]
        for i in range(ts.size):
            out[i] = ts[i] + o
        return out
    idx = np.searchsorted(points, ts, side="right") - 1
    for i in range(ts.size):
        out[i] = ts[i] + offsets[idx[i]]
    return out


@njit(cache=True, inline="always")
def civil_from_days(z):
    """(year, month, day) of a day number (days since 1970-01-01); Howard Hinnant's algorithm."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


@njit(cache=True, inline="always")
def days_from_civil(y, m, d):
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, inline="always")
def period_ordinal(day, unit):
    """Ordinal of the period containing ``day`` (0 day, 1 ISO week, 2 month); consecutive periods differ by 1."""
    if unit == 0:
        return day
    if unit == 1:
        return (day + 3) // 7  # 1970-01-01 is a Thursday: Monday 1969-12-29 starts week 0
    y, m, _ = civil_from_days(day)
    return y * 12 + (m - 1)


@njit(cache=True, inline="always")
def ordinal_start_day(o, unit):
    """Day number of the first day of period ordinal ``o``."""
    if unit == 0:
        return o
    if unit == 1:
        return o * 7 - 3
    y = o // 12
    m = o - y * 12 + 1
    return days_from_civil(y, m, 1)


@njit(cache=True, nogil=True)
def local_ordinals(ts, points, offsets, unit):
    """Period ordinal (in the local zone) of every timestamp."""
    loc = to_local(ts, points, offsets)
    out = np.empty(ts.size, np.int64)
    for i in range(ts.size):
        out[i] = period_ordinal(loc[i] // DAY_US, unit)
    return out


UNITS = {"day": 0, "week": 1, "month": 2}


def ordinal_to_date(o: int, interval: str) -> _dt.date:
    return EPOCH + _dt.timedelta(days=int(ordinal_start_day(np.int64(o), UNITS[interval])))


def date_to_ordinal(d: _dt.date, interval: str) -> int:
    return int(period_ordinal(np.int64((d - EPOCH).days), UNITS[interval]))


def local_period_ordinals(ts: np.ndarray, tz: str, interval: str) -> np.ndarray:
    if ts.size == 0:
        return np.zeros(0, np.int64)
    points, offsets = tz_offsets(tz, int(ts.min()), int(ts.max()))
    return local_ordinals(ts, points, offsets, UNITS[interval])


# ----------------------------------------------------------------------------- user runs

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


# ----------------------------------------------------------------------------- funnels

@njit(cache=True, inline="always")
def _lowest_bit(m):
    if m == 0:
        return 0
    k = 1
    while (m & 1) == 0:
        m >>= 1
        k += 1
    return k


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
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
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
            key[i] = _lowest_bit(step_mask[c]) if c >= 0 else 0
        i = 0
        while i < n:
            j = i + 1
            while j < n and ts[order[j]] == ts[order[i]]:
                j += 1
            if j - i > 1:  # insertion sort of the tie group by key (stable)
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


# ----------------------------------------------------------------------------- retention

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
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
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
            if single:
                loc = t + offsets[0]
            else:
                k = np.searchsorted(points, t, side="right") - 1
                loc = t + offsets[k]
            day = loc // 86_400_000_000
            o = period_ordinal(day, unit)
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


# ----------------------------------------------------------------------------- activity calendars

@njit(cache=True, inline="always")
def _local_day(t, points, offsets, single):
    if single:
        return (t + offsets[0]) // 86_400_000_000
    k = np.searchsorted(points, t, side="right") - 1
    return (t + offsets[k]) // 86_400_000_000


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
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
    ords = np.empty(maxlen + 1, np.int64)
    for u in range(n_users):
        s = starts[u]
        m = 0
        for i in range(s, starts[u + 1]):
            c = code[i]
            if not (any_event or (c >= 0 and mask[c])):
                continue
            ords[m] = period_ordinal(_local_day(ts[i], points, offsets, single), unit)
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


@njit(cache=True, nogil=True)
def activity_kernel(starts, ts, code, mask, any_event, points, offsets, unit, day_lo, day_hi, p_lo, p_hi, max_days):
    """Daily active users over days [day_lo, day_hi], and for each period ordinal in [p_lo, p_hi]
    its active users and the histogram of their number of active days in it."""
    n_users = starts.size - 1
    dau = np.zeros(max(day_hi - day_lo + 1, 0), np.int64)
    n_p = max(p_hi - p_lo + 1, 0)
    period_users = np.zeros(n_p, np.int64)
    hist = np.zeros((n_p, max_days + 1), np.int64)
    single = points.size == 1
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
    days = np.empty(maxlen + 1, np.int64)
    for u in range(n_users):
        m = 0
        for i in range(starts[u], starts[u + 1]):
            c = code[i]
            if not (any_event or (c >= 0 and mask[c])):
                continue
            d = _local_day(ts[i], points, offsets, single)
            if d >= day_lo and d <= day_hi:
                days[m] = d
                m += 1
        if m == 0:
            continue
        a = np.unique(days[:m])
        for j in range(a.size):
            dau[a[j] - day_lo] += 1
        j = 0
        while j < a.size:
            p = period_ordinal(a[j], unit)
            k = j
            while k < a.size and period_ordinal(a[k], unit) == p:
                k += 1
            if p >= p_lo and p <= p_hi:
                period_users[p - p_lo] += 1
                cnt = k - j
                if cnt > max_days:
                    cnt = max_days
                hist[p - p_lo, cnt] += 1
            j = k
    return dau, period_users, hist


def next_ordinal_start(o: int, interval: str) -> _dt.date:
    """First day of the period after ordinal ``o``."""
    return ordinal_to_date(o + 1, interval)


# ----------------------------------------------------------------------------- intervals

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
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
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
        i = 0
        while i < n:  # ties: first-only events, then events that are both, then then-only events
            j = i + 1
            while j < n and ts[order[j]] == ts[order[i]]:
                j += 1
            if j - i > 1:
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


# ----------------------------------------------------------------------------- paths

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
    maxlen = 0
    for u in range(n_users):
        ln = starts[u + 1] - starts[u]
        if ln > maxlen:
            maxlen = ln
    order = np.empty(maxlen, np.int64)
    for u in range(n_users):
        s = starts[u]
        n = starts[u + 1] - s
        for i in range(n):
            order[i] = s + i
        i = 0
        while i < n:
            j = i + 1
            while j < n and ts[order[j]] == ts[order[i]]:
                j += 1
            if j - i > 1:
                for a in range(i + 1, j):
                    ra = order[a]
                    ka = code[ra]
                    b = a - 1
                    while b >= i and code[order[b]] > ka:
                        order[b + 1] = order[b]
                        b -= 1
                    order[b + 1] = ra
            i = j
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


@njit(cache=True, nogil=True)
def funnel_ordered_distinct(starts, ts, code, step_of, n_steps, window, entry_lo, entry_hi, step_hi):
    """:func:`funnel_kernel` in ``ordered`` mode for funnels whose steps are distinct events (the common case):
    ``step_of[code]`` is the event's only step (or -1). One pass per user; tie groups (equal
    timestamps) are taken in step order. Returns user, level, the row and the time of each step.
    """
    n_users = starts.size - 1
    out_user = np.empty(n_users, np.int64)
    out_level = np.empty(n_users, np.int8)
    out_rows = np.full((n_users, n_steps), -1, np.int64)
    out_ts = np.full((n_users, n_steps), I64_MIN, np.int64)
    chain = np.empty((n_steps, n_steps), np.int64)
    t0 = np.empty(n_steps, np.int64)
    alive = np.zeros(n_steps, np.bool_)
    n_out = 0
    cap = step_hi - 1
    for u in range(n_users):
        s = starts[u]
        e = starts[u + 1]
        for k in range(n_steps):
            alive[k] = False
        best = 0
        i = s
        while i < e:
            j = i + 1
            t = ts[i]
            while j < e and ts[j] == t:
                j += 1
            # rows i..j-1 share a timestamp: take them in step order
            for pk in range(n_steps if j - i > 1 else 1):
                for r in range(i, j):
                    c = code[r]
                    if c < 0:
                        continue
                    k = step_of[c]
                    if k < 0 or (j - i > 1 and k != pk):
                        continue
                    if k == 0:
                        if t >= entry_lo and t < entry_hi:
                            alive[0] = True
                            chain[0, 0] = r
                            t0[0] = t
                            if best == 0:
                                best = 1
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
                                    out_rows[n_out, q] = chain[k, q]
                                    out_ts[n_out, q] = ts[chain[k, q]]
            i = j
        if best > 0:
            out_user[n_out] = u
            out_level[n_out] = best
            n_out += 1
    return out_user[:n_out], out_level[:n_out], out_rows[:n_out], out_ts[:n_out]


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


@njit(cache=True, nogil=True)
def step_time_stats(levels, step_ts):
    """Per step k >= 1, over attempts that reached it: count, mean and median seconds from the
    previous step and from step 1. Returns an (n_steps, 5) array (NaN where no attempt reached k)."""
    n, n_steps = step_ts.shape
    out = np.full((n_steps, 5), np.nan)
    buf_prev = np.empty(n, np.float64)
    buf_start = np.empty(n, np.float64)
    for k in range(1, n_steps):
        m = 0
        for i in range(n):
            if levels[i] > k:
                buf_prev[m] = (step_ts[i, k] - step_ts[i, k - 1]) / 1e6
                buf_start[m] = (step_ts[i, k] - step_ts[i, 0]) / 1e6
                m += 1
        out[k, 0] = m
        if m:
            out[k, 1] = buf_prev[:m].mean()
            out[k, 2] = np.median(buf_prev[:m])
            out[k, 3] = buf_start[:m].mean()
            out[k, 4] = np.median(buf_start[:m])
    return out
