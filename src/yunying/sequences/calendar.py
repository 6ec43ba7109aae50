"""The one calendar: time-zone offsets, local days, period ordinals and period starts.

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
EPOCH = _dt.date(1970, 1, 1)


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


@njit(cache=True, inline="always")
def local_day(t, points, offsets, single):
    """Local day number of UTC instant ``t`` (``single``: the zone has one offset, ``offsets[0]``)."""
    if single:
        return (t + offsets[0]) // 86_400_000_000
    k = np.searchsorted(points, t, side="right") - 1
    return (t + offsets[k]) // 86_400_000_000


def next_ordinal_start(o: int, interval: str) -> _dt.date:
    """First day of the period after ordinal ``o``."""
    return ordinal_to_date(o + 1, interval)


# ----------------------------------------------------------------------------- dates (Python side)

FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


def period_start(d: _dt.date, interval: str) -> _dt.date:
    """First day of the day / ISO week (Monday) / month containing ``d``."""
    if interval == "day":
        return d
    if interval == "week":
        return d - _dt.timedelta(days=d.weekday())
    if interval == "month":
        return d.replace(day=1)
    raise ValueError(interval)


def period_range(first: _dt.date, last: _dt.date, interval: str) -> list[_dt.date]:
    """Every period start from the period containing ``first`` to the one containing ``last``."""
    a, b = date_to_ordinal(first, interval), date_to_ordinal(last, interval)
    return [ordinal_to_date(o, interval) for o in range(a, b + 1)]


def next_period(d: _dt.date, interval: str) -> _dt.date:
    """Start of the period after the one that starts on ``d``."""
    return ordinal_to_date(date_to_ordinal(d, interval) + 1, interval)


def local_date(us: int, tz: str) -> _dt.date:
    """The local calendar date of a UTC instant (microseconds) in ``tz``."""
    d = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(microseconds=int(us))
    return d.astimezone(ZoneInfo(tz)).date()
