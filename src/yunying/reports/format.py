"""The one number formatter for people: terminal tables, HTML pages and summaries.

JSON and CSV keep raw values (shares as fractions of 1, seconds, money as numbers); only what a
person reads goes through here. ``None`` (and NaN/inf) is ``n/a`` everywhere.

* ``percent`` — a share of 1 (a rate, a conversion): 0.125 → ``12.5%``;
* ``change`` — a relative change (value / previous − 1), with an arrow: ``▲ +12.5%``;
* ``points`` — a difference of two rates, in percentage points: 0.012 → ``+1.2 pp``
  (not a percent: 10% → 11.2% is +1.2 pp, a change of +12%);
* ``money``, ``count``, ``number``, ``duration`` and ``cell`` (any table cell).
"""
from __future__ import annotations

import math

NA = "n/a"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def percent(v, digits: int = 1) -> str:
    """
    >>> percent(0.125), percent(None), percent(1)
    ('12.5%', 'n/a', '100.0%')
    """
    return NA if _missing(v) else f"{v * 100:.{digits}f}%"


def change(v) -> str:
    """
    >>> change(0.125), change(-0.5), change(0.0)
    ('▲ +12.5%', '▼ -50.0%', '= +0.0%')
    """
    if _missing(v):
        return NA
    arrow = "▲" if v > 0 else "▼" if v < 0 else "="
    return f"{arrow} {v * 100:+.1f}%"


def points(v, digits: int = 1) -> str:
    """
    >>> points(0.012), points(-0.5)
    ('+1.2 pp', '-50.0 pp')
    """
    return NA if _missing(v) else f"{v * 100:+.{digits}f} pp"


def money(v, currency: str = "") -> str:
    """
    >>> money(1234.5, "CNY"), money(3)
    ('CNY 1,234.50', '3.00')
    """
    return NA if _missing(v) else f"{currency} {v:,.2f}".strip()


def count(v) -> str:
    """
    >>> count(1234567.0)
    '1,234,567'
    """
    return NA if _missing(v) else f"{int(v):,}"


def number(v, digits: int = 0) -> str:
    """
    >>> number(1234.567, 1)
    '1,234.6'
    """
    return NA if _missing(v) else f"{v:,.{digits}f}"


def duration(seconds) -> str:
    """A time for people, in its largest unit with one decimal (blank when there is none).

    >>> duration(1234), duration(90000), duration(42), duration(None)
    ('20.6m', '1.0d', '42s', '')
    """
    if _missing(seconds):
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def cell(v) -> str:
    """Any table cell: counts with thousands separators, small floats to 4 significant digits.

    >>> cell(None), cell(True), cell(1234), cell(0.123456), cell(12.5), cell(12345.678), cell([1, None])
    ('n/a', 'yes', '1,234', '0.1235', '12.50', '12,345.68', '[1, n/a]')
    """
    if v is None:
        return NA
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.2f}"
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(cell(x) for x in v) + "]"
    return str(v)
