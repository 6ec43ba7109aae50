"""The calendar's Python side (no Numba, issue 13 start-up) and the kernels' side define period ordinals alike.

Checked against the standard library (ISO weeks start on Monday; months on the 1st) and against the Numba
functions the kernels inline, over every day from 1900 to 2100.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from yunying.sequences.calendar import (EPOCH, UNITS, date_to_ordinal, next_period, ordinal_to_date,
                                        period_range, period_start)
from yunying.sequences.kernels.localtime import local_ordinals, ordinal_start_day, period_ordinal

DAYS = [dt.date(1900, 1, 1) + dt.timedelta(days=k) for k in range(0, (dt.date(2100, 12, 31) - dt.date(1900, 1, 1)).days, 1)]


def test_ordinals_start_where_the_standard_library_says():
    for interval in UNITS:
        seen = {}
        for d in DAYS:
            o = date_to_ordinal(d, interval)
            start = ordinal_to_date(o, interval)
            assert start == period_start(d, interval), (d, interval)
            if interval == "week":
                assert start.isocalendar()[2] == 1 and start.isocalendar()[:2] == d.isocalendar()[:2]
            seen.setdefault(o, start)
        ords = sorted(seen)
        assert ords == list(range(ords[0], ords[-1] + 1))  # consecutive periods differ by 1
    assert date_to_ordinal(EPOCH, "week") == 0 and ordinal_to_date(0, "week") == dt.date(1969, 12, 29)
    assert date_to_ordinal(dt.date(2024, 3, 9), "month") == 2024 * 12 + 2


def test_python_side_equals_the_kernels_side():
    days = np.array([(d - EPOCH).days for d in DAYS], np.int64)
    for interval, unit in UNITS.items():
        py = np.array([date_to_ordinal(d, interval) for d in DAYS], np.int64)
        nb = np.array([period_ordinal(np.int64(x), unit) for x in days[::97]], np.int64)
        assert (py[::97] == nb).all(), interval
        ts = days * 86_400_000_000 + 3_600_000_000  # 01:00 UTC of each day, in UTC
        assert (local_ordinals(ts, np.array([np.iinfo(np.int64).min]), np.array([0]), unit) == py).all()
        for o in np.unique(py)[::53]:
            assert ordinal_to_date(int(o), interval) == EPOCH + dt.timedelta(days=int(ordinal_start_day(o, unit)))


def test_ranges_and_next_period():
    assert period_range(dt.date(2024, 1, 31), dt.date(2024, 3, 1), "month") == [
        dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    assert period_range(dt.date(2024, 12, 31), dt.date(2025, 1, 6), "week") == [dt.date(2024, 12, 30),
                                                                                  dt.date(2025, 1, 6)]
    assert next_period(dt.date(2024, 12, 1), "month") == dt.date(2025, 1, 1)
    assert next_period(dt.date(2024, 12, 30), "week") == dt.date(2025, 1, 6)
    assert next_period(dt.date(2024, 2, 28), "day") == dt.date(2024, 2, 29)
