"""The calendar inside the kernels (Numba): local time, day numbers and period ordinals.

The Python side (dates, ranges, time-zone step functions) is :mod:`yunying.sequences.calendar`, which loads
no Numba: commands that never run a kernel (trends, overview …) start without it. Both sides define a period
ordinal the same way (checked by tests/perf/test_calendar_python.py).
"""
from __future__ import annotations

import numpy as np
from numba import njit

DAY_US = 86_400_000_000


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


@njit(cache=True, inline="always")
def local_day(t, points, offsets, single):
    """Local day number of UTC instant ``t`` (``single``: the zone has one offset, ``offsets[0]``)."""
    if single:
        return (t + offsets[0]) // 86_400_000_000
    k = np.searchsorted(points, t, side="right") - 1
    return (t + offsets[k]) // 86_400_000_000
