"""Calendar periods (day, ISO week starting Monday, month) used by every time series."""
from __future__ import annotations

import datetime as dt

import pandas as pd

FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


def period_start(d: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return d
    if interval == "week":
        return d - dt.timedelta(days=d.weekday())
    if interval == "month":
        return d.replace(day=1)
    raise ValueError(interval)


def period_range(first: dt.date, last: dt.date, interval: str) -> list[dt.date]:
    """Every period start from the period containing ``first`` to the one containing ``last``."""
    a, b = period_start(first, interval), period_start(last, interval)
    return [ts.date() for ts in pd.date_range(a, b, freq=FREQ[interval])]


def next_period(d: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return d + dt.timedelta(days=1)
    if interval == "week":
        return d + dt.timedelta(days=7)
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
