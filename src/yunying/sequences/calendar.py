"""The one calendar: time-zone offsets, local days, period ordinals and period starts.

Time zones: calendar periods (day / ISO week / month) are computed from the
*local* wall-clock time, ``ts + offset(ts)``; :func:`tz_offsets` gives the
offset as a step function of UTC time (exact for any IANA zone, DST included).

Period ordinals: consecutive periods differ by 1 (day: days since 1970-01-01; ISO week: weeks since Monday
1969-12-29; month: ``year * 12 + month - 1``). This module is plain Python and NumPy (no Numba, so a command
that runs no kernel never loads it); the kernels' side of the same definitions is
:mod:`yunying.sequences.kernels.localtime`.
"""
from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import numpy as np

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


UNITS = {"day": 0, "week": 1, "month": 2}


def date_to_ordinal(d: _dt.date, interval: str) -> int:
    """Ordinal of the period (day / ISO week / month) containing ``d``."""
    unit = UNITS[interval]
    if unit == 2:
        return d.year * 12 + d.month - 1
    days = (d - EPOCH).days
    return days if unit == 0 else (days + 3) // 7  # 1970-01-01 is a Thursday: Monday 1969-12-29 starts week 0


def ordinal_to_date(o: int, interval: str) -> _dt.date:
    """First day of period ordinal ``o``."""
    unit, o = UNITS[interval], int(o)
    if unit == 2:
        y, m = divmod(o, 12)
        return _dt.date(y, m + 1, 1)
    return EPOCH + _dt.timedelta(days=o if unit == 0 else o * 7 - 3)


def local_period_ordinals(ts: np.ndarray, tz: str, interval: str) -> np.ndarray:
    if ts.size == 0:
        return np.zeros(0, np.int64)
    from .kernels.loader import local_ordinals

    points, offsets = tz_offsets(tz, int(ts.min()), int(ts.max()))
    return local_ordinals(ts, points, offsets, UNITS[interval])


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
